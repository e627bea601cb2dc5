"""SMS at run time: the ESME, the store hook, the outbox broker and the keyword router.

``start_sms`` is what ``serve`` and ``demo`` call; ``SmsRuntime.close()``
unbinds and leaves whatever was not sent queued in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from prometheus_client import CollectorRegistry

from gateway.clock import Clock
from gateway.config import Settings, SmppSettings
from gateway.logs import get_logger
from gateway.profile import OperatorProfile
from gateway.services.facade import Services
from gateway.services.runner import DbRunner
from gateway.sms.router import KeywordRouter, ReplyTexts
from gateway.smpp.broker import OutboxBroker
from gateway.smpp.client import Esme
from gateway.smpp.hook import StoreHook
from gateway.store import Store
from gateway.store import sms as sms_store

log = get_logger("gateway.sms")


class SmsRuntime:
    def __init__(self, *, esme: Esme | None, hook: StoreHook, broker: OutboxBroker,
                 router: KeywordRouter, runner: DbRunner) -> None:
        self.esme = esme
        self.hook = hook
        self.broker = broker
        self._router = router
        self._runner = runner
        self._inbox: asyncio.Queue[list[int]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[Any]] = []

    @property
    def bound(self) -> bool:
        """True while bound to the SMSC (SMS can flow)."""
        return self.esme is not None and self.esme.bound

    def inbox_saved(self, inbox_ids: list[int]) -> None:
        self._inbox.put_nowait(inbox_ids)

    def wake(self) -> None:
        """Tell the sender a message was queued (else it finds it at the next poll)."""
        self.broker.wake()

    async def start(self) -> None:
        recovered = await self.broker.recover()
        if recovered:
            log.info("sms_outbox_recovered", messages=recovered)
        backlog = await self._runner.call(self._unhandled)
        if backlog:
            self._inbox.put_nowait(backlog)
        self._tasks.append(asyncio.create_task(self.hook.run(), name="sms-hook"))
        self._tasks.append(asyncio.create_task(self._route(), name="sms-router"))
        if self.esme is not None:
            self._tasks.append(asyncio.create_task(self.esme.run(), name="smpp-esme"))

    def _unhandled(self) -> list[int]:
        return sms_store.unhandled_inbox(self._router_store().read(), 100_000)

    def _router_store(self) -> Store:
        return self._router._ctx.store  # noqa: SLF001

    async def _route(self) -> None:
        while True:
            ids = await self._inbox.get()
            while not self._inbox.empty() and len(ids) < 1000:
                ids.extend(self._inbox.get_nowait())
            try:
                queued = await self._runner.call(self._router.handle, ids)
            except Exception as exc:  # noqa: BLE001 - rows stay 'received' for the next start
                log.error("sms_router_failed", error=repr(exc), messages=len(ids))
                continue
            if queued:
                self.broker.wake()

    async def close(self) -> None:
        """Unbind cleanly; what was not sent stays queued in the outbox."""
        if self.esme is not None:
            await self.esme.close()
        for task in reversed(self._tasks):
            if task.get_name() == "sms-hook":
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.hook.flush(), 5.0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def default_texts(profile: OperatorProfile) -> ReplyTexts:
    """The shared USSD/SMS texts (``menus.replies.Replies``)."""
    from menus.catalog import Catalog
    from menus.replies import Replies

    return Replies(Catalog.load(profile.languages), profile)


async def start_sms(*, settings: Settings | SmppSettings, profile: OperatorProfile,
                    services: Services, store: Store, clock: Clock, runner: DbRunner,
                    registry: CollectorRegistry | None = None,
                    texts: ReplyTexts | None = None) -> SmsRuntime:
    """Start answering SMS keywords and sending the outbox; returns the running runtime.

    With ``[smpp] enabled = false`` nothing binds (``bound`` stays False) but
    MO left in the inbox are still answered and queued.
    """
    smpp = settings.smpp if isinstance(settings, Settings) else settings
    router = KeywordRouter(services=services, texts=texts or default_texts(profile))
    broker = OutboxBroker(store=store, runner=runner, clock=clock, batch=smpp.claim_batch,
                          poll_interval=smpp.outbox_poll_interval)
    runtime: SmsRuntime
    hook = StoreHook(store=store, runner=runner, clock=clock, dedupe_window=smpp.mo_dedupe_window,
                     on_inbox=lambda ids: runtime.inbox_saved(ids))
    esme = Esme(settings=smpp, hook=hook, broker=broker, clock=clock,
                registry=registry) if smpp.enabled else None
    runtime = SmsRuntime(esme=esme, hook=hook, broker=broker, router=router, runner=runner)
    await runtime.start()
    return runtime
