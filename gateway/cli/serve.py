"""``serve [--config PATH] [--workers N]``: the USSD endpoint, SMS side and background jobs.

``--workers 1`` (the default) is one process; more run a supervisor and N
worker processes on one port (``gateway.workers``).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from gateway.cli import CliError, add_config_option
from gateway.config import load_settings
from gateway.logs import configure_logging


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the HTTP USSD endpoint, the SMPP client and background jobs")
    add_config_option(parser)
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="processes serving the port (SO_REUSEPORT) and sharing the database (default 1)")
    # Set by the supervisor of ``--workers N`` on each worker it starts.
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gateway.app import Worker, start_sms_runtime
    from gateway.serving import serve

    if args.workers < 1:
        raise CliError(f"--workers: must be 1 or more, not {args.workers}")
    if args.worker_index is not None and not 0 <= args.worker_index < args.workers:
        raise CliError(f"--worker-index: must be from 0 to {args.workers - 1}")
    settings = load_settings(args.config)
    settings.require_pin_secret()
    configure_logging(settings.logging.level, settings.logging.format)
    if args.worker_index is None and args.workers > 1:
        from gateway.workers import supervise

        return supervise(settings, args.workers, [] if args.config is None else ["--config", args.config])
    worker = Worker(args.worker_index or 0, args.workers)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(serve(settings, start_sms=start_sms_runtime, worker=worker))
    return 0


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (a dependency on Linux and macOS), else asyncio's.

    Every request crosses the loop several times (the socket read, the
    handler's task, the database's callbacks, the response's write): uvloop
    runs that part in C, ~5% of the gateway's CPU per USSD step under load.
    It implements the same asyncio API; nothing in the gateway depends on which loop runs.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
