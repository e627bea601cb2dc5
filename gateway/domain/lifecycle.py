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
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol

from gateway.domain.inactivity import InactivityRule, deactivation_at, expiry_at
from gateway.domain.policy import ExpiryLifecycle, InactivityLifecycle, Policy


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


# --- which life cycle a profile has -------------------------------------------------
#
# A profile's lines follow one of two life cycles, chosen by its data
# (``[lifecycle] kind``, the ``policy.lifecycle`` value): ``ExpiryCycle``
# (000, above: a prepaid line is barred and recycled after its funds expire)
# or ``InactivityCycle`` (004 3(B).12, ``gateway.domain.inactivity``: any
# line is deactivated after six months unused and expires unclaimed). The
# services ask the profile's object (``line_cycle``); none asks which profile it is.


@dataclass(frozen=True)
class LineFacts:
    """What a line's state is computed from."""

    type: str
    main_expires_at: datetime | None
    #: The last activity, else when the line was added.
    active_since: datetime
    #: When it was deactivated (inactivity life cycle; None: not recorded as such).
    deactivated_at: datetime | None = None


#: States in which the number is (about to be) given up: nothing more is done on it.
GONE = frozenset({LineState.RECYCLED, LineState.EXPIRED})

#: States in which the network carries traffic for the line (incoming calls while outgoing is barred).
CARRIED = frozenset({LineState.ACTIVE, LineState.OUTGOING_BARRED})


class LineLifecycle(Protocol):
    @property
    def recycles_on_expiry(self) -> bool:
        """Prepaid funds running out ends the line (barring, then recycling)."""
        ...

    @property
    def inactivity(self) -> InactivityRule | None:
        """The inactivity rule, when the profile has one."""
        ...

    def state(self, line: LineFacts, now: datetime) -> LineState: ...

    def next_deadline(self, line: LineFacts, now: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class ExpiryCycle:
    policy: Policy
    recycles_on_expiry: bool = True
    inactivity: InactivityRule | None = None

    def state(self, line: LineFacts, now: datetime) -> LineState:
        return line_state(line.main_expires_at if line.type == "prepaid" else None, now, self.policy)

    def next_deadline(self, line: LineFacts, now: datetime) -> datetime | None:
        return next_deadline(line.main_expires_at if line.type == "prepaid" else None, now, self.policy)


@dataclass(frozen=True)
class InactivityCycle:
    rule: InactivityRule
    recycles_on_expiry: bool = False

    @property
    def inactivity(self) -> InactivityRule | None:
        return self.rule

    def _moments(self, line: LineFacts) -> tuple[datetime, datetime]:
        deactivated = line.deactivated_at or deactivation_at(line.active_since, self.rule)
        return deactivated, expiry_at(deactivated, self.rule)

    def state(self, line: LineFacts, now: datetime) -> LineState:
        deactivated, expires = self._moments(line)
        if now < deactivated:
            return LineState.ACTIVE
        return LineState.DEACTIVATED if now < expires else LineState.EXPIRED

    def next_deadline(self, line: LineFacts, now: datetime) -> datetime | None:
        for moment in self._moments(line):
            if now < moment:
                return moment
        return None


def line_cycle(policy: Policy, time_zone: tzinfo) -> LineLifecycle:
    """The behaviour of the life cycle ``policy.lifecycle`` describes."""
    data = policy.lifecycle
    if isinstance(data, InactivityLifecycle):
        return InactivityCycle(InactivityRule(data.inactive_months, data.reissue_window.days, data.reissue_fee,
                                              data.reminder_days, time_zone))
    return ExpiryCycle(policy)
