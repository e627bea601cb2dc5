"""Pacing: a token bucket for a rate, and a delay that doubles after each failure.

Every rate in the project is this one bucket (the SMPP send rate, the
requests per number, the simulator's throttle) and every retry waits by this
one doubling rule (reconnecting to the SMSC, saving MO PDUs, a throttled
submit, an outbox row's next attempt). Sans-I/O: time comes in as ``now``
(monotonic seconds), delays go out as seconds, the caller sleeps.
"""

from __future__ import annotations

#: Float rounding must not leave a sliver of a token to wait for.
_SLIVER = 1e-9


def doubled(first: float, times: int, cap: float = float("inf")) -> float:
    """``first`` doubled ``times`` times, at most ``cap``."""
    return min(cap, first * 2.0 ** min(times, 64))


class Backoff:
    """A delay that doubles with each failure in a row, from ``first`` up to ``cap``; a success resets it."""

    __slots__ = ("cap", "failures", "first")

    def __init__(self, first: float, cap: float) -> None:
        self.first, self.cap, self.failures = first, cap, 0

    @property
    def delay(self) -> float:
        """What to wait after the next failure."""
        return doubled(self.first, self.failures, self.cap)

    def failed(self) -> float:
        """One more failure: the delay to wait now (the next one is twice as long)."""
        delay = self.delay
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


class TokenBucket:
    """``rate`` tokens a second, at most ``capacity`` saved up; full at ``now``.

    ``tokens`` may be set below zero (a debt, as the shared rate limits owe
    what other processes let through); it is repaid at ``rate``.
    """

    __slots__ = ("at", "capacity", "rate", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate, self.capacity, self.tokens, self.at = rate, capacity, capacity, now

    def level(self, now: float) -> float:
        """The tokens there would be at ``now`` (nothing changes)."""
        return min(self.capacity, self.tokens + (now - self.at) * self.rate)

    def take(self, now: float) -> float:
        """Take a token if there is one (returns 0.0); else the seconds until there is (takes none)."""
        self.tokens, self.at = self.level(now), now
        if self.tokens >= 1.0 - _SLIVER:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate
