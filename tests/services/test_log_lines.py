"""Log lines reach the log file whole, in order, and without waiting.

On the event loop, the lines of one loop iteration are written together at
its end; a worker thread's line is written at once. Either way an operator
tailing the file sees every line, unbroken, by the end of the iteration.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import structlog

from gateway.logs import configure_logging, write_at_once, write_per_iteration


def _file_stream(path: Path) -> io.TextIOWrapper:
    # Like ``sys.stderr`` redirected to a file: text over a buffer over the file.
    return io.TextIOWrapper(io.BufferedWriter(io.FileIO(path, "w")), encoding="utf-8",
                            errors="backslashreplace", line_buffering=True)


@contextlib.contextmanager
def _logging_to(path: Path, *, per_iteration: bool) -> Iterator[None]:
    """JSON logging to ``path`` (as ``serve`` sets it up when ``per_iteration``), undone after."""
    stream = _file_stream(path)
    configure_logging("info", "json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    if per_iteration:
        write_per_iteration(asyncio.get_running_loop())
    try:
        yield
    finally:
        write_at_once()
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
        stream.close()


def _events(path: Path) -> list[str]:
    return [json.loads(line)["event"] for line in path.read_text().splitlines()]


async def test_loop_lines_are_in_the_file_by_the_end_of_the_iteration_in_order(tmp_path):
    path = tmp_path / "gateway.log"
    with _logging_to(path, per_iteration=True):
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
        log.info("fourth")
        logging.getLogger("other.library").warning("stdlib_after_a_loop_line")
        await asyncio.sleep(0)
        assert _events(path)[-2:] == ["fourth", "stdlib_after_a_loop_line"]
        log.info("last")
        write_at_once()  # (serve, stopping)
        assert _events(path)[-1] == "last"


def test_outside_a_loop_each_line_is_written_at_once(tmp_path):
    path = tmp_path / "cli.log"
    with _logging_to(path, per_iteration=False):
        structlog.get_logger("test").info("now")
        assert _events(path) == ["now"]


async def test_a_value_changed_after_its_line_was_logged_is_written_as_it_was(tmp_path):
    """Lines on the loop are rendered at the end of the iteration, but never show a later state."""
    path = tmp_path / "gateway.log"
    with _logging_to(path, per_iteration=True):
        failed = ["85510000001"]
        structlog.get_logger("test").info("batch_failed", numbers=failed, count=len(failed))
        failed.append("85510000002")
        await asyncio.sleep(0)
        [line] = [json.loads(text) for text in path.read_text().splitlines()]
        assert line["numbers"] == ["85510000001"] and line["count"] == 1


async def test_loop_lines_read_exactly_as_structlogs_json_renderer_writes_them(tmp_path):
    """Log shippers parse these lines: the same keys, order, levels, masking and escapes as the
    shared chain (``add_log_level``, ``add_logger_name``, ``TimeStamper``, privacy, ``JSONRenderer``)."""
    from gateway.logs import _privacy

    path = tmp_path / "gateway.log"
    calls = [
        ("info", "ussd_turn", {"session_id": "s1", "msisdn": "85510001234", "step": 2, "ms": 1.5, "ok": True,
                               "gone": None}),
        ("warn", "odd_text", {"text": "TOP 12345678901234", "note": "ភាសាខ្មែរ"}),
        ("exception", "failed", {"to": "85512345678"}),
    ]
    with _logging_to(path, per_iteration=True):
        log = structlog.get_logger("gateway.test")
        for method, event, fields in calls:
            try:
                raise ValueError("boom")
            except ValueError:
                getattr(log, method)(event, **fields)
        await asyncio.sleep(0)
    reference = structlog.processors.JSONRenderer()
    written = path.read_text().splitlines()
    assert len(written) == len(calls)
    for line, (method, event, fields) in zip(written, calls, strict=True):
        parsed = json.loads(line)
        expected: dict[str, object] = {**fields, "event": event}
        expected = structlog.stdlib.add_log_level(None, method, expected)
        expected["logger"] = "gateway.test"
        expected["timestamp"] = parsed["timestamp"]
        if method == "exception":
            expected["exception"] = parsed["exception"]
            assert "ValueError: boom" in parsed["exception"]
        assert line == reference(None, method, _privacy(None, method, expected))
    assert json.loads(written[1])["level"] == "warning" and json.loads(written[2])["level"] == "error"
    assert all(json.loads(line)["timestamp"].endswith("Z") for line in written)


def test_loop_lines_still_waiting_at_exit_reach_the_file(tmp_path):
    """A loop that stops without ``write_at_once`` (a crash on the way out) loses no line."""
    import subprocess
    import sys

    code = (  # SystemExit from a callback leaves run_forever at once: the flush queued behind it never runs
        "import asyncio, structlog\n"
        "from gateway.logs import configure_logging, write_per_iteration\n"
        "configure_logging('info', 'json')\n"
        "loop = asyncio.new_event_loop()\n"
        "write_per_iteration(loop)\n"
        "def crash():\n"
        "    structlog.get_logger('test').info('last_words', msisdn='85512345678')\n"
        "    raise SystemExit(3)\n"
        "loop.call_soon(crash)\n"
        "loop.run_forever()\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    [line] = [json.loads(text) for text in proc.stderr.splitlines()]
    assert line["event"] == "last_words" and line["msisdn"] == "855*****678"
