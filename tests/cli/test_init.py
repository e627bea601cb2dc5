"""``ussd-gateway init DIR``: an editable configuration that the other commands then run on, alone.

Every command here runs with no ``GATEWAY_*`` variable at all (the
database path and the PIN secret come from the written file), from a
working directory other than DIR, as an operator's would.
"""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from gateway.config import DEFAULT_CONFIG
from gateway.profile import PROFILES_DIR

#: The fixture's database path and PIN secret taken away: the written file must supply both.
ALONE = {"GATEWAY_DATABASE_PATH": None, "GATEWAY_SECURITY_PIN_SECRET": None}


def _read(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_init_writes_a_configuration_the_commands_run_on(gateway, tmp_path: Path) -> None:
    """The database goes into DIR, a PIN secret is generated, and the profile read is DIR's own copy."""
    folder = tmp_path / "site"
    out = gateway("init", str(folder), env=ALONE).stdout
    config = folder / "gateway.toml"
    assert f"next: ussd-gateway db migrate --config {config}" in out
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds the PIN secret
    written = _read(config)
    assert written["database"]["path"] == str(folder / "var" / "gateway.db")
    assert written["operator"]["profile"] == str(folder / "operators" / "smart-kh.toml")
    secret = written["security"]["pin_secret"]
    assert len(secret) >= 32 and secret != _read(DEFAULT_CONFIG)["security"]["pin_secret"]
    assert sorted(p.name for p in (folder / "operators").iterdir()) == sorted(
        p.name for p in PROFILES_DIR.glob("*.toml"))
    # Every other key is the shipped one, comments included.
    shipped = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert "max_connections = 2000             # open at once" in shipped
    assert "max_connections = 2000             # open at once" in config.read_text(encoding="utf-8")
    assert {k: v for k, v in written.items() if k not in ("database", "operator", "security")} == {
        k: v for k, v in _read(DEFAULT_CONFIG).items() if k not in ("database", "operator", "security")}

    # The operator edits DIR's profile: the commands show it.
    profile = folder / "operators" / "smart-kh.toml"
    profile.write_text(profile.read_text(encoding="utf-8").replace('currency_symbol = "$"',
                                                                   'currency_symbol = "US$"'), encoding="utf-8")
    gateway("db", "migrate", "--config", str(config), env=ALONE)
    assert (folder / "var" / "gateway.db").is_file()
    gateway("subscribers", "add", "012345678", "--balance", "6", "--config", str(config), env=ALONE)
    shown = gateway("subscribers", "show", "012345678", "--config", str(config), env=ALONE).stdout
    assert '"display": "US$6.00"' in shown


def test_init_refuses_a_folder_with_a_configuration_unless_forced(gateway, tmp_path: Path) -> None:
    """A second init would throw the PIN secret away: refused in one line, nothing written; --force writes."""
    folder = tmp_path / "site"
    gateway("init", str(folder), env=ALONE)
    config = folder / "gateway.toml"
    first = config.read_text(encoding="utf-8")
    line = gateway.refused("init", str(folder), env=ALONE)
    assert str(config) in line and "--force" in line
    assert config.read_text(encoding="utf-8") == first
    gateway("init", str(folder), "--force", env=ALONE)
    assert _read(config)["security"]["pin_secret"] != tomllib.loads(first)["security"]["pin_secret"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


@pytest.mark.parametrize("args, expected", [(["--profile", "smart-xx"], "no shipped profile 'smart-xx'"),
                                            ([], "not a folder")])
def test_init_refusals(gateway, tmp_path: Path, args: list[str], expected: str) -> None:
    """An unknown profile, or DIR a file: one line, exit 2."""
    target = tmp_path / "site"
    if not args:
        target.write_text("not a folder")
    assert expected in gateway.refused("init", str(target), *args, env=ALONE)


def test_init_names_the_chosen_profile(gateway, tmp_path: Path) -> None:
    """``--profile smart-np``: the configuration runs on smart-np's copy in DIR."""
    folder = tmp_path / "np"
    gateway("init", str(folder), "--profile", "smart-np", env=ALONE)
    config = folder / "gateway.toml"
    assert _read(config)["operator"]["profile"] == str(folder / "operators" / "smart-np.toml")
    gateway("db", "migrate", "--config", str(config), env=ALONE)
    gateway("subscribers", "add", "9841234567", "--config", str(config), env=ALONE)
    assert '"display": "Rs' in gateway("subscribers", "show", "9841234567", "--config", str(config),
                                       env=ALONE).stdout
