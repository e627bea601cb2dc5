"""The menu loader refuses broken menu files, naming the file and the path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.profile import load_profile
from menus.loader import TREES_DIR, MenuError, load_menus
from menus.texts import LOCALES, Catalog, CatalogError


@pytest.fixture
def profile():
    return load_profile("smart-kh")


@pytest.fixture
def trees(tmp_path: Path) -> Path:
    root = tmp_path / "trees"
    shutil.copytree(TREES_DIR, root)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_menus_load(profile):
    """The shipped trees answer every code of the profile."""
    menus = load_menus(Catalog.for_profile(profile), profile)
    assert set(menus.by_code) == {"*100#", "*124#", "*123#", "*1204#"}


def test_dangling_target_is_refused(profile, trees):
    """An option leading nowhere names the file and the option."""
    _edit(trees / "selfcare.toml", 'target = "lost_number"', 'target = "nowhere"')
    with pytest.raises(MenuError, match=r"selfcare.toml: screens.main.options\[2\].target: no screen 'nowhere'"):
        load_menus(Catalog.for_profile(profile), profile, trees)


def test_unknown_action_is_refused(profile, trees):
    """An action that is not a use case names the file and the screen."""
    _edit(trees / "balance.toml", 'action = "check_balance"', 'action = "delete_everything"')
    with pytest.raises(MenuError, match=r"balance.toml: screens.balance.action: unknown action"):
        load_menus(Catalog.for_profile(profile), profile, trees)


def test_unknown_text_key_is_refused(profile, trees):
    """A text no locale file has names the file and the screen."""
    _edit(trees / "selfcare.toml", 'text = "selfcare.topup_title"', 'text = "selfcare.nope"')
    with pytest.raises(MenuError, match=r"selfcare.toml: screens.topup.text: no text 'selfcare.nope'"):
        load_menus(Catalog.for_profile(profile), profile, trees)


def test_missing_translation_is_refused(profile, tmp_path):
    """A screen text present in English but not in Khmer stops the start, naming the file."""
    root = tmp_path / "locales"
    shutil.copytree(LOCALES, root)
    _edit(root / "km" / "selfcare.toml", 'topup_title = "បញ្ចូលលុយ"\n', "")
    with pytest.raises(CatalogError, match=r"km/selfcare.toml: selfcare.topup_title: missing in 'km'"):
        Catalog.load(profile.languages, root)


def test_argument_without_input_is_refused(profile, trees):
    """An action argument naming an answer nobody asks for is refused."""
    _edit(trees / "selfcare.toml", 'args = { pin = "$pin" }', 'args = { pin = "$pim" }')
    with pytest.raises(MenuError, match=r"screens.topup_mine.args.pin: no input stores 'pim'"):
        load_menus(Catalog.for_profile(profile), profile, trees)
