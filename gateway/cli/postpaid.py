"""Operator commands of postpaid lines: ``bills import`` and ``payments import`` (004 7.3-7.7)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.cli import add_config_option
from gateway.cli.admin import open_services


def cmd_bills_import(args: argparse.Namespace) -> int:
    services = open_services(args)
    count = services.import_bills(Path(args.file))
    print(f"imported {count} bill{'' if count == 1 else 's'}")
    return 0


def cmd_payments_import(args: argparse.Namespace) -> int:
    services = open_services(args)
    count = services.import_payments(Path(args.file))
    print(f"imported {count} payment{'' if count == 1 else 's'}")
    return 0


def register(sub: Any) -> None:
    bills = sub.add_parser("bills", help="postpaid bill statements").add_subparsers(
        dest="bills_command", required=True, metavar="COMMAND")
    p = bills.add_parser("import", help="CSV msisdn,period_start,period_end,issued_on,amount (all or nothing)")
    p.add_argument("file")
    add_config_option(p)
    p.set_defaults(run=cmd_bills_import)

    payments = sub.add_parser("payments", help="postpaid payments").add_subparsers(
        dest="payments_command", required=True, metavar="COMMAND")
    p = payments.add_parser("import", help="CSV msisdn,amount,paid_at,reference (a reference seen before is "
                                           "refused; all or nothing)")
    p.add_argument("file")
    add_config_option(p)
    p.set_defaults(run=cmd_payments_import)
