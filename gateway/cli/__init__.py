"""The ``ussd-gateway`` command line (= ``python -m gateway``).

Each module in ``COMMAND_MODULES`` adds its commands with
``register(subparsers)``; a command is a function ``run(args) -> int``.
Refusals (bad input, bad configuration, unusable database) print one line to
stderr and exit 2, having changed nothing. Output into a pipe whose reader
has gone (``show | head``) ends quietly with exit 141, as a command killed by
SIGPIPE does, so ``set -o pipefail`` scripts see the cut short output.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from gateway.config import ConfigError
from gateway.domain.errors import GatewayError
from gateway.store import StoreError
from menus.tree import MenusError

COMMAND_MODULES = (
    "gateway.cli.admin",
    "gateway.cli.postpaid",
    "gateway.cli.serve",
    "gateway.cli.demo",
    "gateway.cli.ussd",
    "gateway.cli.ussd_report",
    "gateway.cli.simulator",
    "gateway.cli.campaign",
    "gateway.cli.usage",
    "gateway.cli.care",
    "gateway.cli.menus",
    "gateway.cli.init",
)

EXIT_REFUSED = 2
#: Where ``demo`` keeps its seeded database unless told ``--db``.
DEMO_DB = "var/demo.db"
#: 128 + SIGPIPE: what the shell reports for a command stopped by a closed pipe.
EXIT_BROKEN_PIPE = 141


class CliError(Exception):
    """A refusal found by the command line itself (unreadable file, ...)."""


class OneLineParser(argparse.ArgumentParser):
    """Usage errors are refusals too: one line on stderr, exit 2 (no usage dump).

    Sub-commands inherit the class (``add_subparsers`` uses the parent's type).
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_REFUSED, f"error: {self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ussd-gateway",
        description="USSD/SMS self-care gateway: balance, voucher top-up, lost SIM, marketing consent.",
    )
    parser.add_argument(
        "--demo", action="store_true",
        help=f"operator commands act on the database 'demo' seeded ({DEMO_DB}) and accept its demo PIN secret")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The Python documentation's recipe: point stdout at devnull so the
        # interpreter's final flush does not fail again and print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (GatewayError, ConfigError, MenusError, StoreError, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise  # our bug, not the operator's: keep the traceback
    except sqlite3.DatabaseError as exc:
        # A corrupt page found mid-command, a lock held too long, a full disk:
        # the transaction has rolled back; say what the database said.
        print(f"error: database: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130


def print_json(value: Any) -> int:
    """Print what a reading command shows as indented JSON (text as it is, not escaped); its exit code."""
    print(json.dumps(value, ensure_ascii=False, indent=2))
    return 0


def command_group(sub: Any, name: str, help: str) -> Any:
    """The subcommands of command ``name`` (``gateway <name> COMMAND``), one of which must be given."""
    return sub.add_parser(name, help=help).add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help="configuration file (default: config/gateway.toml)")
