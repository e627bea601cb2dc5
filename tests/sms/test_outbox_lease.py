"""Two processes on one outbox: claims are leased, a dead claimant's rows go to the other.

Each "process" is an ``OutboxBroker`` with its own connection to the same
database (on each backend) and its own identity; the clock is injected, so the lease passes
without waiting. ``apply`` records outcomes as the hook of each would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from gateway.clock import FixedClock
from gateway.services.batcher import Batcher
from gateway.services.model import OutgoingSms
from gateway.smpp.broker import OutboxBroker
from gateway.smpp.codec import decode_text
from gateway.store import Store
from gateway.store import sms as sms_store
from tests.support.backends import Backend, reopen
from tests.support.sms import PART_KEY, outbox
from tests.support.world import SUBSCRIBER

LEASE = timedelta(seconds=120)


class Process:
    """One gateway process's outbox side: a connection, a DB batcher and a broker of its own."""

    def __init__(self, db: Backend, clock: FixedClock, place: str) -> None:
        self.store = reopen(db)
        self.batcher = Batcher(self.store)
        self.clock = clock
        self.broker = OutboxBroker(store=self.store, batcher=self.batcher, clock=clock, batch=10,
                                   poll_interval=0.1, identity=sms_store.claimant(place), lease=LEASE)

    def record(self, *events: sms_store.Event) -> None:
        with self.store.write_uow() as uow:
            uow.inbox.apply(list(events), self.clock.now(), decode=decode_text,
                            dedupe_window=timedelta(seconds=60), part_key=PART_KEY)

    def close(self) -> None:
        self.batcher.close()
        self.store.close()


@pytest.fixture
def processes(backend: Backend, clock: FixedClock) -> Iterator[tuple[Process, Process]]:
    a = Process(backend, clock, "host:8080/0")
    b = Process(backend, clock, "host:8080/1")
    yield a, b
    a.close()
    b.close()


def _queue(store: Store, clock: FixedClock, count: int) -> list[int]:
    with store.write_uow() as uow:
        ids = [uow.outbox.enqueue(OutgoingSms(SUBSCRIBER, f"m{i}", "888", "reply", f"k{i}"), clock.now())
               for i in range(count)]
    return [i for i in ids if i is not None]


async def test_rows_claimed_by_a_dead_process_are_sent_by_another_after_the_lease(
        processes: tuple[Process, Process], store: Store, clock: FixedClock) -> None:
    a, b = processes
    ids = _queue(store, clock, 3)
    claimed = await a.broker.claim()
    assert [r.id for r in claimed] == ids
    # A dies here. B starts: A's claims are not its to recover, and not claimable yet.
    assert await b.broker.recover() == 0
    assert await b.broker.claim() == []
    clock.advance(LEASE - timedelta(seconds=1))
    assert await b.broker.claim() == []
    clock.advance(timedelta(seconds=1))
    taken = await b.broker.claim()
    assert [r.id for r in taken] == ids
    b.record(*(sms_store.Submitted(r.id, (f"smsc-{r.id}",), "SMSC", claim=r.claim) for r in taken))
    assert {r["status"] for r in outbox(store)} == {"submitted"}


async def test_recover_at_start_leaves_a_live_process_claims_alone(
        processes: tuple[Process, Process], store: Store, clock: FixedClock, backend: Backend) -> None:
    """B restarting requeues what B's previous run had claimed, not what A is sending."""
    a, b = processes
    ids = _queue(store, clock, 4)
    a.broker._batch = 2
    b.broker._batch = 2
    by_a, by_b = await a.broker.claim(), await b.broker.claim()
    assert {r.id for r in by_a} | {r.id for r in by_b} == set(ids)
    # B dies (its connection is simply abandoned) and starts again in the same place.
    b_again = Process(backend, clock, "host:8080/1")
    try:
        assert await b_again.broker.recover() == 2
        states = {r["id"]: r["status"] for r in outbox(store)}
        assert {states[r.id] for r in by_a} == {"sending"}
        assert {states[r.id] for r in by_b} == {"queued"}
        again = await b_again.broker.claim()
        assert {r.id for r in again} == {r.id for r in by_b}
    finally:
        b_again.close()


