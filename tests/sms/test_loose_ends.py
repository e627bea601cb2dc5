"""Receipts ahead of their submit_sm_resp, stale MO parts, and MO the router keeps failing on."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from gateway.services.api import Services
from gateway.services.batcher import Batcher
from gateway.services.model import OutgoingSms
from gateway.smpp.broker import OutboxBroker
from gateway.smpp.codec import decode_text
from gateway.smpp.hook import StoreHook
from gateway.sms import runtime as rt
from gateway.sms.router import KeywordRouter
from gateway.store import Store
from gateway.store import sms as sms_store
from tests.support.sms import PART_KEY, outbox, read, receive
from tests.support.texts import FakeTexts
from tests.support.world import SUBSCRIBER


def _apply(services: Services, *events: sms_store.Event) -> None:
    with services.ctx.store.write_uow() as uow:
        uow.inbox.apply(list(events), services.ctx.clock.now(), decode=decode_text,
                        dedupe_window=timedelta(seconds=60), part_key=PART_KEY)


def test_receipt_before_its_submit_resp_is_applied_when_the_resp_arrives(services: Services, store: Store) -> None:
    """A DELIVRD receipt that overtakes its submit_sm_resp still marks the message delivered."""
    with store.write_uow() as uow:
        row_id = uow.outbox.enqueue(OutgoingSms(SUBSCRIBER, "hi", "888", "reply", "k1"), services.ctx.clock.now())
    assert row_id is not None
    _apply(services, sms_store.DeliveryReport("abc", "DELIVRD"), sms_store.Submitted(row_id, ("abc",)))
    assert [r["status"] for r in outbox(store)] == ["delivered"]
    assert read(store, "SELECT count(*) FROM sms_receipts_early")[0][0] == 0



def test_stale_mo_parts_and_orphan_receipts_are_purged(services: Services, store: Store) -> None:
    """Parts of an MO whose other parts never came leave the parts table (as an incomplete inbox row),
    and receipts nobody claimed are dropped, after their bounds."""
    _apply(services, sms_store.InboundSms(SUBSCRIBER, "888", b"TOP", 0, "d1", reference=7, total=2, seq=1),
           sms_store.DeliveryReport("nobody", "DELIVRD"))
    later = services.ctx.clock.now() + max(sms_store.ASSEMBLY_WINDOW, sms_store.EARLY_RECEIPT_TTL) \
        + timedelta(seconds=1)
    with store.write_uow() as uow:
        purged = uow.inbox.purge(later, decode=decode_text, part_key=PART_KEY, identity=None)
    assert (purged.segments, purged.receipts, len(purged.inbox)) == (1, 1, 1)


async def test_a_row_the_router_keeps_failing_on_is_failed_and_answered_once(services: Services,
                                                                                store: Store) -> None:
    """After repeated router errors the MO is marked failed with the error and answered 'unavailable' once."""
    class Broken(KeywordRouter):
        def handle(self, inbox_ids, refusals=None):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    inbox_id = receive(services, "BAL")
    batcher = Batcher(store)
    router = Broken(services=services, texts=FakeTexts())
    broker = OutboxBroker(store=store, batcher=batcher, clock=services.ctx.clock, batch=10, poll_interval=0.1)
    hook = StoreHook(store=store, batcher=batcher, clock=services.ctx.clock, dedupe_window=60,
                     secret=services.ctx.pin_secret, on_inbox=lambda ids: None)
    runtime = rt.SmsRuntime(esme=None, hook=hook, broker=broker, router=router, batcher=batcher, store=store,
                            clock=services.ctx.clock)
    rt.ROUTE_RETRY_DELAY, saved = 0.01, rt.ROUTE_RETRY_DELAY
    try:
        await runtime.start()
        for _ in range(200):
            row = read(store, "SELECT status, error FROM sms_inbox WHERE id = ?", (inbox_id,))[0]
            if row["status"] == "failed":
                break
            await asyncio.sleep(0.01)
        assert (row["status"], row["error"]) == ("failed", "RuntimeError('boom')")
        assert [r["text"] for r in outbox(store, kind="reply")] == ["[en] Sorry: unavailable"]
    finally:
        rt.ROUTE_RETRY_DELAY = saved
        await runtime.close()
        batcher.close()


async def test_a_sender_cancelled_as_the_outbox_wakes_it_stops(services: Services, store: Store) -> None:
    """The session's sender waiting for work, cancelled (link ended) as a reply is queued, ends.

    Otherwise it runs on and the ESME waits for it for ever instead of binding again.
    """
    batcher = Batcher(store)
    broker = OutboxBroker(store=store, batcher=batcher, clock=services.ctx.clock, batch=10, poll_interval=5.0)
    try:
        waiting = asyncio.create_task(broker.wait())
        await asyncio.sleep(0)
        broker.wake()
        waiting.cancel()
        done, _ = await asyncio.wait((waiting,), timeout=1.0)
        assert done and waiting.cancelled()
    finally:
        batcher.close()
