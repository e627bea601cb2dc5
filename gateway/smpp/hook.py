"""What the wire says, persisted in batches (aiosmpplib's hook role, on the store).

aiosmpplib awaits its hook inside the read loop and acknowledges every
deliver_sm with ESME_ROK after the hook returns: a slow hook stalls reading,
and a hook that only queues in memory acknowledges messages it could lose.
Here the read loop hands each event to ``StoreHook.record`` (no waiting) with
the acknowledgement to send once it is safe; a writer task saves everything
that has piled up in ONE transaction on a database lane, in arrival order, and
only then sends the deliver_sm_resp of the MO and receipts in that batch.
New inbox rows are passed to ``on_inbox`` (the keyword router) as inbox id →
sender address, off the read loop. A failed write is retried; nothing is acknowledged before it is saved.
``identity`` names an MO PDU by a keyed digest (``pin_secret``), so the
SMSC's redelivery of one left unacknowledged is recognised (``sms_delivery.save_events``).
Inbox rows are saved ``pending_ack``; once their acknowledgements went out
the mark is cleared in the next write (or after ``SETTLE_DELAY`` of quiet,
or on ``flush``), so after a kill ``recover`` knows which MO may come again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from gateway.clock import Clock
from gateway.domain.pacing import Backoff
from gateway.logs import get_logger
from gateway.services import sms_delivery
from gateway.services.batcher import Batcher
from gateway.services.sms_delivery import Database, Event
from gateway.smpp.codec import decode_text
from gateway.smpp.metrics import SmsMetrics

log = get_logger("gateway.smpp")

Ack = Callable[[], None]

#: Seconds of quiet after which acknowledged rows are marked so without waiting for a next batch.
SETTLE_DELAY = 1.0


class StoreHook:
    def __init__(self, *, store: Database, batcher: Batcher, clock: Clock, dedupe_window: float,
                 secret: str, on_inbox: Callable[[dict[int, str]], None], max_batch: int = 2000,
                 metrics: SmsMetrics | None = None, seal: Callable[[str], str] = str,
                 identity: str | None = None) -> None:
        #: This process (``store.sms.claimant``): the inbox rows it saves are its own to answer.
        self._identity = identity
        self._metrics = metrics or SmsMetrics.create(None)
        self._secret = secret
        #: Seals the parts of a concatenated MO while they wait for the others.
        self.part_key = sms_delivery.part_key(secret)
        #: What the inbox keeps of a decoded MO text (``gateway.sms.keywords.seal``): its
        #: secrets as keyed hashes, never in clear.
        self._seal = seal
        self._store = store
        self._batcher = batcher
        self._clock = clock
        self._window = timedelta(seconds=dedupe_window)
        self._on_inbox = on_inbox
        self._max_batch = max_batch
        self._pending: list[tuple[Event, Ack | None]] = []
        #: Inbox rows whose acknowledgements were handed to the link, not yet marked so.
        self._acked: list[int] = []
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def record(self, event: Event, ack: Ack | None = None) -> None:
        """Queue ``event`` for saving; ``ack`` runs once it is committed."""
        self._pending.append((event, ack))
        self._idle.clear()
        self._ready.set()

    async def run(self) -> None:
        while True:
            woken = asyncio.ensure_future(self._ready.wait())
            try:  # asyncio.wait: wait_for may swallow the cancel that stops this task
                await asyncio.wait((woken,), timeout=SETTLE_DELAY if self._acked else None)
            finally:
                woken.cancel()
            self._ready.clear()
            if not self._pending and self._acked:
                await self._settle()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                settled, self._acked = self._acked, []
                saved, inserted = await self._save([event for event, _ in batch], settled)
                for _, ack in batch:
                    if ack is not None:
                        ack()
                self._acked.extend(inserted)
                if saved:
                    self._metrics.mo_received.inc(len(saved))
                    self._on_inbox(saved)
            if not self._pending:
                self._idle.set()

    async def recover(self) -> int:
        """At start: expect again the MO a stopped gateway may not have acknowledged; how many."""
        return await self._batcher.call(sms_delivery.expect_unsettled, self._store, self._clock.now(),
                                       self._identity)

    async def _settle(self) -> None:
        settled, self._acked = self._acked, []
        if settled:
            await self._save([], settled)

    def identity(self, *parts: bytes | str | int) -> str:
        """The keyed digest of an MO PDU made of ``parts``."""
        return sms_delivery.pdu_digest(self._secret, *parts)

    async def flush(self) -> None:
        """Wait until everything recorded so far is saved (and acknowledged rows marked so)."""
        await self._idle.wait()
        await self._settle()

    async def _save(self, events: list[Event], settled: list[int]) -> tuple[dict[int, str], list[int]]:
        """Save ``events``, mark ``settled`` rows; (new rows to answer → sender, every new inbox id)."""
        backoff = Backoff(0.05, 2.0)
        while True:
            try:
                return await self._batcher.call(self._write, events, settled)
            except Exception as exc:  # noqa: BLE001 - keep the PDUs, try again
                log.error("sms_store_write_failed", error=str(exc), events=len(events))
                await asyncio.sleep(backoff.failed())

    def _write(self, events: list[Event], settled: list[int]) -> tuple[dict[int, str], list[int]]:
        senders: dict[int, str] = {}
        redeliveries: list[tuple[int, int]] = []
        new = sms_delivery.save_events(self._store, events, settled, self._clock.now(), decode=self.decode,
                                       dedupe_window=self._window, part_key=self.part_key, senders=senders,
                                       redeliveries=redeliveries, identity=self._identity)
        for inbox_id, first in redeliveries:
            log.info("sms_mo_redelivered", inbox_id=inbox_id, redelivery_of=first)
        return senders, new + [inbox_id for inbox_id, _ in redeliveries]

    def decode(self, data: bytes, data_coding: int) -> str:
        """The MO text to store: decoded, its secrets sealed before they reach the table."""
        return self._seal(decode_text(data, data_coding))
