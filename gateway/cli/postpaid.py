"""Operator commands of postpaid lines: ``bills import`` and ``payments import`` (004 7.3-7.7)."""

from __future__ import annotations

from typing import Any

from gateway.cli import add_config_option, command_group
from gateway.cli.admin import importing
from gateway.services import Services


def register(sub: Any) -> None:
    bills = command_group(sub, "bills", "postpaid bill statements")
    p = bills.add_parser("import", help="CSV msisdn,period_start,period_end,issued_on,amount (all or nothing)")
    p.add_argument("file")
    add_config_option(p)
    p.set_defaults(run=importing("bill", Services.import_bills))

    payments = command_group(sub, "payments", "postpaid payments")
    p = payments.add_parser("import", help="CSV msisdn,amount,paid_at,reference (a reference seen before is "
                                           "refused; all or nothing)")
    p.add_argument("file")
    add_config_option(p)
    p.set_defaults(run=importing("payment", Services.import_payments))
