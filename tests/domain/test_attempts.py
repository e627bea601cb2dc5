"""Rule 6: five wrong PINs within 24 hours lock top-up for 24 hours."""

from datetime import UTC, datetime, timedelta

from gateway.domain.attempts import after_failure, count_failures_since, is_locked

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_fifth_failure_locks_for_the_lockout(policy):
    """Attempts left count down; the fifth failure earns a lock of 24 hours."""
    limit = policy.pin_attempts
    assert [after_failure(n, NOW, limit).attempts_left for n in range(1, 5)] == [4, 3, 2, 1]
    state = after_failure(5, NOW, limit)
    assert state.attempts_left == 0 and state.locked_until == NOW + timedelta(hours=24)
    assert is_locked(state.locked_until, NOW + timedelta(hours=23, minutes=59))
    assert not is_locked(state.locked_until, NOW + timedelta(hours=24))


def test_failures_count_in_the_window_and_after_the_last_lock(policy):
    """Old failures and failures before a served lock no longer count."""
    limit = policy.pin_attempts
    assert count_failures_since(NOW, None, limit) == NOW - timedelta(hours=24)
    lock_end = NOW - timedelta(hours=1)
    assert count_failures_since(NOW, lock_end, limit) == lock_end
