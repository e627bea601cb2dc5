"""``serve [--config PATH]``: the USSD endpoint, SMS side and background jobs."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from gateway.cli import add_config_option
from gateway.config import load_settings
from gateway.logs import configure_logging


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the HTTP USSD endpoint, the SMPP client and background jobs")
    add_config_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gateway.app import serve, start_sms_runtime

    settings = load_settings(args.config)
    settings.require_pin_secret()
    configure_logging(settings.logging.level, settings.logging.format)
    asyncio.run(serve(settings, start_sms=start_sms_runtime))
    return 0
