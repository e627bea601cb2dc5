"""structlog set-up: JSON lines when not on a terminal, console otherwise.

Privacy is enforced here, once, for every log line from any library routed
through the stdlib ``logging`` module as well as our own:

- values under keys that hold phone numbers (``msisdn``, ``to``, ``from_``,
  ``phone_number``, ...) are masked to ``855*****678``;
- values under keys that could hold secrets (``pin``, ``id_number``,
  ``password``, ``secret``, ``token``, ``text`` of a top-up ...) are dropped;
- any run of 10 or more digits inside free text (a PIN typed into a USSD
  ``text`` or an SMS) is replaced by ``[digits]``; shorter numbers stay.

Our own lines (one per USSD turn, per SMS, per top-up) take structlog's
native path: a level-filtering bound logger, the processors, one ``write``
to the root handler's stream. Going through stdlib ``logging`` instead
(``LogRecord``, a handler lock contended by the loop and the DB thread,
``ProcessorFormatter``) took a quarter of the event loop's time under load
(docs/benchmarks.md). Records of other libraries still come through stdlib
logging, the same processors and renderer, to the same stream.

In JSON, our own chain only stamps a line (level, logger, the moment) when it
is logged; the privacy filter and the JSON encoding run when the line is
written (``_render``), which on the event loop is at the end of the loop
iteration, for all of its lines together. The same work, done back to back
instead of between the steps of 64 interleaved requests, costs half as much
(the USSD mix: +7-10% steps/s, docs/benchmarks.md). A line whose values are
not all plain scalars is rendered at once (a list could change before the
end of the iteration). The file's order is the order of logging: a line
written at once (from another thread, or another library) first writes the
loop's lines still waiting.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.domain.msisdn import mask

_MSISDN_KEYS = frozenset(
    {"msisdn", "to", "from_", "sender", "recipient", "phone_number", "phoneNumber",
     "target", "requester", "reporter", "destination_addr", "source_addr"}
)
_SECRET_KEYS = frozenset(
    {"pin", "pin_hash", "id_number", "id_hash", "password", "secret", "pin_secret",
     "token", "authorization"}
)
_LONG_DIGITS = re.compile(r"\d{10,}")
#: Fields on every line of this process (``bind_process``): which worker of ``serve --workers`` wrote it.
_PROCESS: dict[str, Any] = {}
#: The handler of the latest ``configure_logging``: our own lines go to its stream.
_handler: logging.StreamHandler[Any] | None = None


def redact_text(text: str) -> str:
    """Hide anything that could be a PIN or an ID number inside free text."""
    return _LONG_DIGITS.sub("[digits]", text)


def _privacy(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():  # (values are replaced in place; no key is added or removed)
        if key in _SECRET_KEYS:
            event[key] = "[redacted]"
        elif type(value) is not str and not isinstance(value, str):
            continue
        elif key in _MSISDN_KEYS:
            event[key] = mask(value)
        elif len(value) >= 10 and _LONG_DIGITS.search(value):  # shorter: no run of 10 digits
            event[key] = redact_text(value)
    return event


_LEVELS = {"warn": "warning", "exception": "error"}  # (as ``structlog.stdlib.add_log_level``)


def bind_process(**fields: Any) -> None:
    """Name this process on every line it logs from now on, from any thread (e.g. ``worker``, ``pid``)."""
    _PROCESS.update(fields)


def _process_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if _PROCESS:
        for key, value in _PROCESS.items():
            event.setdefault(key, value)
    return event


def _stamp(logger: Any, method_name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``add_log_level``, ``add_logger_name`` and the moment, kept as a number until ``_render``."""
    if _PROCESS:
        _process_fields(logger, method_name, event)
    event["level"] = _LEVELS.get(method_name, method_name)
    event["logger"] = logger.name
    event["timestamp"] = time.time()
    return event


def _json_fallback(obj: Any) -> Any:
    """What ``structlog.processors.JSONRenderer`` makes of a value JSON has no type for."""
    try:
        return obj.__structlog__()
    except AttributeError:
        return repr(obj)


