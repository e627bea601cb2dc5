"""Pacing: the send rate holds over time, and a throttled answer pauses briefly."""

from __future__ import annotations

from gateway.domain.pacing import TokenBucket
from gateway.smpp.throttle import ThrottleBackoff, send_burst


def test_rate_holds_over_a_long_run() -> None:
    """Taking tokens as soon as allowed yields the configured rate, not a stall."""
    bucket, now, sent = TokenBucket(200.0, send_burst(200.0), 0.0), 0.0, 0
    while now < 10.0:
        wait = bucket.take(now)
        if wait == 0:
            sent += 1
        else:
            now += wait
    assert 1990 <= sent <= 2000 + bucket.capacity


def test_throttle_pause_is_short_and_resets() -> None:
    """A throttled answer pauses sending for a short doubling delay; an accepted one resets it."""
    backoff = ThrottleBackoff(pause_min=0.05, pause_max=5.0)
    backoff.throttled(0.0)
    assert backoff.wait(0.0) == 0.05
    backoff.throttled(0.05)
    assert abs(backoff.wait(0.05) - 0.1) < 1e-9
    for _ in range(20):
        backoff.throttled(0.0)
    assert backoff.wait(0.0) <= 5.0
    backoff.accepted()
    backoff.throttled(100.0)
    assert abs(backoff.wait(100.0) - 0.05) < 1e-9
