"""Requests per number: a token bucket per calling number, in memory, shared by every process.

Every channel asks the same ``RateLimiter`` before it serves a subscriber's
request (one USSD request, one MO SMS): the bucket holds up to
``requests_per_minute`` tokens (C) and refills at that rate (r = C / 60 s),
so a burst of a minute's worth is allowed and a steady flood is cut to the
configured rate.

Why in memory and at the channel, not a database row per request: the
count is per request the subscriber makes, and most USSD requests (menu
navigation) never reach a service; a database round trip per request would
slow every request for a limit that only matters under abuse. The lockouts
that must survive a restart (wrong PINs, lost-SIM mismatches) are in the
database already.

Several processes (``serve --workers N``, or gateways on one PostgreSQL)
share the limit without a round trip per request: each keeps its buckets,
and ``LimitSharing`` adds what it let through to the ``rate_limits`` table
every ``SYNC_SECONDS`` (T; a bucket there is the instant it is full again,
so additions commute) and reads back the shared bucket of every number
whose bucket here is not full (up to ``MAX_WATCH``), which replaces its own.
A bucket may go below zero: what several processes let through at once is
owed, and the number is refused until the debt is repaid.

The bound, for one number over t seconds: C + r·t on one process; through
N processes at most (N − 1)·(C + r·T) more, and only as a burst (each
process spending the same full bucket before it hears of the others),
which the debt then takes back, so over minutes the rate is r. Requests
one at a time, more than T apart, get C + r·t plus one each time they
reach a process whose bucket for the number is full (it had not seen the
number lately). If the database cannot be reached, each process limits on
its own and sends its spend with the next exchange that works.

``take`` is O(1); the table is bounded (least recently seen numbers are
forgotten first, which can only make the limiter more lenient) and
``prune`` drops full buckets.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.clock import Clock
from gateway.domain.pacing import TokenBucket
from gateway.logs import get_logger

log = get_logger("gateway.ratelimit")

#: Seconds between two exchanges with the shared table (T in the bound above).
SYNC_SECONDS = 0.25
#: At most this many numbers read back per exchange (the most recently seen).
MAX_WATCH = 5_000
#: Seconds between deletions of full buckets from the shared table.
FORGET_SECONDS = 60.0


@dataclass(frozen=True)
class Exchange:
    """What one process sends at an exchange: tokens let through per number since the last one, the
    numbers whose shared bucket it reads back, and when (its monotonic clock)."""

    spent: dict[str, int]
    watch: list[str]
    at: float


class RateLimiter:
    def __init__(
        self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic, max_keys: int = 200_000,
        shared: bool = False,
    ) -> None:
        """``per_minute`` 0 switches the limit off; ``shared``: other processes limit the same numbers
        (``LimitSharing`` keeps the buckets in step)."""
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.shared = shared and per_minute > 0
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()  # (least recently seen first)
        #: Tokens let through per number since the last exchange (``shared`` only).
        self._spent: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Spend one token of ``key``: 0.0 if allowed, else the seconds until one is available."""
        if self.capacity <= 0:
            return 0.0
        now = self._monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.capacity, now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        wait = bucket.take(now)
        if wait == 0.0 and self.shared:
            self._spent[key] = self._spent.get(key, 0) + 1
        return wait

    def prune(self) -> int:
        """Forget numbers whose bucket has refilled (they are as if never seen); returns how many."""
        if self.capacity <= 0:
            return 0
        full_after = self.capacity / self.rate
        now = self._monotonic()
        full = []
        for key, bucket in self._buckets.items():
            if now - bucket.at < full_after:
                break  # oldest first: the rest were seen later
            if bucket.level(now) >= self.capacity:  # (one in debt takes longer)
                full.append(key)
        for key in full:
            del self._buckets[key]
        return len(full)

    # --- sharing with other processes (``LimitSharing``) -------------------------------

    def outgoing(self, max_watch: int = MAX_WATCH) -> Exchange:
        """Take what was let through since the last exchange, and list the numbers to read back: those
        whose bucket here is not full (a full one can only let one request through before the next)."""
        now = self._monotonic()
        spent, self._spent = self._spent, {}
        watch = list(spent)
        full_after = self.capacity / self.rate if self.capacity > 0 else 0.0
        for key in reversed(self._buckets):  # most recently seen first
            bucket = self._buckets[key]
            if len(watch) >= max_watch or now - bucket.at >= full_after:
                break
            if bucket.level(now) < self.capacity and key not in spent:
                watch.append(key)
        return Exchange(spent, watch, now)

    def incoming(self, sent: Exchange, full_at: dict[str, float], wall: float) -> None:
        """The shared buckets read back after ``sent`` (full-again instants on the wall clock, which read
        ``wall`` at the exchange) replace this process's, less what it let through since."""
        for key, instant in full_at.items():
            bucket = self._buckets.get(key)
            if bucket is None:
                continue  # forgotten meanwhile: it starts again from the next exchange
            tokens = self.capacity - max(0.0, instant - wall) * self.rate
            bucket.tokens, bucket.at = tokens - self._spent.get(key, 0), sent.at

    def unsent(self, sent: Exchange) -> None:
        """The exchange failed: its spend goes with the next one."""
        for key, count in sent.spent.items():
            self._spent[key] = self._spent.get(key, 0) + count

    def costs(self, spent: dict[str, int]) -> dict[str, float]:
        """Seconds of refill that ``spent`` tokens per number take."""
        return {key: count / self.rate for key, count in spent.items()}


# --- the job (its use cases, on the store: ``gateway.services.rate_limits``) ----------------


#: ``exchange(costs, watch, now)``: ``share`` run off the event loop (``Batcher.call``).
ShareCall = Callable[[dict[str, float], list[str], float], Awaitable[dict[str, float]]]
ForgetCall = Callable[[float], Awaitable[int]]


class LimitSharing:
    """Keeps a shared ``RateLimiter`` in step with every other process's, every ``SYNC_SECONDS``."""

    def __init__(self, limiter: RateLimiter, *, share: ShareCall, forget: ForgetCall, clock: Clock,
                 every: float = SYNC_SECONDS, on_sync: Callable[[], None] | None = None) -> None:
        self.limiter = limiter
        self._share = share
        self._forget = forget
        self._clock = clock
        self._every = every
        self._on_sync = on_sync
        self._failing = False
        self._next_forget = 0.0

    async def sync(self) -> int:
        """One exchange; how many buckets were read back. A failure keeps the spend for the next one.

        Raises:
            Exception: the database failed (its error, from the store).
        """
        sent = self.limiter.outgoing()
        wall = self._clock.now().timestamp()
        if sent.spent or sent.watch:
            try:
                found = await self._share(self.limiter.costs(sent.spent), sent.watch, wall)
            except BaseException:
                self.limiter.unsent(sent)
                raise
            self.limiter.incoming(sent, found, wall)
        else:
            found = {}
        if sent.at >= self._next_forget:
            self._next_forget = sent.at + FORGET_SECONDS
            await self._forget(wall)
        if self._on_sync is not None:
            self._on_sync()
        return len(found)

    async def run(self) -> None:
        """``sync`` every ``SYNC_SECONDS`` until cancelled; failures are logged once until it works again."""
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sync()
            except Exception as exc:  # noqa: BLE001 - each process limits on its own meanwhile
                if not self._failing:
                    self._failing = True
                    log.warning("rate_limit_sync_failed", error=repr(exc))
            else:
                if self._failing:
                    self._failing = False
                    log.info("rate_limit_sync_resumed")
