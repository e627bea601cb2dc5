"""The inactivity life cycle of a line (``seeds/004_1cabed6f540fdada.txt`` 3(B).12).

"if subscribers is unable to use the mobile SIM for six months continuously,
the Mobile number SIM will be automatically deactivated ... can be reissued
within 180 days ... if the subscriber doesn't claim the number within the
specified timeframe ... the same number can be issued to a new customer."

Activity is kept a day at a time (the first activity of a local day is
recorded, later ones that day are not), so the rule counts in local days:
a line last used on day D (at any time of it) has been unused for six months
at the end of D + 6 months, and is deactivated at the start of the next day
in the operator's time zone, never a moment early. The reissue window runs
``reissue_days`` local days from the deactivation; at its end the number
expires. A month is a calendar month; a day past the end of the target month
is its last day (31 August + 6 months = end of February).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from gateway.domain.money import Money


@dataclass(frozen=True)
class InactivityRule:
    #: 3(B).12 "six months continuously".
    inactive_months: int
    #: 3(B).12 "reissued within 180 days".
    reissue_days: int
    #: 3(B).12 "upon payment of a specified fees" (the terms give no amount: profile data).
    reissue_fee: Money
    #: SMS this many days before each step (deactivation, expiry), largest first; each once.
    reminder_days: tuple[int, ...]
    time_zone: tzinfo


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def deactivation_at(active_since: datetime, rule: InactivityRule) -> datetime:
    """When a line last active at ``active_since`` is deactivated unless used again."""
    day = active_since.astimezone(rule.time_zone).date()
    return _local_midnight(add_months(day, rule.inactive_months) + timedelta(days=1), rule.time_zone)


def expiry_at(deactivated_at: datetime, rule: InactivityRule) -> datetime:
    """The end of the reissue window: the number expires unclaimed."""
    day = deactivated_at.astimezone(rule.time_zone).date()
    return _local_midnight(day + timedelta(days=rule.reissue_days), rule.time_zone)


def earliest_deactivation_cutoff(now: datetime, rule: InactivityRule) -> datetime:
    """Every line deactivated by ``now`` was last active before this (a bound for the store's query)."""
    return now - timedelta(days=28 * rule.inactive_months - 1)


def earliest_expiry_cutoff(now: datetime, rule: InactivityRule) -> datetime:
    """Every line that expired by ``now`` was deactivated before this."""
    return now - timedelta(days=rule.reissue_days - 2)


def reminder_due(deadline: datetime, now: datetime, reminder_days: tuple[int, ...]) -> int | None:
    """Which reminder (days ahead) is due at ``now`` before ``deadline``, if any.

    The one whose window ``[deadline - d, deadline - next smaller d)`` holds
    ``now``: a job that ran late sends the nearest reminder, not every one it
    missed.
    """
    if now >= deadline:
        return None
    offsets = sorted(set(reminder_days), reverse=True)
    for index, days in enumerate(offsets):
        nearer = offsets[index + 1] if index + 1 < len(offsets) else 0
        if deadline - timedelta(days=days) <= now < deadline - timedelta(days=nearer):
            return days
    return None
