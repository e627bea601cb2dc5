"""What only a server database can show: claimants whose transactions overlap.

Two ``PgDatabase`` on one database stand for two processes. The first
claims and keeps its transaction open; the second claims meanwhile, on
another thread (joined with a bound, so a claim that waits for the
first's row locks fails the test instead of hanging it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from gateway.store.port import DEFAULT_LEASE, InboundSms, OutgoingSms
from gateway.store.postgres.uow import PgDatabase, open_database
from gateway.store.sms import INBOX_LEASE

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
#: Longest a claim may take before it is taken for waiting on the other's locks.
BOUND = 30.0


@pytest.fixture
def two(postgres_url: str) -> Iterator[tuple[PgDatabase, PgDatabase]]:
    a = open_database(postgres_url, migrate=True)
    b = open_database(postgres_url)
    yield a, b
    a.close()
    b.close()


def _meanwhile(run):  # type: ignore[no-untyped-def]
    """``run()`` on another thread, within ``BOUND`` seconds; its result."""
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(run()), daemon=True)
    worker.start()
    worker.join(BOUND)
    assert out, "the second claim waited for the first one's rows"
    return out[0]


def test_overlapping_outbox_claims_take_different_rows_without_waiting(two: tuple[PgDatabase, PgDatabase]) -> None:
    a, b = two
    with a.write_uow() as uow:
        queued = [uow.outbox.enqueue(OutgoingSms("85512345678", f"m{i}", "888", "reply", f"k{i}"), NOW)
                  for i in range(4)]
    with a.write_uow() as uow:  # held open while B claims
        first = [r.id for r in uow.outbox.claim_due(NOW, 2, identity="a#1", lease=DEFAULT_LEASE)]

        def claim_b() -> list[int]:
            with b.write_uow() as other:
                return [r.id for r in other.outbox.claim_due(NOW, 4, identity="b#1", lease=DEFAULT_LEASE)]

        second = _meanwhile(claim_b)
    assert len(first) == 2 and sorted(first + second) == sorted(queued)  # type: ignore[operator]
    with b.write_uow() as uow:  # committed: each row is its claimant's until the lease passes
        assert uow.outbox.claim_due(NOW + timedelta(seconds=1), 4, identity="b#2", lease=DEFAULT_LEASE) == []


def test_overlapping_inbox_adoptions_take_different_rows(two: tuple[PgDatabase, PgDatabase]) -> None:
    a, b = two
    with a.write_uow() as uow:
        stored = uow.inbox.apply([InboundSms("85512345678", "888", f"BAL{i}".encode(), 0, f"d{i}")
                                  for i in range(4)], NOW, decode=lambda data, _: data.decode(),
                                 dedupe_window=timedelta(seconds=60), part_key=b"k" * 32)
    later = NOW + INBOX_LEASE + timedelta(seconds=1)  # nobody was named for them: anyone may adopt
    with a.write_uow() as uow:
        first = uow.inbox.adopt(later, "a#1", 2, starting=False)

        def adopt_b() -> list[int]:
            with b.write_uow() as other:
                return other.inbox.adopt(later, "b#1", 4, starting=False)

        second = _meanwhile(adopt_b)
    assert len(first) == 2 and sorted(first + second) == sorted(stored)  # type: ignore[operator]
