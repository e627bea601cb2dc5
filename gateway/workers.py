"""``serve --workers N``: a supervisor and N ``serve`` processes on one port.

The supervisor (this module, in the parent) migrates the database once, then
starts each worker as a fresh interpreter (``python -m gateway serve
--worker-index i --workers N``: no fork of a process that already has
threads or an event loop). Each worker is a whole ``serve``: its listener
shares the port through ``SO_REUSEPORT`` (the kernel spreads connections),
it has its own database connections, metrics (``/metrics`` is per process)
and, if ``[smpp] binds`` gives it one, its own SMPP bind.

SIGTERM or SIGINT to the supervisor is passed to every worker, which stops
as ``serve`` does (listener first, requests in flight finish, SMS side, exit
0); the supervisor exits 0 once all have exited 0 (or, still starting, were
ended by that very signal before they had set their handlers). A worker that dies
otherwise is started again after a delay that doubles from
``RESTART_DELAY`` up to ``RESTART_DELAY_MAX``, back to the start once it has
run ``STEADY_SECONDS``; after ``MAX_QUICK_DEATHS`` deaths in a row without
running that long it is left down (logged) and the others go on. A worker
that exits 2 refused the configuration (a port in use, a bad file): every
worker would, so the supervisor stops them all and exits 2.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

from gateway.config import ConfigError, Settings
from gateway.logs import bind_process, get_logger
from gateway.profile import load_profile
from gateway.store import open_database
from menus.lint import check as check_menus
from menus.paging import ScreenLimits

log = get_logger("gateway.workers")

#: First delay before a dead worker is started again, seconds; doubled per quick death.
RESTART_DELAY = 0.5
RESTART_DELAY_MAX = 30.0
#: A worker that ran this long counts as healthy: its next death restarts it after ``RESTART_DELAY``.
STEADY_SECONDS = 60.0
#: Deaths in a row, each before ``STEADY_SECONDS``, after which a worker is left down.
MAX_QUICK_DEATHS = 5
#: Seconds the workers have to stop after SIGTERM before they are killed.
STOP_SECONDS = 60.0
#: How often the supervisor looks at its workers, seconds.
POLL_SECONDS = 0.1
#: The exit code of a refusal (``gateway.cli.EXIT_REFUSED``).
EXIT_REFUSED = 2


@dataclass
class _Slot:
    """One worker index: its process now (None while waiting to restart) and its recent deaths."""

    index: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    given_up: bool = False
    exits: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(self, count: int, worker_args: list[str]) -> None:
        self.count = count
        self._args = worker_args
        self._slots = [_Slot(i) for i in range(count)]
        self._stopping = False
        #: The signal passed to the workers (a worker ended by it was still starting: a clean stop).
        self._signal: int | None = None

    def command(self, index: int) -> list[str]:
        return [sys.executable, "-m", "gateway", "serve", *self._args,
                "--workers", str(self.count), "--worker-index", str(index)]

    def _start(self, slot: _Slot) -> None:
        slot.proc = subprocess.Popen(self.command(slot.index))
        slot.started = time.monotonic()
        slot.restart_at = None
        log.info("worker_started", worker=slot.index, worker_pid=slot.proc.pid)
        if self._stopping:  # the signal came while it was being started: it did not see it
            slot.proc.terminate()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("workers_stopping", signal=signal.Signals(signum).name)
        self._stopping = True
        self._signal = signum
        for slot in self._slots:
            if slot.proc is not None and slot.proc.poll() is None:
                slot.proc.send_signal(signum)

    def run(self) -> int:
        """Start the workers and keep them running until a signal; the exit code."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        for slot in self._slots:
            self._start(slot)
        refused = False
        while not self._stopping:
            for slot in self._slots:
                if slot.proc is not None and (code := slot.proc.poll()) is not None:
                    if code == EXIT_REFUSED and slot.exits == [] and not self._stopping:
                        refused = True
                    self._died(slot, code)
                if slot.restart_at is not None and time.monotonic() >= slot.restart_at and not self._stopping:
                    self._start(slot)
            if refused:
                log.error("workers_refused", reason="a worker refused its configuration (see its line above)")
                self._on_signal(signal.SIGTERM, None)
                break
            if all(slot.given_up for slot in self._slots):
                log.error("workers_all_down")
                return 1
            time.sleep(POLL_SECONDS)
        return self._wait_all(EXIT_REFUSED if refused else 0)

    def _died(self, slot: _Slot, code: int) -> None:
        assert slot.proc is not None
        pid, slot.proc = slot.proc.pid, None
        slot.exits.append(code)
        if self._stopping:
            return
        ran = time.monotonic() - slot.started
        slot.quick_deaths = slot.quick_deaths + 1 if ran < STEADY_SECONDS else 1
        if slot.quick_deaths > MAX_QUICK_DEATHS:
            slot.given_up = True
            log.error("worker_left_down", worker=slot.index, worker_pid=pid, exit_code=code,
                      deaths=slot.quick_deaths - 1)
            return
        delay = min(RESTART_DELAY * 2 ** (slot.quick_deaths - 1), RESTART_DELAY_MAX)
        slot.restart_at = time.monotonic() + delay
        log.warning("worker_died", worker=slot.index, worker_pid=pid, exit_code=code,
                    ran_seconds=round(ran, 1), restart_in=delay)

    def _wait_all(self, code: int) -> int:
        """After the signal: wait for every worker; 0 if all stopped cleanly (else 1, or ``code``)."""
        deadline = time.monotonic() + STOP_SECONDS
        clean = True
        for slot in self._slots:
            if slot.proc is None:
                continue
            try:
                exit_code = slot.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker_killed", worker=slot.index, worker_pid=slot.proc.pid,
                          reason=f"not stopped {STOP_SECONDS:g} s after the signal")
                slot.proc.kill()
                exit_code = slot.proc.wait()
            if self._signal is not None and exit_code == -self._signal:
                # Its default action ended it: the signal came before its handlers were set
                # (a restart still importing), so it had taken no request and no claim yet.
                log.info("worker_stopped_while_starting", worker=slot.index, worker_pid=slot.proc.pid)
                exit_code = 0
            clean = clean and exit_code == 0
        log.info("workers_stopped", clean=clean)
        return code or (0 if clean else 1)


def supervise(settings: Settings, count: int, worker_args: list[str]) -> int:
    """``serve --workers COUNT``: migrate once, run the workers until SIGTERM/SIGINT; the exit code.

    Raises:
        ConfigError, StoreError, MenuError: refused before any worker starts.
    """
    if settings.http.port == 0:
        raise ConfigError("http.port: --workers needs a fixed port to share (0 would give each worker its own)")
    bind_process(worker="supervisor")
    # What every worker would refuse, refused once, before the database is touched.
    check_menus(load_profile(settings.operator.profile),
                ScreenLimits(settings.http.screen_chars_gsm, settings.http.screen_chars_ucs2))
    open_database(settings.database, migrate=True).close()
    log.info("workers_starting", workers=count, port=settings.http.port)
    return Supervisor(count, worker_args).run()
