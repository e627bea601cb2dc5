"""Requests per number shared by several processes: each keeps its buckets, the database keeps them in step.

Two "processes" here are two ``RateLimiter``s with a ``LimitSharing`` each,
over two connections to one database (on each backend), on one fake clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import FixedClock
from gateway.ratelimit import LimitSharing, RateLimiter
from gateway.services import Services
from tests.support.backends import BACKENDS, open_backend, reopen
from tests.support.world import START, make_world

PER_MINUTE = 6  # one token every 10 s
ME = "85512345678"


class Process:
    """One gateway process's limiter and its sharing job, on a connection of its own."""

    def __init__(self, services: Services, clock: FixedClock) -> None:
        self.services = services
        self.clock = clock
        self.limiter = RateLimiter(PER_MINUTE, shared=True, monotonic=lambda: clock.now().timestamp())
        self.fail_next = False

        async def share(costs: dict[str, float], watch: list[str], now: float) -> dict[str, float]:
            if self.fail_next:
                self.fail_next = False
                raise OSError("database unreachable")
            return services.share_rate_limits(costs, watch, now)

        async def forget(now: float) -> int:
            return services.forget_full_rate_limits(now)

        self.sharing = LimitSharing(self.limiter, share=share, forget=forget, clock=clock)

    def allowed(self, n: int = 1) -> int:
        return sum(self.limiter.take(ME) == 0.0 for _ in range(n))


@pytest.fixture(params=BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    db = open_backend(request, tmp_path)
    clock = FixedClock(START)
    world = make_world(tmp_path, clock=clock, store=db.store, backend=db.name, where=db.where)
    other = make_world(tmp_path, clock=clock, store=reopen(db), backend=db.name, where=db.where)
    yield Process(world.services, clock), Process(other.services, clock)
    world.services.ctx.store.close()
    other.services.ctx.store.close()


async def test_requests_alternating_between_two_processes_are_limited_as_by_one(pair: Any) -> None:
    """One request at a time, alternating, each process syncing after each: 7 of 12 pass, as on one
    process plus b's first sight of the number (without sharing each would let its own 6 through)."""
    a, b = pair
    passed = 0
    for n in range(12):
        passed += (a, b)[n % 2].allowed()
        await a.sharing.sync()
        await b.sharing.sync()
    assert passed == PER_MINUTE + 1
    assert (a.allowed(), b.allowed()) == (0, 0)
    a.clock.advance(timedelta(seconds=10))  # one token refilled, but the one let through above is owed
    assert a.allowed() == 0
    a.clock.advance(timedelta(seconds=10))
    assert a.allowed() == 1
    await a.sharing.sync()
    await b.sharing.sync()
    assert b.allowed() == 0


async def test_a_burst_on_both_at_once_is_owed_afterwards(pair: Any) -> None:
    """Both spend a full bucket before they hear of each other (the bound: one bucket more); the debt
    then refuses the number until it is repaid, so two minutes give what one bucket gives."""
    a, b = pair
    assert (a.allowed(10), b.allowed(10)) == (PER_MINUTE, PER_MINUTE)
    await a.sharing.sync()
    await b.sharing.sync()
    await a.sharing.sync()
    a.clock.advance(timedelta(seconds=60))  # a full bucket's refill: one process alone would allow 6 again
    assert (a.allowed(), b.allowed()) == (0, 0)
    a.clock.advance(timedelta(seconds=60))
    assert a.allowed(10) == PER_MINUTE  # repaid: 12 in 120 s (+ the first minute's 6) = one bucket's


async def test_a_failed_exchange_keeps_its_spend_for_the_next(pair: Any) -> None:
    """The database cannot be reached: the process limits on its own, and its spend goes with the next
    exchange, so the other process still hears of it."""
    a, b = pair
    assert a.allowed(4) == 4
    a.fail_next = True
    with pytest.raises(OSError):
        await a.sharing.sync()
    await a.sharing.sync()
    assert b.allowed() == 1  # b's first sight of the number
    await b.sharing.sync()
    assert b.allowed(10) == 1  # 6 - a's 4 - b's 1


async def test_full_buckets_are_forgotten_by_every_process(pair: Any) -> None:
    """A number refilled leaves the shared table; a number in debt stays in it and in memory."""
    a, _ = pair
    assert a.allowed(3) == 3
    await a.sharing.sync()
    assert a.services.ctx.store.read_uow().rate_limits.full_at([ME])
    a.clock.advance(timedelta(seconds=60))
    assert a.services.forget_full_rate_limits(a.clock.now().timestamp()) == 1
    assert a.services.ctx.store.read_uow().rate_limits.full_at([ME]) == {}
    assert a.limiter.prune() == 1 and len(a.limiter) == 0


def test_a_bucket_in_debt_is_not_pruned_until_it_is_full() -> None:
    """``prune`` drops only buckets that have refilled: one owed by a burst elsewhere is kept."""
    now = [0.0]
    limiter = RateLimiter(PER_MINUTE, monotonic=lambda: now[0], shared=True)
    limiter.take(ME)
    sent = limiter.outgoing()
    limiter.incoming(sent, {ME: 120.0}, 0.0)  # the shared bucket: 6 tokens owed
    now[0] = 61.0
    assert limiter.prune() == 0 and limiter.take(ME) > 0
    now[0] = 130.0
    assert limiter.take(ME) == 0.0
