"""``usage import FILE``: the network's usage records, rated and charged (``gateway.services.usage``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gateway.cli import add_config_option, command_group
from gateway.cli.admin import open_services


def cmd_usage_import(args: argparse.Namespace) -> int:
    services = open_services(args)
    report = services.import_usage(Path(args.file))

    def money(amount: Any) -> dict[str, Any]:
        return {"minor": amount.minor, "display": amount.display()}

    print(json.dumps({
        "imported": report.records,
        "lines": report.lines,
        "charged": money(report.charged),
        "unbilled": money(report.unbilled),
        # What the network would have refused (no funds, a line it does not carry): not charged.
        "refused": {"records": report.refused, **money(report.refused_amount)},
        # Records the funds covered in part: the rest is not charged.
        "short": {"records": report.short, "uncharged": money(report.uncharged)},
    }, ensure_ascii=False))
    return 0


def register(sub: Any) -> None:
    usage = command_group(sub, "usage", "usage records")
    p: argparse.ArgumentParser = usage.add_parser(
        "import", help="CSV msisdn,started_at,kind,quantity: rate, charge, count as activity (all or nothing)")
    p.add_argument("file")
    add_config_option(p)
    p.set_defaults(run=cmd_usage_import)
