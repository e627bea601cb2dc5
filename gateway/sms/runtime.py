"""SMS at run time: MO answered by the keyword router, beside the ESME, store hook and outbox broker.

``SmsRuntime`` runs the SMS side that ``gateway.app.start_sms`` builds;
``close()`` unbinds and leaves whatever was not sent queued in the outbox.

Routing saved MO (``_route``): each batch first asks the shared per-number
``RateLimiter`` (on the event loop, as USSD does): a number over its limit
is answered once with the "too many requests" text, then not at all until
``QUIET_SECONDS`` have passed, so a flood of MO never makes us flood back.
A batch the router fails on is retried row by row with a doubling delay;
a row that fails ``MAX_ROUTE_FAILURES`` times is marked ``failed`` with the
error and answered "unavailable" once (``KeywordRouter.give_up``): no
message is dropped silently. ``_maintain`` purges stale MO parts and early
receipts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from gateway.clock import Clock
from gateway.config import SmppSettings
from gateway.domain.errors import GatewayError, InvalidMsisdn, RateLimited
from gateway.domain.pacing import doubled
from gateway.logs import get_logger
from gateway.ratelimit import RateLimiter
from gateway.services import sms_delivery
from gateway.services.api import Services
from gateway.services.batcher import Batcher
from gateway.services.sms_delivery import Database, Purged
from gateway.smpp.broker import OutboxBroker
from gateway.smpp.client import Esme
from gateway.smpp.hook import StoreHook
from gateway.smpp.metrics import SmsMetrics
from gateway.sms.keywords import seal
from gateway.sms.router import KeywordRouter

log = get_logger("gateway.sms")


#: Tries of one MO row before it is given up (marked failed, answered "unavailable").
MAX_ROUTE_FAILURES = 5
#: First retry delay of a failed row, doubled per failure (0.2, 0.4, 0.8, 1.6 s).
ROUTE_RETRY_DELAY = 0.2
#: After a number is told it sends too many requests, its further over-limit MO
#: go unanswered for this long.
QUIET_SECONDS = 60.0
#: Seconds between maintenance runs (purges, adopting a dead process's MO).
MAINTENANCE_SECONDS = 60.0


class SmsRuntime:
    def __init__(self, *, esme: Esme | None, hook: StoreHook, broker: OutboxBroker,
                 router: KeywordRouter, batcher: Batcher, store: Database, clock: Clock,
                 limiter: RateLimiter | None = None, metrics: SmsMetrics | None = None,
                 text_retention: timedelta = timedelta(days=SmppSettings.inbox_text_retention_days)) -> None:
        self.esme = esme
        #: How long the text of an answered MO is kept (``smpp.inbox_text_retention_days``).
        self._text_retention = text_retention
        self.hook = hook
        self.broker = broker
        self._router = router
        self._batcher = batcher
        self._store = store
        self._clock = clock
        self._limiter = limiter
        self._metrics = metrics or SmsMetrics.create(None)
        self._inbox: asyncio.Queue[list[int]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[Any]] = []
        self._failures: dict[int, int] = {}
        self._told: dict[str, float] = {}  # number → monotonic time its quiet period ends
        self._retries: set[asyncio.TimerHandle] = set()
        #: Sender addresses of rows the hook just saved, so rate limits need no DB hop.
        self._senders: dict[int, str] = {}

    @property
    def bound(self) -> bool:
        """True while bound to the SMSC (SMS can flow)."""
        return self.esme is not None and self.esme.bound

    def inbox_saved(self, saved: dict[int, str]) -> None:
        """New inbox rows (id → sender address), to be answered."""
        self._senders.update(saved)
        self._inbox.put_nowait(list(saved))

    def wake(self) -> None:
        """Tell the sender a message was queued (else it finds it at the next poll)."""
        self.broker.wake()

    async def start(self) -> None:
        recovered = await self.broker.recover()
        if recovered:
            log.info("sms_outbox_recovered", messages=recovered)
        expected = await self.hook.recover()
        if expected:
            log.info("sms_mo_expected_again", messages=expected)
        backlog = await self._batcher.call(self._unhandled)
        if backlog:
            self._inbox.put_nowait(backlog)
        self._tasks.append(asyncio.create_task(self.hook.run(), name="sms-hook"))
        self._tasks.append(asyncio.create_task(self._route(), name="sms-router"))
        self._tasks.append(asyncio.create_task(self._maintain(), name="sms-maintenance"))
        if self.esme is not None:
            self._tasks.append(asyncio.create_task(self.esme.run(), name="smpp-esme"))

    def _unhandled(self, starting: bool = True) -> list[int]:
        """Unanswered MO this process takes over (``sms_delivery.adopt_inbox``): at start, and then
        every minute those of a process that died and was not started again."""
        return sms_delivery.adopt_inbox(self._store, self._clock.now(), self.broker.identity, 100_000,
                                        starting=starting)

    async def _route(self) -> None:
        while True:
            ids = await self._inbox.get()
            while not self._inbox.empty() and len(ids) < 1000:
                ids.extend(self._inbox.get_nowait())
            await self.route(ids)

    async def route(self, ids: list[int]) -> None:
        """Answer ``ids`` (rate limits applied); on failure schedule retries, never drop."""
        known = self._known_senders(ids)
        try:
            refusals = await self._refusals(ids, known)
            queued = await self._batcher.call(self._router.handle, ids, refusals)
        except Exception as exc:  # noqa: BLE001 - retried below; the rows stay 'received'
            log.error("sms_router_failed", error=repr(exc), messages=len(ids))
            await self._failed(ids, exc)
            return
        for inbox_id in ids:
            self._failures.pop(inbox_id, None)
        if queued:
            self.broker.wake()

    async def _refusals(self, ids: list[int], senders: dict[int, str]) -> dict[int, GatewayError | None]:
        if self._limiter is None or self._limiter.capacity <= 0:
            return {}
        unknown = [i for i in ids if i not in senders]
        if unknown:  # a retry or the start-up backlog: ask the inbox
            senders.update(await self._batcher.call(self._router.senders, unknown))
        refusals: dict[int, GatewayError | None] = {}
        now = time.monotonic()
        for inbox_id, msisdn in senders.items():
            if not msisdn:
                continue  # not a subscriber number: the router refuses it
            wait = self._limiter.take(msisdn)
            if wait <= 0:
                continue
            self._metrics.rate_limited.inc()
            if self._told.get(msisdn, 0.0) > now:
                refusals[inbox_id] = None  # told already: silence
            else:
                self._told[msisdn] = now + QUIET_SECONDS
                refusals[inbox_id] = RateLimited(self._clock.now() + timedelta(seconds=wait))
        return refusals

    def _known_senders(self, ids: list[int]) -> dict[int, str]:
        """Normalised senders ("" when not a number) of the rows the hook passed on (taken once)."""
        plan = self._router.number_plan
        found: dict[int, str] = {}
        for inbox_id in ids:
            source = self._senders.pop(inbox_id, None)
            if source is None:
                continue
            try:
                found[inbox_id] = plan.normalise(source)
            except InvalidMsisdn:
                found[inbox_id] = ""
        return found

    async def _failed(self, ids: list[int], exc: Exception) -> None:
        loop = asyncio.get_running_loop()
        for inbox_id in ids:
            count = self._failures.get(inbox_id, 0) + 1
            self._failures[inbox_id] = count
            if count >= MAX_ROUTE_FAILURES:
                self._failures.pop(inbox_id, None)
                try:
                    if await self._batcher.call(self._router.give_up, inbox_id, repr(exc)):
                        self.broker.wake()
                except Exception as again:  # noqa: BLE001 - still 'received': the next start answers it
                    log.error("sms_give_up_failed", inbox_id=inbox_id, error=repr(again))
                continue
            # Alone from now on: one bad row must not hold back the others.
            handle = loop.call_later(doubled(ROUTE_RETRY_DELAY, count - 1), self._retry, inbox_id)
            self._retries.add(handle)

    def _retry(self, inbox_id: int) -> None:
        now = asyncio.get_running_loop().time()
        self._retries = {h for h in self._retries if h.when() > now}
        self._inbox.put_nowait([inbox_id])

    async def _maintain(self) -> None:
        """Every minute: end stale MO assemblies (an incomplete one is answered), drop unclaimed
        receipts, adopt MO a dead process left, and empty the texts of MO answered longer ago than
        the retention."""
        while True:
            try:
                purged = await self._batcher.call(self._purge)
                if purged.segments or purged.receipts:
                    log.info("sms_purged", segments=purged.segments, early_receipts=purged.receipts,
                             incomplete=len(purged.inbox))
                if purged.inbox:
                    self.inbox_saved(purged.inbox)
                adopted = await self._batcher.call(self._unhandled, False)
                if adopted:
                    log.warning("sms_inbox_adopted", messages=len(adopted))
                    self._inbox.put_nowait(adopted)
                texts = await self._batcher.call(self._purge_texts)
                if texts:
                    log.info("sms_inbox_texts_purged", count=texts)
                now = time.monotonic()
                self._told = {k: v for k, v in self._told.items() if v > now}
            except Exception as exc:  # noqa: BLE001 - try again next time
                log.warning("sms_maintenance_failed", error=repr(exc))
            await asyncio.sleep(MAINTENANCE_SECONDS)

    def _purge(self) -> Purged:
        # The hook's decode and key: a given-up message is sealed as a whole one would be.
        return sms_delivery.purge(self._store, self._clock.now(), decode=self.hook.decode,
                                  part_key=self.hook.part_key, identity=self.broker.identity)

    def _purge_texts(self) -> int:
        return sms_delivery.purge_texts(self._store, self._clock.now(), self._text_retention)

    async def close(self) -> None:
        """Unbind cleanly; what was not sent stays queued in the outbox."""
        for handle in self._retries:
            handle.cancel()
        if self.esme is not None:
            await self.esme.close()
        for task in reversed(self._tasks):
            if task.get_name() == "sms-hook":
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.hook.flush(), 5.0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def inbox_seal(services: Services) -> Callable[[str], str]:
    """What the inbox keeps of an MO text: its PIN and ID number sealed (``keywords.seal``)."""
    return lambda text: seal(text, seal_pin=services.seal_pin, seal_id=services.seal_id_number,
                             number_plan=services.profile.number_plan)