async def test_a_late_result_for_a_row_taken_over_changes_nothing(
        processes: tuple[Process, Process], store: Store, clock: FixedClock) -> None:
    """A's answer comes after its lease passed and B re-claimed the row: B's claim and outcome stand.

    A's failure must not put back in the queue a row B is sending (a third
    copy), and A's late id must not replace B's, which B's receipt will name.
    """
    a, b = processes
    [row_id] = _queue(store, clock, 1)
    [mine] = await a.broker.claim()
    clock.advance(LEASE)
    [theirs] = await b.broker.claim()
    a.record(sms_store.SendFailed(row_id, "timeout", clock.now(), count_attempt=False, claim=mine.claim))
    assert outbox(store)[0]["status"] == "sending"
    a.record(sms_store.Submitted(row_id, ("late-a",), "SMSC", claim=mine.claim))
    assert outbox(store)[0]["status"] == "sending"
    b.record(sms_store.Submitted(row_id, ("b-1",), "SMSC", claim=theirs.claim),
             sms_store.DeliveryReport("b-1", "DELIVRD", "SMSC"))
    [row] = outbox(store)
    assert (row["status"], row["smsc_message_id"], row["claimed_by"]) == ("delivered", "b-1", theirs.claim)
    assert row["attempts"] == 1


async def test_a_process_own_retry_still_requeues_its_row(processes: tuple[Process, Process], store: Store,
                                                          clock: FixedClock) -> None:
    a, _ = processes
    [row_id] = _queue(store, clock, 1)
    [mine] = await a.broker.claim()
    a.record(sms_store.SendFailed(row_id, "throttled", clock.now(), count_attempt=False, claim=mine.claim))
    [row] = outbox(store)
    assert (row["status"], row["claimed_by"], row["lease_until"]) == ("queued", None, None)


# --- the inbox: MO stored by one process, answered by one -----------------------------


def _store_mo(process: Process, text: str) -> list[int]:
    with process.store.write_uow() as uow:
        return uow.inbox.apply([sms_store.InboundSms(SUBSCRIBER, "888", text.encode(), 0, f"d-{text}")],
                               process.clock.now(), decode=decode_text, dedupe_window=timedelta(seconds=60),
                               part_key=PART_KEY, identity=process.broker.identity)


def _adopt(process: Process, *, starting: bool) -> list[int]:
    with process.store.write_uow() as uow:
        return uow.inbox.adopt(process.clock.now(), process.broker.identity, 100, starting=starting)


def test_a_starting_process_leaves_the_mo_a_live_one_stored_to_it(processes: tuple[Process, Process]) -> None:
    """A stored an MO and is answering it: B, starting now, must not answer it too."""
    a, b = processes
    [inbox_id] = _store_mo(a, "BAL")
    assert _adopt(b, starting=True) == []
    assert _adopt(b, starting=False) == []


def test_the_mo_of_a_dead_process_are_answered_once_by_another(processes: tuple[Process, Process],
                                                                clock: FixedClock, backend: Backend) -> None:
    """A died with an MO unanswered: after the inbox lease one survivor takes it, and only one."""
    a, b = processes
    [inbox_id] = _store_mo(a, "BAL")
    c = Process(backend, clock, "host:8080/2")
    try:
        clock.advance(sms_store.INBOX_LEASE)
        assert _adopt(b, starting=False) == [inbox_id]
        assert _adopt(c, starting=False) == []  # B holds it now, for a lease of its own
        assert _adopt(c, starting=True) == []
    finally:
        c.close()


def test_a_restarted_process_answers_what_its_previous_run_stored(processes: tuple[Process, Process],
                                                                  clock: FixedClock, backend: Backend) -> None:
    a, b = processes
    [inbox_id] = _store_mo(a, "BAL")
    a_again = Process(backend, clock, "host:8080/0")
    try:
        assert _adopt(a_again, starting=True) == [inbox_id]
        assert _adopt(b, starting=True) == []
    finally:
        a_again.close()


def test_a_starting_process_does_not_expect_again_the_mo_another_is_acknowledging(
        processes: tuple[Process, Process], clock: FixedClock, backend: Backend) -> None:
    """A saved an MO and has not yet marked its acknowledgement sent: B starting must not take the
    subscriber's next identical message for the SMSC's redelivery of it (it would go unanswered)."""
    a, b = processes
    _store_mo(a, "BAL")
    with b.store.write_uow() as uow:
        assert uow.inbox.expect_unsettled(clock.now(), b.broker.identity) == 0
    [again] = _store_mo(b, "BAL")  # the same text again, on B's bind: a new message, answered
    assert again
    a_again = Process(backend, clock, "host:8080/0")
    try:
        with a_again.store.write_uow() as uow:
            assert uow.inbox.expect_unsettled(clock.now(), a_again.broker.identity) == 1
    finally:
        a_again.close()
