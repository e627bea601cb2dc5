"""What the wire says, persisted in batches (aiosmpplib's hook role, on the store).

aiosmpplib awaits its hook inside the read loop and acknowledges every
deliver_sm with ESME_ROK after the hook returns: a slow hook stalls reading,
and a hook that only queues in memory acknowledges messages it could lose.
Here the read loop hands each event to ``StoreHook.record`` (no waiting) with
the acknowledgement to send once it is safe; a writer task saves everything
that has piled up in ONE transaction on the DB thread, in arrival order, and
only then sends the deliver_sm_resp of the MO and receipts in that batch.
New inbox rows are passed to ``on_inbox`` (the keyword router) as inbox id →
sender address, off the read loop. A failed write is retried; nothing is acknowledged before it is saved.
``identity`` names an MO PDU by a keyed digest (``pin_secret``), so the
SMSC's redelivery of one left unacknowledged is recognised (``sms_store.apply``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from gateway.clock import Clock
from gateway.logs import get_logger
from gateway.services.runner import DbRunner
from gateway.smpp.codec import decode_text
from gateway.smpp.metrics import SmsMetrics
from gateway.store import Store
from gateway.store import sms as sms_store

log = get_logger("gateway.smpp")

Ack = Callable[[], None]


class StoreHook:
    def __init__(self, *, store: Store, runner: DbRunner, clock: Clock, dedupe_window: float,
                 secret: str, on_inbox: Callable[[dict[int, str]], None], max_batch: int = 2000,
                 metrics: SmsMetrics | None = None) -> None:
        self._metrics = metrics or SmsMetrics.create(None)
        self._secret = secret
        self._store = store
        self._runner = runner
        self._clock = clock
        self._window = timedelta(seconds=dedupe_window)
        self._on_inbox = on_inbox
        self._max_batch = max_batch
        self._pending: list[tuple[sms_store.Event, Ack | None]] = []
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def record(self, event: sms_store.Event, ack: Ack | None = None) -> None:
        """Queue ``event`` for saving; ``ack`` runs once it is committed."""
        self._pending.append((event, ack))
        self._idle.clear()
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                saved = await self._save([event for event, _ in batch])
                for _, ack in batch:
                    if ack is not None:
                        ack()
                if saved:
                    self._metrics.mo_received.inc(len(saved))
                    self._on_inbox(saved)
            if not self._pending:
                self._idle.set()

    def identity(self, *parts: bytes | str | int) -> str:
        """The keyed digest of an MO PDU made of ``parts``."""
        return sms_store.pdu_digest(self._secret, *parts)

    async def flush(self) -> None:
        """Wait until everything recorded so far is saved."""
        await self._idle.wait()

    async def _save(self, events: list[sms_store.Event]) -> dict[int, str]:
        delay = 0.05
        while True:
            try:
                return await self._runner.call(self._write, events)
            except Exception as exc:  # noqa: BLE001 - keep the PDUs, try again
                log.error("sms_store_write_failed", error=str(exc), events=len(events))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _write(self, events: list[sms_store.Event]) -> dict[int, str]:
        senders: dict[int, str] = {}
        redeliveries: list[tuple[int, int]] = []
        with self._store.write() as conn:
            sms_store.apply(conn, events, self._clock.now(), decode=decode_text,
                            dedupe_window=self._window, senders=senders, redeliveries=redeliveries)
        for inbox_id, first in redeliveries:
            log.info("sms_mo_redelivered", inbox_id=inbox_id, redelivery_of=first)
        return senders
