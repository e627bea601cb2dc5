"""``init DIR [--profile NAME] [--force]``: an editable configuration of one's own, outside the package.

An installed gateway reads the configuration its package carries
(``gateway.config.CONFIG_DIR``); an operator changes neither that copy nor
the repository's, but one written here: ``DIR/gateway.toml`` (the shipped
file with its comments, the database in ``DIR/var/``, a PIN secret
generated for this installation) and ``DIR/operators/*.toml`` (every
shipped profile, ``[operator] profile`` naming the chosen one by its
path). Then ``serve --config DIR/gateway.toml`` needs nothing else.

A folder that has a configuration already is refused unless ``--force``:
its PIN secret is the key of the stored PINs and ID numbers, and writing a
new one over it would make them unreadable. The file is readable by its
owner only, for the same reason.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from gateway.cli import CliError
from gateway.config import DEFAULT_CONFIG, load_settings
from gateway.profile import PROFILES_DIR, load_profile

#: A table header (``[smpp]``, ``[simulator.accounts]``) and a ``key = value`` line of the shipped file.
_HEADER = re.compile(r"^\[([A-Za-z0-9_.]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^([A-Za-z0-9_]+)\s*=")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "init", help="write an editable configuration (gateway.toml and the operator profiles) into DIR")
    parser.add_argument("dir", metavar="DIR", help="folder to write into (made if missing)")
    parser.add_argument("--profile", default=None, metavar="NAME",
                        help="operator profile the configuration names (default: the shipped default)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite a configuration DIR has already (its PIN secret is lost)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.dir).expanduser().resolve()
    shipped = {path.stem: path for path in sorted(PROFILES_DIR.glob("*.toml"))}
    profile = args.profile or load_settings(DEFAULT_CONFIG, environ={}).operator.profile
    if profile not in shipped:
        raise CliError(f"--profile: no shipped profile {profile!r} (one of {', '.join(shipped)})")
    config = folder / "gateway.toml"
    targets = [config, *(folder / "operators" / path.name for path in shipped.values())]
    if not args.force:
        for target in targets:
            if target.exists():
                raise CliError(f"{target}: exists already; nothing written (--force overwrites it)")
    if folder.exists() and not folder.is_dir():
        raise CliError(f"{folder}: not a folder")
    try:
        (folder / "operators").mkdir(parents=True, exist_ok=True)
        for path in shipped.values():
            (folder / "operators" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        text = editable_config(DEFAULT_CONFIG.read_text(encoding="utf-8"), folder, profile)
        _write_private(config, text)
    except OSError as exc:
        raise CliError(f"{folder}: cannot write: {exc.strerror or exc}") from None
    # What was written must be what serve accepts (the environment aside: it may override anything).
    settings = load_settings(config, environ={})
    settings.require_pin_secret()
    load_profile(settings.operator.profile)
    print(f"wrote {config} (PIN secret generated; readable by you only) and {len(shipped)} profiles in "
          f"{folder / 'operators'} ({profile} in use)")
    print(f"next: ussd-gateway db migrate --config {config}")
    print(f"      ussd-gateway serve --config {config}")
    return 0


def editable_config(shipped: str, folder: Path, profile: str) -> str:
    """The shipped ``gateway.toml`` with this installation's profile path, database path and PIN secret.

    Only those three lines (and the comments of ``[security]``) change: every
    other key and comment stays as shipped, to be edited.

    Raises:
        CliError: the shipped file lacks one of those keys (a broken package).
    """
    values = {
        ("operator", "profile"): (_toml(str(folder / "operators" / f"{profile}.toml")),
                                  "# this folder's operators/<name>.toml (edit it), or another path"),
        ("database", "path"): (_toml(str(folder / "var" / "gateway.db")), "# the SQLite file"),
        ("security", "pin_secret"): (_toml(secrets.token_urlsafe(32)), ""),
    }
    out: list[str] = []
    section = ""
    replaced: set[tuple[str, str]] = set()
    for line in shipped.splitlines():
        header = _HEADER.match(line)
        if header:
            section = header.group(1)
        key = _KEY.match(line)
        spot = (section, key.group(1) if key else "")
        if spot in values:
            value, comment = values[spot]
            if spot == ("security", "pin_secret"):
                out += ["# Generated by `ussd-gateway init`: the key voucher PINs and ID numbers are stored",
                        "# under. Keep it secret; every gateway on one database needs the same one, and",
                        "# changing it makes the stored PINs and ID numbers unreadable."]
            out.append(f"{spot[1]} = {value}" + (f"  {comment}" if comment else ""))
            replaced.add(spot)
        elif section == "security" and line.startswith("#"):
            continue  # the shipped comment is about the demo secret this file no longer has
        else:
            out.append(line)
    missing = set(values) - replaced
    if missing:
        raise CliError("the package's gateway.toml has no " + ", ".join(f"{s}.{k}" for s, k in sorted(missing)))
    if out and out[0].startswith("# Selfcare Gateway"):
        out[0] = "# Selfcare Gateway configuration, written by `ussd-gateway init`: edit it to suit."
    return "\n".join(out) + "\n"


def _toml(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` readable and writable by its owner only (it holds the PIN secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file (--force) keeps its mode otherwise
        handle.write(text)
