"""structlog set-up: JSON lines when not on a terminal, console otherwise.

Privacy is enforced here, once, for every log line from any library routed
through the stdlib ``logging`` module as well as our own:

- values under keys that hold phone numbers (``msisdn``, ``to``, ``from_``,
  ``phone_number``, ...) are masked to ``855*****678``;
- values under keys that could hold secrets (``pin``, ``id_number``,
  ``password``, ``secret``, ``token``, ``text`` of a top-up ...) are dropped;
- any run of 10 or more digits inside free text (a PIN typed into a USSD
  ``text`` or an SMS) is replaced by ``[digits]``; shorter numbers stay.

Every line is rendered by one chain of stock structlog processors (our own
lines through a level-filtering bound logger, other libraries' through stdlib
``logging`` and ``ProcessorFormatter``) and written by one ``LineWriter``, the
root handler. On the event loop of ``serve`` the lines of one loop iteration
go out in one ``write`` at its end, so a USSD step is not a system call of
its own; anywhere else a line goes out at once. The file keeps the order of
logging either way.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import re
import sys
import threading
from collections.abc import MutableMapping
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
#: Threads whose event loop writes its lines once per iteration (``write_per_iteration``).
_DEFERRING: dict[int, asyncio.AbstractEventLoop] = {}
#: The handler of the latest ``configure_logging``: our own lines go to it as well.
_writer: LineWriter | None = None


def redact_text(text: str) -> str:
    """Hide anything that could be a PIN or an ID number inside free text."""
    return _LONG_DIGITS.sub("[digits]", text)


def _privacy(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():  # (values are replaced in place; no key is added or removed)
        if key in _SECRET_KEYS:
            event[key] = "[redacted]"
        elif not isinstance(value, str):
            continue
        elif key in _MSISDN_KEYS:
            event[key] = mask(value)
        elif len(value) >= 10 and _LONG_DIGITS.search(value):  # shorter: no run of 10 digits
            event[key] = redact_text(value)
    return event


def bind_process(**fields: Any) -> None:
    """Name this process on every line it logs from now on, from any thread (e.g. ``worker``, ``pid``)."""
    _PROCESS.update(fields)


def _process_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in _PROCESS.items():
        event.setdefault(key, value)
    return event


def _unencodable(obj: Any) -> Any:
    """What structlog's own renderer writes for a value JSON has no type for: its ``__structlog__()``, or its repr."""
    structlog_form = getattr(obj, "__structlog__", None)
    return structlog_form() if structlog_form is not None else repr(obj)


#: One encoder for every line: ``json.dumps`` with an argument builds a new ``JSONEncoder`` each call.
_JSON = json.JSONEncoder(default=_unencodable)


def _encode_json(event: Any, **_: Any) -> str:
    """``JSONRenderer``'s serializer: the same text as ``json.dumps`` with structlog's fallback."""
    return _JSON.encode(event)


def _noop(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event


class LineWriter(logging.StreamHandler):  # type: ignore[type-arg]
    """The one writer of log lines: the root handler, and the end of structlog's chain.

    A line logged on the thread of a loop that asked for it (``write_per_iteration``)
    waits for the end of the loop iteration (a callback queued behind the
    iteration's work), then goes out with the iteration's other lines in one
    ``write``; a line logged anywhere else goes out at once, after those
    waiting. At most one iteration's lines are held; they are written at exit.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._waiting: list[str] = []
        self._due: set[asyncio.AbstractEventLoop] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write(self.format(record))
        except Exception:  # noqa: BLE001 - as every handler: report on stderr, never raise
            self.handleError(record)

    def write(self, line: str) -> None:
        loop = _DEFERRING.get(threading.get_ident()) if _DEFERRING else None
        with self.lock:  # type: ignore[union-attr]  # (``createLock`` ran in ``__init__``)
            self._waiting.append(line)
            if loop is None or loop.is_closed():
                self.write_waiting()
            elif loop not in self._due:
                self._due.add(loop)
                loop.call_soon(self._end_of_iteration, loop)

    def _end_of_iteration(self, loop: asyncio.AbstractEventLoop) -> None:
        self._due.discard(loop)
        self.write_waiting()

    def write_waiting(self) -> None:
        """The lines waiting, in one ``write``, then the stream flushed."""
        with self.lock:  # type: ignore[union-attr]
            if not self._waiting:
                return
            text = "\n".join(self._waiting) + "\n"
            self._waiting.clear()
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # closed or broken stream: like logging, never raise
                pass


class _WriterLogger:
    """structlog's logger: hands the rendered line to the writer of the latest ``configure_logging``
    (looked up on each line, so a logger cached earlier follows a new configuration)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, line: str) -> None:
        if _writer is not None:
            _writer.write(line)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Route structlog and stdlib logging through one privacy filter, renderer and writer."""
    global _writer
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _privacy,  # (before the fields added below: none of them is private, and it looks at every key)
        _process_fields,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    exc_info: Any = _noop if console else structlog.processors.format_exc_info  # (the console renders it)
    renderer: Any = structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer(_encode_json)
    if _writer is not None:
        _writer.write_waiting()
    writer = _writer = LineWriter(sys.stderr)
    structlog.configure(
        processors=[*shared, exc_info, renderer],
        logger_factory=lambda name=None, *_: _WriterLogger(name or ""),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=True,
    )
    writer.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, exc_info, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [writer]
    root.setLevel(level.upper())
    # aiosmpplib logs every PDU at debug/info; keep it at warning unless asked.
    if level != "debug":
        logging.getLogger("aiosmpplib").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def write_per_iteration(loop: asyncio.AbstractEventLoop) -> None:
    """Lines logged on ``loop``'s thread (the caller's) from now on go out once per iteration of it
    (``LineWriter``); ``serve`` calls this at start-up. (Keyed by thread: looking the loop up on each
    line, ``asyncio.get_running_loop()``, is a ``getpid`` system call each time.)"""
    _DEFERRING[threading.get_ident()] = loop


def write_at_once() -> None:
    """Undo ``write_per_iteration`` for the caller's thread, writing what is pending."""
    _DEFERRING.pop(threading.get_ident(), None)
    if _writer is not None:
        _writer.write_waiting()


@atexit.register
def _write_at_exit() -> None:
    """A loop that ended without ``write_at_once``: its last lines still reach the file."""
    if _writer is not None:
        _writer.write_waiting()


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
