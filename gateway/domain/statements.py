"""Detailed bill statements: when one is owed (004 clause 7.6).

``seeds/004_1cabed6f540fdada.txt`` clause 7.6: "such detail bill statement
shall be made available on payment of the charge. If detail bill statement
is asked for a period prior to 45 days or detail bill statement is asked
after 15 days of receipt of the bill statement, Smart shall not be obliged
to provide with detail bill statement."

Days are the operator's local days (the profile's time zone): a bill's
``period_end`` and ``issued_on`` are local dates, and "today" is the local
date of ``now``. A period that ended on day E may be asked for through day
E + 45; a bill issued (received) on day I through day I + 15 (the same
counting as the payment term of clause 7.4). The first day after either is
refused, with the reason and the last day it was possible.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TypeVar

from gateway.domain.care import StatementPolicy
from gateway.domain.errors import StatementRefused

T = TypeVar("T")


class StatementRefusal(enum.StrEnum):
    #: The bill's period ended more than ``max_period_age`` ago.
    PERIOD_TOO_OLD = "period_too_old"
    #: Asked more than ``max_after_issue`` after the bill was received.
    ASKED_TOO_LATE = "asked_too_late"


def check_statement(period_end: date, issued_on: date, now: datetime, tz: tzinfo,
                    policy: StatementPolicy) -> None:
    """Refuse a detailed statement of a bill the operator no longer owes one for.

    Raises:
        StatementRefused: ``reason`` a ``StatementRefusal``, ``last_day`` the last local day it was owed.
    """
    today = now.astimezone(tz).date()
    last_for_period = period_end + policy.max_period_age
    if today > last_for_period:
        raise StatementRefused(StatementRefusal.PERIOD_TOO_OLD.value, last_for_period)
    last_after_issue = issued_on + policy.max_after_issue
    if today > last_after_issue:
        raise StatementRefused(StatementRefusal.ASKED_TOO_LATE.value, last_after_issue)


def period_bounds(period_start: date, period_end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instants ``[from, until)`` of a bill period of local days (start 00:00 to the day after the end)."""
    start = datetime.combine(period_start, time(0), tz)
    until = datetime.combine(period_end + timedelta(days=1), time(0), tz)
    return start, until


def chunks(lines: Sequence[T], size: int) -> list[list[T]]:
    """``lines`` in messages of at most ``size`` (at least one message, even for no lines)."""
    size = max(size, 1)
    return [list(lines[i:i + size]) for i in range(0, len(lines), size)] or [[]]
