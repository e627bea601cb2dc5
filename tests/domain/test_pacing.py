"""The one token bucket and the one doubling delay: time comes in, delays go out."""

from __future__ import annotations

import pytest

from gateway.domain.pacing import Backoff, TokenBucket, doubled


def test_a_bucket_lets_its_capacity_through_at_once_then_its_rate() -> None:
    bucket = TokenBucket(10.0, 3.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.1)  # (none taken)
    assert bucket.take(0.1) == 0.0
    assert bucket.level(100.0) == 3.0  # (never more than its capacity)


def test_a_bucket_in_debt_repays_it_at_its_rate() -> None:
    bucket = TokenBucket(1.0, 5.0, now=0.0)
    bucket.tokens = -2.0
    assert bucket.take(0.0) == pytest.approx(3.0)
    assert bucket.take(3.0) == 0.0


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0.0, 1.0, now=0.0)


def test_the_delay_doubles_per_failure_up_to_its_cap_and_a_success_resets_it() -> None:
    backoff = Backoff(0.5, 3.0)
    assert [backoff.failed() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.delay == 0.5
    assert doubled(1.0, 10_000, 300.0) == 300.0  # (no overflow, however many failures)
