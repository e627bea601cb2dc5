"""Requests per number: a token bucket per calling number, in memory.

Every channel asks the same ``RateLimiter`` before it serves a subscriber's
request (one USSD request, one MO SMS): the bucket holds up to
``requests_per_minute`` tokens and refills at that rate, so a burst of a
minute's worth is allowed and a steady flood is cut to the configured rate.

Why in memory and at the channel, not in the database and the service
layer: the count is per request the subscriber makes, and most USSD
requests (menu navigation) never reach a service; a database write per
request would slow every request for a limit that only matters under abuse.
The lockouts that must survive a restart (wrong PINs, lost-SIM mismatches)
are in the database already; this limit forgets on restart, by design.

``take`` is O(1); the table is bounded (least recently seen numbers are
forgotten first, which can only make the limiter more lenient) and
``prune`` drops full buckets.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic, max_keys: int = 200_000
    ) -> None:
        """``per_minute`` 0 switches the limit off."""
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key → [tokens, last seen]

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Spend one token of ``key``: 0.0 if allowed, else the seconds until one is available."""
        if self.capacity <= 0:
            return 0.0
        now = self._monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [self.capacity, now]
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            bucket[0] = min(self.capacity, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            self._buckets.move_to_end(key)
        if bucket[0] >= 1.0:
            bucket[0] -= 1.0
            return 0.0
        return (1.0 - bucket[0]) / self.rate

    def prune(self) -> int:
        """Forget numbers whose bucket has refilled (they are as if never seen); returns how many."""
        if self.capacity <= 0:
            return 0
        full_after = self.capacity / self.rate
        now = self._monotonic()
        gone = 0
        while self._buckets:
            key, (_, last) = next(iter(self._buckets.items()))
            if now - last < full_after:
                break  # oldest first: the rest were seen later
            del self._buckets[key]
            gone += 1
        return gone
