"""The ESME: bind as a transceiver, stay bound, reconnect with backoff, unbind cleanly.

``Esme.run()`` loops: connect, bind (aiosmpplib's ``BindTransceiver`` PDU),
run a ``Session`` until the link drops or the SMSC unbinds, give back what
was in flight, wait (``reconnect_min`` doubling up to ``reconnect_max``,
reset by a successful bind), again. A refused bind is one log line per
attempt naming the status (``ESME_RINVPASWD``), never a crash. ``bound`` and
the ``selfcare_smpp_bound`` gauge say whether SMS can flow right now; USSD
never depends on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import struct
from datetime import datetime, timedelta

from aiosmpplib import NPI, TON, BindTransceiver, SmppCommand
from prometheus_client import CollectorRegistry, Gauge

from gateway.clock import Clock
from gateway.config import SmppSettings
from gateway.domain.pacing import Backoff, doubled
from gateway.logs import get_logger
from gateway.services.sms_delivery import OutboxRow
from gateway.smpp.broker import OutboxBroker
from gateway.smpp.errors import BindRefused, SmppRemoteError
from gateway.smpp.hook import StoreHook
from gateway.smpp.metrics import SmsMetrics
from gateway.smpp.session import Session, read_pdu
from gateway.smpp.ussd import UssdOverSmpp

log = get_logger("gateway.smpp")

_LINK_ERRORS = (OSError, asyncio.IncompleteReadError, TimeoutError, SmppRemoteError)


def smsc_identity(settings: SmppSettings) -> str:
    """Which SMSC a link talks to, as ``system_id@host:port``: the same for every bind of every
    gateway to it, so a receipt finds its message whichever bind it arrives on."""
    return f"{settings.system_id}@{settings.host}:{settings.port}"


class Esme:
    def __init__(self, *, settings: SmppSettings, hook: StoreHook, broker: OutboxBroker,
                 clock: Clock, registry: CollectorRegistry | None = None,
                 metrics: SmsMetrics | None = None, ussd: UssdOverSmpp | None = None) -> None:
        self._settings = settings
        self._ussd = ussd
        self._hook = hook
        self._broker = broker
        self._clock = clock
        self._seq = itertools.count()
        self._session: Session | None = None
        self._closing = False
        #: In-flight submits allowed on the next link (see ``_size_window``).
        self._window = settings.window
        self._session_over = asyncio.Event()
        self._gauge = Gauge("selfcare_smpp_bound", "1 while bound to the SMSC as a transceiver",
                            registry=registry) if registry is not None else None
        self._metrics = metrics or SmsMetrics.create(None)
        self.bound = False
        self.bind_attempts = 0

    def _set_bound(self, value: bool) -> None:
        self.bound = value
        if self._gauge is not None:
            self._gauge.set(1 if value else 0)

    def retry_at(self, row: OutboxRow, short: bool) -> datetime:
        """When a message that failed to go out is tried again."""
        delay = 0.2 if short else doubled(1.0, row.attempts, self._settings.retry_max)
        return self._clock.now() + timedelta(seconds=delay)

    async def run(self) -> None:
        s = self._settings
        backoff = Backoff(s.reconnect_min, s.reconnect_max)
        while not self._closing:
            self.bind_attempts += 1
            try:
                reader, writer = await self._connect()
            except BindRefused as exc:
                self._metrics.bind_attempts.labels("refused").inc()
                log.error("smpp_bind_refused", status=exc.status_name, attempt=self.bind_attempts,
                          retry_in=round(backoff.delay, 2))
            except _LINK_ERRORS as exc:
                self._metrics.bind_attempts.labels("error").inc()
                log.warning("smpp_connect_failed", error=repr(exc), attempt=self.bind_attempts,
                            retry_in=round(backoff.delay, 2))
            else:
                self._metrics.bind_attempts.labels("ok").inc()
                backoff.reset()
                await self._serve(reader, writer)
                if self._closing:
                    break
            await asyncio.sleep(backoff.failed() * random.uniform(0.8, 1.0))

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        s = self._settings
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port, limit=2**17), s.connect_timeout)
        try:
            bind = BindTransceiver(system_id=s.system_id, password=s.password,
                                   system_type=s.system_type, addr_ton=TON.UNKNOWN,
                                   addr_npi=NPI.UNKNOWN, address_range="")
            bind.sequence_num = next(self._seq) % 0x7FFFFFFF + 1
            writer.write(bind.pdu())
            command, status, _, _ = await asyncio.wait_for(read_pdu(reader), s.connect_timeout)
            if command != SmppCommand.BIND_TRANSCEIVER_RESP and command != SmppCommand.GENERIC_NACK:
                raise SmppRemoteError(f"unexpected answer to bind: 0x{command:08X}")
            if status != 0:
                raise BindRefused(status)
        except BaseException as exc:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if isinstance(exc, struct.error):
                raise SmppRemoteError(str(exc)) from None
            raise
        return reader, writer

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        s = self._settings
        session = Session(reader, writer, hook=self._hook, broker=self._broker, window=self._window,
                          rate=s.send_rate, response_timeout=s.response_timeout,
                          enquire_interval=s.enquire_link_interval, retry_at=self.retry_at,
                          max_attempts=s.max_attempts, seq=self._seq, metrics=self._metrics,
                          smsc=smsc_identity(s), ussd=self._ussd)
        self._session = session
        self._session_over = asyncio.Event()
        self._set_bound(True)
        log.info("smpp_bound", host=s.host, port=s.port, system_id=s.system_id)
        tasks = [asyncio.create_task(coro) for coro in
                 (session.reader(), session.sender(), session.keeper())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = None if task.cancelled() else task.exception()
                if exc is not None and not self._closing:
                    log.warning("smpp_link_lost", error=repr(exc))
        finally:
            self._set_bound(False)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            released = await session.release()
            if released:
                log.info("smpp_requeued", messages=released)
            self._size_window(session)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._session = None
            self._session_over.set()

    def _size_window(self, session: Session) -> None:
        """Halve the window after a link that died with submits out and none answered.

        An SMSC that drops the link before answering a full window (a small
        per-connection limit, or slow answers and a drop) would otherwise get
        the same requeued messages first on every new link, for ever. One
        answered link grows the window back towards ``smpp.window``.
        """
        if self._closing:
            return
        if session.submits_sent and not session.submits_answered:
            if self._window > 1:
                self._window = max(1, self._window // 2)
                log.warning("smpp_window_reduced", window=self._window)
        elif session.submits_answered and self._window < self._settings.window:
            self._window = min(self._settings.window, self._window * 2)
            log.info("smpp_window_restored", window=self._window)

    async def close(self, drain_timeout: float = 2.0) -> None:
        """Stop sending, let answers in flight arrive, unbind, close the link."""
        self._closing = True
        session = self._session
        if session is None or not self.bound:
            return
        deadline = asyncio.get_running_loop().time() + drain_timeout
        session.stop_sending()
        with contextlib.suppress(TimeoutError):  # MO received so far: saved and acknowledged first
            await asyncio.wait_for(self._hook.flush(), drain_timeout)
        if self._ussd is not None:  # USSD steps in progress: their screens go out first
            await self._ussd.drain(drain_timeout)
        while len(session.correlator) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        await session.unbind(timeout=1.0)
        session.end()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._session_over.wait(), 5.0)
        log.info("smpp_unbound")