_ENCODE = json.JSONEncoder(default=_json_fallback).encode
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _render(event: MutableMapping[str, Any]) -> str:
    """One of our own lines as JSON, exactly as the shared chain and ``JSONRenderer`` write it."""
    stamp = event.get("timestamp")
    if type(stamp) is float:
        event["timestamp"] = datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")
    return _ENCODE(_privacy(None, "", event))


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Route structlog and stdlib logging through one privacy filter and renderer."""
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _process_fields,
        _privacy,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    )
    global _handler
    handler = _handler = _OrderedHandler(sys.stderr)
    own: list[Any] = [  # rendered later by ``_StreamLogger`` (``_render``): see the module docstring
        structlog.contextvars.merge_contextvars,
        _stamp,
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, _noop, renderer] if console else own,
        logger_factory=lambda name=None, *_: _StreamLogger(name or ""),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if not console else _noop,
            renderer,
        ],
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosmpplib logs every PDU at debug/info; keep it at warning unless asked.
    if level != "debug":
        logging.getLogger("aiosmpplib").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class _StreamLogger:
    """structlog's last step: the line, written to the stream of the handler of
    the latest ``configure_logging`` (looked up on each line, so a logger
    cached earlier follows a new configuration or ``setStream``). It gets the
    rendered line (console) or the stamped event dict to render (JSON).

    On the thread of an event loop that asked for it (``write_per_iteration``),
    lines logged during one iteration of the loop are rendered and go out in
    one ``write`` at its end (a callback queued behind the iteration's work):
    a line per USSD step was a system call per step, and the call waits when
    the disk's journal is busy with the database's fsyncs. At most one
    iteration's lines (milliseconds) are in memory; they are written at exit.
    Elsewhere (a worker thread, the CLI) each line is written at once, after
    any loop lines still waiting.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, line: str | None = None, /, **event: Any) -> None:
        handler = _handler
        if handler is None:
            return
        try:
            loop = _deferring.get(threading.get_ident()) if _deferring else None
            with handler.lock or _NO_LOCK:
                if loop is None or loop.is_closed() or getattr(handler.stream, "buffer", None) is None:
                    _write_waiting(handler.stream)
                    handler.stream.write((line if line is not None else _render(event)) + "\n")
                    handler.stream.flush()
                    return
                if line is not None:
                    _waiting.append(line)
                elif all(type(value) in _SCALARS for value in event.values()):
                    _waiting.append(event)
                else:
                    _waiting.append(_render(event))
            _flush_later(loop, handler)
        except (OSError, ValueError):  # closed or broken stream: like logging, never raise
            pass

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class _OrderedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler: another library's line goes out after the loop's lines logged before it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _write_waiting(self.stream)  # (``handle`` holds the lock)
        except (OSError, ValueError):
            pass
        super().emit(record)


_NO_LOCK = contextlib.nullcontext()
_flush_due: set[asyncio.AbstractEventLoop] = set()
#: Threads whose event loop writes its lines once per iteration (``write_per_iteration``).
_deferring: dict[int, asyncio.AbstractEventLoop] = {}
#: Lines logged on such a loop, not yet written: event dicts to render, or rendered lines.
_waiting: list[MutableMapping[str, Any] | str] = []


def _write_waiting(stream: Any) -> None:
    """Render and write the loop lines waiting (under the handler's lock)."""
    global _waiting
    if not _waiting:
        return
    lines, _waiting = _waiting, []
    text = "".join((item if type(item) is str else _render(item)) + "\n" for item in lines)  # type: ignore[arg-type]
    raw = getattr(stream, "buffer", None)
    if raw is None:
        stream.write(text)
    else:
        stream.flush()  # (anything in the text layer first)
        raw.write(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))


def write_per_iteration(loop: asyncio.AbstractEventLoop) -> None:
    """Lines logged on ``loop``'s thread (the caller's) from now on go out once per
    iteration of it (see ``_StreamLogger``); ``serve`` calls this at start-up.

    (Looking the loop up on each line instead, ``asyncio.get_running_loop()``,
    is a ``getpid`` system call each time.)
    """
    _deferring[threading.get_ident()] = loop


def write_at_once() -> None:
    """Undo ``write_per_iteration`` for the caller's thread, writing what is pending."""
    loop = _deferring.pop(threading.get_ident(), None)
    if loop is not None and _handler is not None:
        _flush(loop, _handler)


def _flush_later(loop: asyncio.AbstractEventLoop, handler: logging.StreamHandler[Any]) -> None:
    if loop not in _flush_due:
        _flush_due.add(loop)
        loop.call_soon(_flush, loop, handler)


def _flush(loop: asyncio.AbstractEventLoop, handler: logging.StreamHandler[Any]) -> None:
    _flush_due.discard(loop)
    _write_out(handler)


def _write_out(handler: logging.StreamHandler[Any]) -> None:
    """The waiting lines, then the stream flushed (the text layer's, then its buffer's)."""
    try:
        with handler.lock or _NO_LOCK:
            _write_waiting(handler.stream)
            handler.stream.flush()
    except (OSError, ValueError):  # closed or broken stream: like logging, never raise
        pass


@atexit.register
def _write_at_exit() -> None:
    """A loop that ended without ``write_at_once``: its last lines still reach the file."""
    if _handler is not None and _waiting:
        _write_out(_handler)


def _noop(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event


def get_logger(name: str) -> Any:
    """A logger; until ``configure_logging`` runs, lines still go through the privacy filter, to stderr."""
    if not structlog.is_configured():
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _privacy,
                structlog.processors.JSONRenderer(),
            ],
            logger_factory=structlog.PrintLoggerFactory(sys.stderr),
            cache_logger_on_first_use=False,
        )
    return structlog.get_logger(name)
