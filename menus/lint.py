"""Everything wrong with a profile's menu trees and texts, one ``Problem`` each (``menus check``).

Pure and quick: it reads the files and measures strings, so ``serve`` runs it
at every start and refuses on any problem. Beside what loading refuses
(``catalog.read_texts``, ``loader.read_menus``: unreadable files, dangling
targets, unknown actions and validators, texts missing in a language or
defined nowhere, placeholders that differ between languages) it finds:

- a screen no walk from its tree's start reaches (through the options of
  every profile: an option another profile offers is not dead);
- a text of a file only the trees show (``TREE_TEXT_FILES``) that no tree names;
- a placeholder a screen cannot fill: one in a screen text that no input of
  the tree stores, one left in an option label or a hint (shown as written);
- a screen over the length limit in one of the profile's languages. Long
  screens are paged (``menus.paging``), so "over the limit" means what paging
  cannot mend:

  * a question (an input or a confirmation) fits on one page, as shown on
    arrival (with ``0 Back`` when it has a parent) and shown again after a
    refused answer (with the hint above it): a question split over pages
    hides its answers, or what to type, behind ``98``;
  * each line of a menu (title, option, hint) fits on a page together with
    ``98 More`` and ``0 Back``: paging would cut it in two.

  Only screens the profile can show are measured, stored answers at their
  widest (``Validator.widest``). Results of actions are paged like any long
  text and are not measured: their values are known only when they run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.profile import OperatorProfile
from menus.engine import page_screen, screen_lines
from menus.loader import TREES_DIR, MenuError, Menus, read_menus, text_keys
from menus.paging import BACK, MORE, ScreenLimits, screen_size
from menus.texts import LOCALES, Catalog, TextFiles, fields, profile_constants, read_texts
from menus.tree import MenuTree, Problem, Screen, ScreenKind
from menus.validators import Validator

#: Text files whose keys only the menu trees show (the rest are shown by code:
#: the engine, the replies): a key of theirs no tree names is unused.
TREE_TEXT_FILES = ("selfcare",)

#: The hint a menu or a confirmation shows above itself after an answer it does not take.
CHOICE_HINT = "ussd.hint_choice"


@dataclass(frozen=True)
class Linted:
    """The texts and trees as read, and every problem found in them (none: ready to serve)."""

    catalog: Catalog
    menus: Menus
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class _Known:
    """The catalog for the loader's "no text" check: a key one language has is known (its
    absence from another is reported once, by ``read_texts``)."""

    catalog: Catalog

    def text(self, key: str, language: str, **params: Any) -> str:
        return self.catalog.text(key, language, **params)

    def has(self, key: str) -> bool:
        return any(key in table for table in self.catalog.texts.values())


def lint(
    profile: OperatorProfile, limits: ScreenLimits = ScreenLimits(), *,  # noqa: B008 - a frozen value
    trees: Path = TREES_DIR, locales: Path = LOCALES,
) -> Linted:
    """Read the profile's texts (``locales``) and trees (``trees``) and find every problem."""
    files = read_texts(profile.languages, locales)
    catalog = files.catalog(profile_constants(profile))
    menus, problems = read_menus(_Known(catalog), profile, trees)
    found = [*files.problems, *problems]
    shown: set[str] = set()
    for tree in menus.trees.values():
        shown.update(key for _, key in text_keys(tree, _tree_validators(menus, tree)))
        found += _unreachable(tree)
        found += _placeholders(tree, menus, catalog)
        found += _lengths(tree, menus, files, catalog, limits)
    first = profile.languages[0]
    # Only when every tree and screen was read: one left out would leave its texts unnamed.
    for key in catalog.texts[first] if not problems else ():
        if key.split(".")[0] in TREE_TEXT_FILES and key not in shown:
            found.append(Problem(files.file_of(first, key), key, "no menu tree shows it"))
    return Linted(catalog, menus, tuple(found))


def check(profile: OperatorProfile, limits: ScreenLimits) -> Linted:
    """The texts and trees of ``profile`` (the ``menus`` package's), linted, for a gateway about to start.

    Raises:
        MenuError: any problem: the first, and how many more (``refusal``).
    """
    linted = lint(profile, limits)
    if linted.problems:
        raise MenuError(refusal(linted.problems))
    return linted


def refusal(problems: Sequence[Problem]) -> str:
    """One line for a start refused on ``problems``: the first, and how many more there are."""
    more = len(problems) - 1
    return str(problems[0]) + (f" (and {more} more: 'ussd-gateway menus check' lists them)" if more else "")


def _tree_validators(menus: Menus, tree: MenuTree) -> dict[str, Validator]:
    return {sid: v for (name, sid), v in menus.validators.items() if name == tree.name}


def _unreachable(tree: MenuTree) -> list[Problem]:
    reached = tree.reachable(withheld=True)
    return [Problem(tree.path, f"screens.{sid}", f"unreachable: no way leads here from start {tree.start!r}")
            for sid in tree.screens if sid not in reached]


