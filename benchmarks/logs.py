"""Log lines per second on the event loop, for one or more versions of ``gateway/logs.py``.

Each version runs in its own process, as ``serve`` logs: JSON to a file, lines
written once per loop iteration, 64 ``ussd_turn`` lines an iteration (one per
interleaved request). Rounds alternate between the versions; the best round
of each counts. Compare today's module with an earlier one::

    git show e07db4b:gateway/logs.py > /tmp/logs_before.py
    .venv/bin/python -m benchmarks.logs /tmp/logs_before.py gateway/logs.py
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import io
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import structlog

LINES_PER_ITERATION = 64


def _load(path: str) -> object:
    spec = importlib.util.spec_from_file_location("logs_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _measure(logs: object, lines: int) -> float:
    """Lines per second logged and written on this loop (to a file, as ``serve`` to its log)."""
    with tempfile.TemporaryDirectory() as folder:
        stream = io.TextIOWrapper(io.BufferedWriter(io.FileIO(Path(folder) / "gateway.log", "w")),
                                  encoding="utf-8", errors="backslashreplace", line_buffering=True)
        logs.configure_logging("info", "json")  # type: ignore[attr-defined]
        logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logs.write_per_iteration(asyncio.get_running_loop())  # type: ignore[attr-defined]
        log = structlog.get_logger("gateway.ussd")
        started = time.perf_counter()
        for n in range(lines // LINES_PER_ITERATION):
            for i in range(LINES_PER_ITERATION):
                log.info("ussd_turn", session_id=f"s{n}-{i}", msisdn="85510001234", code="*100#", step=3,
                         dialect="africastalking", ms=1.25, end=False, text="1*2*0123456789")
            await asyncio.sleep(0)
        logs.write_at_once()  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - started
        stream.close()
    return lines / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="paths of logs.py versions")
    parser.add_argument("--lines", type=int, default=64_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(asyncio.run(_measure(_load(args.modules[0]), args.lines))))
        return 0
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for path in args.modules:
            out = subprocess.run([sys.executable, "-m", "benchmarks.logs", "--one", "--lines", str(args.lines), path],
                                 check=True, capture_output=True, text=True).stdout
            best[path] = max(best.get(path, 0.0), float(out))
    for path, rate in best.items():
        print(f"{path}: {rate:,.0f} lines/s (best of {args.rounds}, {args.lines:,} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
