"""Concatenated MO: parts are glued only to parts of the same message, and a message whose
parts never all came is stored as incomplete and answered instead of vanishing."""

from __future__ import annotations

from datetime import timedelta

from gateway.clock import FixedClock
from gateway.services.api import Services
from gateway.smpp.codec import decode_text
from gateway.sms.router import KeywordRouter
from gateway.store import Store
from gateway.store import sms as sms_store
from tests.support.sms import PART_KEY, outbox, read
from tests.support.texts import FakeTexts
from tests.support.world import SUBSCRIBER


def part(text: str, seq: int, *, reference: int = 5, total: int = 2) -> sms_store.InboundSms:
    return sms_store.InboundSms(SUBSCRIBER, "888", text.encode(), 0, sms_store.digest(text, seq),
                                reference=reference, total=total, seq=seq)


def arrive(services: Services, *events: sms_store.Event) -> list[int]:
    with services.ctx.store.write_uow() as uow:
        return uow.inbox.apply(list(events), services.ctx.clock.now(), decode=decode_text,
                               dedupe_window=timedelta(seconds=120), part_key=PART_KEY)


def purge(services: Services) -> sms_store.Purged:
    with services.ctx.store.write_uow() as uow:
        return uow.inbox.purge(services.ctx.clock.now(), decode=decode_text, part_key=PART_KEY, identity=None)


def inbox(store: Store) -> list[tuple[str, int]]:
    return [(r["text"], r["incomplete"]) for r in read(store,
        "SELECT text, incomplete FROM sms_inbox ORDER BY id")]


def answer(services: Services) -> list[str]:
    ids = services.ctx.store.read_uow().inbox.unhandled(100)
    KeywordRouter(services=services, texts=FakeTexts()).handle(ids)
    return [r["text"] for r in outbox(services.ctx.store, kind="reply")]


def test_ba_then_l_is_bal_not_lang_kl(services: Services, store: Store, clock: FixedClock) -> None:
    """"LANG K" whose last part never came, then "BA"+"L" with the same 8-bit reference a minute
    later: the subscriber gets the balance, not "LANG KL", and "LANG K" is kept as incomplete."""
    arrive(services, part("LANG K", 1))
    clock.advance(timedelta(minutes=1))
    arrive(services, part("BA", 1))
    arrive(services, part("L", 2))
    assert inbox(store) == [("LANG K", 1), ("BAL", 0)]
    assert sorted(answer(services)) == ["[en] Balance $6.00", "[en] Sorry: your message arrived incomplete"]


def test_a_stale_last_part_is_not_glued_to_a_fresh_message(services: Services, store: Store,
                                                           clock: FixedClock) -> None:
    """A part 2 left over from an hour ago and a fresh "BA"+"L" with the same reference: the fresh
    part 1 is not completed by the stale part 2; the fresh message is whole and answered."""
    arrive(services, part("KM", 2))
    clock.advance(timedelta(hours=1))
    arrive(services, part("BA", 1))
    arrive(services, part("L", 2))
    assert inbox(store) == [("KM", 1), ("BAL", 0)]


def test_an_incomplete_message_is_stored_and_answered_after_the_window(
        services: Services, store: Store, clock: FixedClock) -> None:
    """Part 1 of 2 and nothing more: once the assembly window has passed, the maintenance purge
    stores what arrived as an incomplete inbox row, and the subscriber is asked to send it again
    (it is not read as a keyword: a cut "TOP <PIN>" must not count as a wrong PIN)."""
    arrive(services, part("TOP 1234", 1))
    clock.advance(sms_store.ASSEMBLY_WINDOW - timedelta(seconds=1))
    assert purge(services).inbox == {}
    clock.advance(timedelta(seconds=2))
    purged = purge(services)
    assert (purged.segments, list(purged.inbox.values())) == (1, [SUBSCRIBER])
    assert inbox(store) == [("TOP 1234", 1)]
    assert answer(services) == ["[en] Sorry: your message arrived incomplete"]
    assert read(store, "SELECT count(*) FROM sms_segments")[0][0] == 0


def test_a_resent_part_is_kept_once(services: Services, store: Store, clock: FixedClock) -> None:
    """The SMSC sends part 1 again (its acknowledgement was lost): still one message, and a part
    resent after the message was whole starts no new one."""
    arrive(services, part("BA", 1), part("BA", 1))
    arrive(services, part("L", 2))
    arrive(services, part("L", 2))
    clock.advance(sms_store.ASSEMBLY_WINDOW + timedelta(seconds=1))
    purge(services)
    assert inbox(store) == [("BAL", 0)]


def test_parts_of_two_messages_in_one_batch(services: Services, store: Store) -> None:
    """Two long messages with different references arriving interleaved are each whole."""
    arrive(services, part("BA", 1, reference=1), part("STA", 1, reference=2), part("L", 2, reference=1),
           part("RT", 2, reference=2))
    assert inbox(store) == [("BAL", 0), ("START", 0)]


async def test_the_maintenance_job_answers_an_incomplete_message(services: Services, store: Store,
                                                                 clock: FixedClock) -> None:
    """The SMS runtime's maintenance run (its first one comes at start) gives up the stale assembly
    and the router answers it: the subscriber is asked to send the message again."""
    import asyncio

    from gateway.services.batcher import Batcher
    from gateway.smpp.broker import OutboxBroker
    from gateway.smpp.hook import StoreHook
    from gateway.sms import runtime as rt

    arrive(services, part("LANG K", 1))
    clock.advance(sms_store.ASSEMBLY_WINDOW + timedelta(seconds=1))
    batcher = Batcher(store)
    router = KeywordRouter(services=services, texts=FakeTexts())
    broker = OutboxBroker(store=store, batcher=batcher, clock=clock, batch=10, poll_interval=0.1)
    hook = StoreHook(store=store, batcher=batcher, clock=clock, dedupe_window=60, secret=services.ctx.pin_secret,
                     on_inbox=lambda ids: None)
    runtime = rt.SmsRuntime(esme=None, hook=hook, broker=broker, router=router, batcher=batcher, store=store,
                            clock=clock)
    try:
        await runtime.start()
        for _ in range(200):
            if outbox(store, kind="reply"):
                break
            await asyncio.sleep(0.01)
        assert [r["text"] for r in outbox(store, kind="reply")] == ["[en] Sorry: your message arrived incomplete"]
        assert inbox(store) == [("LANG K", 1)]
    finally:
        await runtime.close()
        batcher.close()
