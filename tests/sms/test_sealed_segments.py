"""Parts of a concatenated MO wait for the rest sealed: a PIN split across parts is never in a
copy of the database, and the message still reaches the router whole (or as incomplete)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from gateway.services.api import Services
from gateway.services.batcher import Batcher
from gateway.smpp.broker import OutboxBroker
from gateway.smpp.hook import StoreHook
from gateway.sms import runtime as rt
from gateway.sms.router import KeywordRouter
from gateway.store import Store
from gateway.store import sms as sms_store
from tests.support.backends import leaks
from tests.support.sms import outbox, read
from tests.support.texts import FakeTexts
from tests.support.world import OTHER, SUBSCRIBER, pins

UCS2 = 8


def voucher(services: Services, tmp_path: Path) -> str:
    """A live $5 voucher; its PIN."""
    [pin] = pins(services, tmp_path, 1, "5.00")
    return pin


def parts(pin: str) -> list[str]:
    """"TOP <PIN> <number>" in three parts, the PIN cut between the first two."""
    return [f"TOP {pin[:7]}", pin[7:], " 012345679"]


def hook_on(services: Services, batcher: Batcher) -> StoreHook:
    return StoreHook(store=services.ctx.store, batcher=batcher, clock=services.ctx.clock, dedupe_window=60,
                     secret=services.ctx.pin_secret, on_inbox=lambda ids: None, seal=rt.inbox_seal(services))


async def receive(services: Services, texts: list[str], *seqs: int) -> None:
    """Parts ``seqs`` of ``texts`` in UCS-2 through the real hook, as the SMPP session records them."""
    batcher = Batcher(services.ctx.store)
    hook = hook_on(services, batcher)
    task = asyncio.create_task(hook.run())
    try:
        for seq in seqs:
            data = texts[seq - 1].encode("utf-16-be")
            hook.record(sms_store.InboundSms(SUBSCRIBER, "888", data, UCS2, hook.identity(seq, data),
                                             reference=9, total=len(texts), seq=seq))
        await hook.flush()
    finally:
        task.cancel()
        batcher.close()


async def maintain_until_answered(services: Services, store: Store) -> list[str]:
    """The SMS runtime's start-up maintenance (no SMSC); the replies it queued."""
    batcher = Batcher(store)
    runtime = rt.SmsRuntime(esme=None, hook=hook_on(services, batcher),
                            broker=OutboxBroker(store=store, batcher=batcher, clock=services.ctx.clock,
                                                batch=10, poll_interval=0.1),
                            router=KeywordRouter(services=services, texts=FakeTexts()), batcher=batcher,
                            store=store, clock=services.ctx.clock)
    try:
        await runtime.start()
        for _ in range(300):
            if outbox(store, kind="reply"):
                break
            await asyncio.sleep(0.01)
    finally:
        await runtime.close()
        batcher.close()
    return [r["text"] for r in outbox(store, kind="reply")]


def pin_pieces(pin: str) -> list[str]:
    """The PIN and the run of its digits each part holds: none may be stored in clear."""
    return [pin, pin[:7], pin[7:]]


async def test_an_incomplete_message_keeps_no_pin_digits_in_the_database(services: Services, store: Store,
                                                                        tmp_path: Path) -> None:
    """Parts 1 and 2 of 3 of a UCS-2 "TOP <PIN> <number>", the PIN cut between them, and part 3 never
    comes: while they wait and after the message is given up, the files (SQLite) and every table hold
    no run of the PIN's digits; the subscriber is told the message arrived incomplete."""
    pin = voucher(services, tmp_path)
    await receive(services, parts(pin), 1, 2)
    assert read(store, "SELECT count(*) FROM sms_segments")[0][0] == 2
    assert leaks(store, pin_pieces(pin)) == []
    services.ctx.clock.advance(sms_store.ASSEMBLY_WINDOW + timedelta(seconds=1))  # type: ignore[attr-defined]
    assert await maintain_until_answered(services, store) == ["[en] Sorry: your message arrived incomplete"]
    assert read(store, "SELECT count(*) FROM sms_segments")[0][0] == 0
    assert leaks(store, pin_pieces(pin)) == []


async def test_a_complete_message_of_sealed_parts_tops_up(services: Services, store: Store,
                                                          tmp_path: Path) -> None:
    """All three parts, out of order: the router gets the whole "TOP <PIN> <number>" (the other
    number is credited $5) and no run of the PIN's digits is stored."""
    pin = voucher(services, tmp_path)
    await receive(services, parts(pin), 2, 1, 3)
    assert leaks(store, pin_pieces(pin)) == []
    ids = store.read_uow().inbox.unhandled(10)
    KeywordRouter(services=services, texts=FakeTexts()).handle(ids)
    assert services.check_balance(OTHER).main.minor == 600
    assert leaks(store, pin_pieces(pin)) == []
