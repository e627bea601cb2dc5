"""``campaign send --text TEXT (--to MSISDN ... | --file CSV)``: marketing SMS.

The messages go to the outbox; the running gateway (``serve``) sends them at
``[smpp] send_rate``, skipping anyone who has opted out by then.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from gateway.cli import CliError, add_config_option
from gateway.cli.admin import command_settings
from gateway.clock import SystemClock
from gateway.profile import load_profile
from gateway.services.campaign import queue_campaign
from gateway.services.ports import Context
from gateway.smpp.text import encode_text
from gateway.store import open_database


def register(sub: Any) -> None:
    campaign = sub.add_parser("campaign", help="marketing SMS")
    actions = campaign.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = actions.add_parser("send", help="queue a marketing SMS to numbers that have not opted out")
    send.add_argument("--text", required=True, help="the message")
    targets = send.add_mutually_exclusive_group(required=True)
    targets.add_argument("--to", nargs="+", metavar="MSISDN", help="numbers to send to")
    targets.add_argument("--file", type=Path, metavar="CSV", help="CSV file with an 'msisdn' column")
    add_config_option(send)
    send.set_defaults(run=run_send)


def read_msisdns(path: Path) -> list[str]:
    """The ``msisdn`` column of a CSV file.

    Raises:
        CliError: unreadable file, no ``msisdn`` column, an empty cell.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "msisdn" not in [f.strip() for f in reader.fieldnames]:
                raise CliError(f"{path}: line 1: no 'msisdn' column")
            key = next(f for f in reader.fieldnames if f.strip() == "msisdn")
            numbers = []
            for row in reader:
                value = (row.get(key) or "").strip()
                if not value:
                    raise CliError(f"{path}: line {reader.line_num}: empty msisdn")
                numbers.append(value)
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CliError(f"{path}: {exc}") from None
    return numbers


def run_send(args: argparse.Namespace) -> int:
    settings = command_settings(args, check_secret=False)  # it hashes nothing
    profile = load_profile(settings.operator.profile)
    try:
        encode_text(args.text, 0)
    except ValueError as exc:
        raise CliError(f"--text: {exc}") from None
    numbers = list(args.to) if args.to else read_msisdns(args.file)
    store = open_database(settings.database, migrate=True, create=False)
    try:
        ctx = Context(store=store, clock=SystemClock(), profile=profile,
                      pin_secret=settings.security.pin_secret)
        result = queue_campaign(ctx, args.text, numbers)
    finally:
        store.close()
    print(f"queued {result.queued}, skipped {result.skipped} (opted out or not a subscriber); "
          f"campaign {result.campaign_id}")
    return 0
