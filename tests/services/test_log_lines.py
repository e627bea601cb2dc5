"""Log lines reach the log file whole, in order, and without waiting.

On the event loop, the lines of one loop iteration are written together at
its end; a worker thread's line is written at once. Either way an operator
tailing the file sees every line, unbroken, by the end of the iteration.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from pathlib import Path

import structlog

from gateway.logs import configure_logging, write_at_once, write_per_iteration


def _file_stream(path: Path) -> io.TextIOWrapper:
    # Like ``sys.stderr`` redirected to a file: text over a buffer over the file.
    return io.TextIOWrapper(io.BufferedWriter(io.FileIO(path, "w")), encoding="utf-8",
                            errors="backslashreplace", line_buffering=True)


def _events(path: Path) -> list[str]:
    return [json.loads(line)["event"] for line in path.read_text().splitlines()]


async def test_loop_lines_are_in_the_file_by_the_end_of_the_iteration_in_order(tmp_path):
    path = tmp_path / "gateway.log"
    stream = _file_stream(path)
    configure_logging("info", "json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    write_per_iteration(asyncio.get_running_loop())
    try:
        log = structlog.get_logger("test")
        log.info("first", msisdn="85512345678")
        log.info("second")
        worker = threading.Thread(target=lambda: log.info("from_a_thread"))
        worker.start()
        worker.join()
        logging.getLogger("other.library").warning("stdlib_line")
        log.info("third")
        await asyncio.sleep(0)  # the end of this iteration
        assert _events(path) == ["first", "second", "from_a_thread", "stdlib_line", "third"]
        assert "85512345678" not in path.read_text()
        log.info("last")
        write_at_once()  # (serve, stopping)
        assert _events(path)[-1] == "last"
    finally:
        write_at_once()
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
        stream.close()


def test_outside_a_loop_each_line_is_written_at_once(tmp_path):
    path = tmp_path / "cli.log"
    stream = _file_stream(path)
    configure_logging("info", "json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        structlog.get_logger("test").info("now")
        assert _events(path) == ["now"]
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
        stream.close()
