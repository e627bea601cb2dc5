"""Pacing the sender: a token bucket for the rate, a short backoff when throttled.

aiosmpplib's ``SimpleThrottleHandler`` stops *all* sending for the rest of a
180 s bucket once more than 1% of 50 responses were throttled; under a busy
SMSC that is a stall. Here a throttled answer pauses sending for a short,
doubling delay (``pause_min`` up to ``pause_max``), and the first accepted
submit resets it. The throttled message itself is re-queued by the outbox.
Sans-I/O: the methods take ``now`` (monotonic seconds) and return delays.
"""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 20)
        self._tokens = self.burst
        self._at: float | None = None

    def take(self, now: float) -> float:
        """Take a token if there is one (returns 0); else how long until there is (takes none)."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0 - 1e-9:  # float rounding must not leave a sliver to wait for
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class ThrottleBackoff:
    def __init__(self, pause_min: float = 0.05, pause_max: float = 5.0) -> None:
        self.pause_min = pause_min
        self.pause_max = pause_max
        self._pause = 0.0
        self._until = 0.0

    def throttled(self, now: float) -> None:
        self._pause = min(self.pause_max, max(self.pause_min, self._pause * 2))
        self._until = max(self._until, now + self._pause)

    def accepted(self) -> None:
        self._pause = 0.0

    def wait(self, now: float) -> float:
        """Seconds to hold back before the next submit (0: go)."""
        return max(0.0, self._until - now)
