"""Pacing the sender after a throttled answer: a short pause that doubles, reset by an accepted submit.

aiosmpplib's ``SimpleThrottleHandler`` stops *all* sending for the rest of a
180 s bucket once more than 1% of 50 responses were throttled; under a busy
SMSC that is a stall. Here a throttled answer pauses sending for a short,
doubling delay (``pause_min`` up to ``pause_max``), and the first accepted
submit resets it. The throttled message itself is re-queued by the outbox;
the send rate itself is a ``TokenBucket`` (``gateway.domain.pacing``).
Sans-I/O: the methods take ``now`` (monotonic seconds) and return delays.
"""

from __future__ import annotations

from gateway.domain.pacing import Backoff


def send_burst(rate: float) -> float:
    """Submits the send rate may save up: a twentieth of a second's worth, at least one."""
    return max(1.0, rate / 20)


class ThrottleBackoff:
    def __init__(self, pause_min: float = 0.05, pause_max: float = 5.0) -> None:
        self._pause = Backoff(pause_min, pause_max)
        self._until = 0.0

    def throttled(self, now: float) -> None:
        self._until = max(self._until, now + self._pause.failed())

    def accepted(self) -> None:
        self._pause.reset()

    def wait(self, now: float) -> float:
        """Seconds to hold back before the next submit (0: go)."""
        return max(0.0, self._until - now)
