"""The outbox as the sender's queue (aiosmpplib's broker role, on the store).

aiosmpplib's ``SimpleBroker`` is an in-memory queue: a message taken from it
just before the link drops is gone. Here the outbox owns delivery: the sender
claims due rows in batches (one transaction marks up to ``batch`` rows
``sending``), and every claimed row ends ``submitted``, ``failed`` or back in
``queued`` through the hook; rows left ``sending`` by a stopped gateway are
re-queued at start. A claim commits without an fsync (``durable=False``):
losing it to a power cut leaves the rows ``queued``, which is what
``recover`` makes of ``sending`` anyway, and the next durable commit (the
hook's record of the submit_sm_resp) makes it durable, since WAL frames are
synced in order. Claims carry this process's ``identity`` and a ``lease``
(``store.sms``: several processes share the outbox). Anyone who queues a message may ``wake()`` the broker; a
row queued by another process (``campaign send``) is found by polling.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from gateway.clock import Clock
from gateway.services import sms_delivery
from gateway.services.batcher import Batcher
from gateway.services.sms_delivery import Database, OutboxRow


class OutboxBroker:
    def __init__(self, *, store: Database, batcher: Batcher, clock: Clock, batch: int,
                 poll_interval: float, identity: str | None = None,
                 lease: timedelta = sms_delivery.DEFAULT_LEASE) -> None:
        self._store = store
        self.identity = identity
        self._lease = lease
        self._batcher = batcher
        self._clock = clock
        self._batch = batch
        self._poll = poll_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def lapsed(self, row: OutboxRow) -> bool:
        """The claim on ``row`` has passed: another process may be sending it, so this one must not.

        (A process alone on its database claims it again with the next batch.)
        """
        return row.lease_until is not None and self._clock.now() >= row.lease_until

    async def recover(self) -> int:
        return await self._batcher.call(sms_delivery.recover_outbox, self._store, self._clock.now(), self.identity)

    async def claim(self) -> list[OutboxRow]:
        """Due rows now (possibly none), marked ``sending``.

        Callers shield this: once the transaction is under way its rows must
        reach the caller (or be released), never be dropped by a cancellation.
        """
        self._wake.clear()
        return await self._batcher.call(self._claim)

    async def wait(self) -> None:
        """Until someone queues a message, or the poll interval passes.

        ``asyncio.wait``, not ``wait_for``: on Python 3.11 ``wait_for`` swallows a
        cancellation that lands as the event is set, and the session's sender,
        cancelled when its link ends, would then run on for ever.
        """
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((woken,), timeout=self._poll)
        finally:
            woken.cancel()

    def _claim(self) -> list[OutboxRow]:
        return sms_delivery.claim_outbox(self._store, self._clock.now(), self._batch, identity=self.identity,
                                         lease=self._lease)
