"""The SIM life cycle of a prepaid line after its funds expire.

``seeds/000_bae17f1119540322.txt``, "SIM Card LifeCycle": after the validity
of the last top-up expires, outgoing services are blocked for 60 days; with no
top-up in that time, incoming and outgoing are blocked for 30 days; with no
top-up then either, the number is recycled (90 consecutive days in all).

The state is a function of the main balance's expiry and the time, so it is
never stored stale: a top-up that moves the expiry into the future makes the
line active again by itself. Only recycling is a write (the account closes).
Postpaid lines have no Active Period and stay active here (their own state,
``discontinued``, is ``gateway.domain.postpaid``'s). A profile whose life cycle
is not expiry-driven (``InactivityLifecycle``, 004 3(B).12) is never barred
by an expiry.
"""

from __future__ import annotations

import enum
from datetime import datetime

from gateway.domain.policy import ExpiryLifecycle, Policy


class LineState(enum.StrEnum):
    ACTIVE = "active"
    OUTGOING_BARRED = "outgoing_barred"
    FULLY_BARRED = "fully_barred"
    RECYCLED = "recycled"
    #: 004 3(B).12 (profiles with an ``InactivityLifecycle``).
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"
    #: 004 7.7: a postpaid line whose dues passed the deposit rule.
    DISCONTINUED = "discontinued"


def _expiry(policy: Policy) -> ExpiryLifecycle | None:
    return policy.lifecycle if isinstance(policy.lifecycle, ExpiryLifecycle) else None


def line_state(expires_at: datetime | None, now: datetime, policy: Policy) -> LineState:
    cycle = _expiry(policy)
    if expires_at is None or now < expires_at or cycle is None:
        return LineState.ACTIVE
    if now < expires_at + cycle.outgoing_barred:
        return LineState.OUTGOING_BARRED
    if now < recycle_at(expires_at, policy):
        return LineState.FULLY_BARRED
    return LineState.RECYCLED


def fully_barred_at(expires_at: datetime, policy: Policy) -> datetime:
    cycle = _expiry(policy)
    assert cycle is not None, "an expiry life cycle only"
    return expires_at + cycle.outgoing_barred


def recycle_at(expires_at: datetime, policy: Policy) -> datetime:
    """The moment the number is recycled unless it is topped up before."""
    cycle = _expiry(policy)
    assert cycle is not None, "an expiry life cycle only"
    return expires_at + cycle.outgoing_barred + cycle.fully_barred


def next_deadline(expires_at: datetime | None, now: datetime, policy: Policy) -> datetime | None:
    """When the line's state changes next without a top-up (None: never)."""
    if expires_at is None or _expiry(policy) is None:
        return None
    for moment in (expires_at, fully_barred_at(expires_at, policy), recycle_at(expires_at, policy)):
        if now < moment:
            return moment
    return None
