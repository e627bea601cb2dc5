"""Rule 5: the SIM life cycle after expiry (000 "SIM Card LifeCycle")."""

from datetime import UTC, datetime, timedelta

from gateway.domain.lifecycle import LineState, line_state, next_deadline, recycle_at

EXP = datetime(2026, 12, 1, tzinfo=UTC)


def test_states_follow_the_60_and_30_day_periods(policy):
    """Active until expiry, outgoing barred 60 days, fully barred 30 more, then recycled."""
    day = timedelta(days=1)
    assert line_state(EXP, EXP - day, policy) is LineState.ACTIVE
    assert line_state(EXP, EXP, policy) is LineState.OUTGOING_BARRED
    assert line_state(EXP, EXP + 60 * day - timedelta(seconds=1), policy) is LineState.OUTGOING_BARRED
    assert line_state(EXP, EXP + 60 * day, policy) is LineState.FULLY_BARRED
    assert line_state(EXP, EXP + 90 * day - timedelta(seconds=1), policy) is LineState.FULLY_BARRED
    assert line_state(EXP, EXP + 90 * day, policy) is LineState.RECYCLED
    assert recycle_at(EXP, policy) == EXP + 90 * day


def test_no_expiry_means_active(policy):
    """A line without an Active Period (postpaid) is never barred by expiry."""
    assert line_state(None, EXP + timedelta(days=1000), policy) is LineState.ACTIVE
    assert next_deadline(None, EXP, policy) is None


def test_next_deadline_is_the_next_change(policy):
    """The deadline shown to the subscriber is when the state next gets worse."""
    assert next_deadline(EXP, EXP - timedelta(days=1), policy) == EXP
    assert next_deadline(EXP, EXP + timedelta(days=1), policy) == EXP + timedelta(days=60)
    assert next_deadline(EXP, EXP + timedelta(days=61), policy) == EXP + timedelta(days=90)
    assert next_deadline(EXP, EXP + timedelta(days=91), policy) is None
