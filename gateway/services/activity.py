"""Activity on a line (a USSD dialogue, an MO SMS), noted cheaply for the inactivity rule.

The channels call ``note(msisdn)`` on every dialogue and message: it costs a
dictionary lookup, and only the first activity of a line on a local day is
kept for writing. ``flush()`` (the ``serve`` job, and at shutdown) writes the
kept ones in one statement that touches only lines not yet noted that day,
so each line costs at most one row write a day whichever process saw it.
What a crash loses is the activity of the last flush interval, for a rule
that counts six months.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

from gateway.services.ports import Context

#: The lines remembered as noted today, at most (then the memory starts again).
MEMORY = 200_000


class ActivityLog:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._tz = ctx.profile.time_zone
        self._day: object = None
        self._day_start: datetime | None = None
        self._day_end = datetime.min.replace(tzinfo=UTC)
        self._noted: set[str] = set()
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def note(self, msisdn: str, now: datetime | None = None) -> None:
        """``msisdn`` was used at ``now`` (default: the clock's time)."""
        now = now or self._ctx.clock.now()
        if not (self._day_start is not None and self._day_start <= now < self._day_end):
            day = now.astimezone(self._tz).date()
            with self._lock:
                self._day = day
                self._day_start = datetime.combine(day, time(), self._tz).astimezone(UTC)
                self._day_end = datetime.combine(day + timedelta(days=1), time(), self._tz).astimezone(UTC)
                self._noted.clear()
        if msisdn in self._noted:
            return
        with self._lock:
            if len(self._noted) >= MEMORY:
                self._noted.clear()
            self._noted.add(msisdn)
            self._pending.add(msisdn)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self, now: datetime | None = None) -> int:
        """Write the lines noted since the last flush; returns how many rows changed."""
        if not self._pending:
            return 0
        with self._lock:
            batch, self._pending = sorted(self._pending), set()
            day_start = self._day_start
        now = now or self._ctx.clock.now()
        if day_start is None or now < day_start:
            day_start = datetime.combine(now.astimezone(self._tz).date(), time(), self._tz).astimezone(UTC)
        try:
            with self._ctx.store.write_uow(durable=False) as uow:
                return uow.activity.note(batch, now, day_start)
        except BaseException:
            with self._lock:
                self._pending.update(batch)  # written with the next flush
            raise