def _stored(tree: MenuTree, menus: Menus) -> dict[str, str]:
    """Each answer the tree's inputs store, shown at its widest."""
    return {s.store: menus.validators[(tree.name, s.id)].widest for s in tree.screens.values()
            if s.store and (tree.name, s.id) in menus.validators}


def _placeholders(tree: MenuTree, menus: Menus, catalog: Catalog) -> list[Problem]:
    stored = _stored(tree, menus)
    found = []
    for sid, screen in tree.screens.items():
        keyed = [(f"screens.{sid}.text", screen.text, True)] if screen.text else []
        keyed += [(f"screens.{sid}.options[{o.place}].label", o.label, False)
                  for o in (*screen.options, *screen.withheld)]
        if (tree.name, sid) in menus.validators:
            keyed.append((f"screens.{sid}.validate", menus.validators[(tree.name, sid)].hint, False))
        for where, key, filled in keyed:
            names = set().union(*(fields(table[key]) for table in catalog.texts.values() if key in table))
            if filled:
                for name in sorted(names - stored.keys()):
                    found.append(Problem(tree.path, where, f"{key!r} shows {{{name}}}, which no input "
                                                           "of this tree stores"))
            elif names:
                found.append(Problem(tree.path, where, f"{key!r} shows "
                                     f"{', '.join('{' + n + '}' for n in sorted(names))} as written "
                                     "(labels and hints are not filled in)"))
    return found


def _lengths(tree: MenuTree, menus: Menus, files: TextFiles, catalog: Catalog, limits: ScreenLimits) -> list[Problem]:
    stored = _stored(tree, menus)
    found: list[Problem] = []
    for sid, has_parent in tree.reachable().items():
        screen = tree.screen(sid)
        if screen.kind not in (ScreenKind.MENU, ScreenKind.INPUT, ScreenKind.CONFIRM):
            continue
        validator = menus.validators.get((tree.name, sid))
        hint = validator.hint if validator is not None else CHOICE_HINT
        keys = [k for k in (screen.text, hint, *(o.label for o in screen.options)) if k]
        keys += ["ussd.more", "ussd.back", "ussd.confirm_yes", "ussd.confirm_no"]
        for lang in files.languages:
            table = catalog.texts[lang]
            if not all(k in table for k in keys):
                continue  # reported as missing already
            # A placeholder no input stores (reported above) is measured as written.
            names = fields(table[screen.text]) if screen.text else frozenset()
            params = {name: "{" + name + "}" for name in names} | stored
            if screen.kind is ScreenKind.MENU:
                found += _menu_lines(tree, screen, files, catalog, lang, hint, params, limits)
            else:
                found += _question(tree, screen, files, catalog, lang, hint, params, limits, has_parent)
    return found


def _question(
    tree: MenuTree, screen: Screen, files: TextFiles, catalog: Catalog, lang: str, hint: str,
    params: Mapping[str, str], limits: ScreenLimits, has_parent: bool,
) -> list[Problem]:
    """The first way the question is shown that needs more than one page, if any."""
    # A screen only a dialled answer reaches (``dialled_only``) shows when that answer is refused.
    for shown_hint in [hint] if screen.dialled_only else [None, hint]:
        lines = screen_lines(screen, catalog, lang, shown_hint, params)
        if len(page_screen(lines, catalog, lang, limits, has_parent)) == 1:
            continue
        back = [f"{BACK} {catalog.text('ussd.back', lang)}"] if has_parent else []
        size, alphabet = screen_size("\n".join([*lines, *back]))
        items = [*([shown_hint] if shown_hint else []), *(["its answers"] if screen.kind is ScreenKind.CONFIRM else []),
                 *(["0 Back"] if back else [])]
        how = ("shown again " if shown_hint else "") + (f"with {_and(items)}" if items else "as shown")
        assert screen.text is not None
        return [Problem(files.file_of(lang, screen.text), screen.text,
                        f"{size} {alphabet} characters, over {limits.limit(alphabet)}: question "
                        f"{tree.name}:{screen.id}, {how}, must fit on one page")]
    return []


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _menu_lines(
    tree: MenuTree, screen: Screen, files: TextFiles, catalog: Catalog, lang: str, hint: str,
    params: Mapping[str, str], limits: ScreenLimits,
) -> list[Problem]:
    """Each line of the menu (the hint too) that does not fit on a page with ``98 More`` and ``0 Back``."""
    footer = [f"{MORE} {catalog.text('ussd.more', lang)}", f"{BACK} {catalog.text('ussd.back', lang)}"]
    keys = [hint, *([screen.text] if screen.text else []), *(o.label for o in screen.options)]
    found = []
    for key, line in zip(keys, screen_lines(screen, catalog, lang, hint, params), strict=True):
        size, alphabet = max(screen_size("\n".join([part, *footer])) for part in line.split("\n"))
        if size > limits.limit(alphabet):
            found.append(Problem(files.file_of(lang, key), key,
                                 f"{size} {alphabet} characters, over {limits.limit(alphabet)}: a line of "
                                 f"menu {tree.name}:{screen.id} with 98 More and 0 Back must fit on one page"))
    return found
