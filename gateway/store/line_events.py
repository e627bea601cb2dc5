"""What a subscriber did to a line, on either database: lost-SIM reports and marketing consent changes.

One implementation for both adapters (``gateway.store.portable``). Every
attempt at a lost-SIM report is recorded (the mismatches count towards the
lockout, ``gateway.store.locks``); every consent change keeps its event row.
"""

from __future__ import annotations

from datetime import datetime

from gateway.store.portable import SqliteFlavour


class LostReportsSql(SqliteFlavour):
    """``port.LostReports`` in the SQLite flavour (``PgFlavour`` before it: the PostgreSQL one)."""

    __slots__ = ()

    def record_attempt(self, reporter: str, target: str, now: datetime, outcome: str, channel: str) -> None:
        self._run("INSERT INTO lost_attempts (reporter_msisdn, target_msisdn, at, outcome, channel) "
                  "VALUES (?, ?, ?, ?, ?)", (reporter, target, self._instant(now), outcome, channel))

    def reference_taken(self, reference: str) -> bool:
        return self._run("SELECT 1 FROM lost_reports WHERE reference = ?", (reference,)).fetchone() is not None

    def open(self, subscriber_id: int, reference: str, now: datetime, reporter: str, channel: str) -> None:
        self._run("INSERT INTO lost_reports (subscriber_id, reference, reported_at, reporter_msisdn, channel) "
                  "VALUES (?, ?, ?, ?, ?)", (subscriber_id, reference, self._instant(now), reporter, channel))

    def resolve(self, subscriber_id: int, now: datetime) -> None:
        self._run("UPDATE lost_reports SET resolved_at = ? WHERE subscriber_id = ? AND resolved_at IS NULL",
                  (self._instant(now), subscriber_id))


class ConsentSql(SqliteFlavour):
    """``port.Consent`` in the SQLite flavour (``PgFlavour`` before it: the PostgreSQL one)."""

    __slots__ = ()

    def set_opt_in(self, subscriber_id: int, opt_in: bool, now: datetime, channel: str) -> None:
        """The subscriber's choice and its event row (when, by which channel)."""
        self._run("UPDATE subscribers SET marketing_opt_in = ? WHERE id = ?", (int(opt_in), subscriber_id))
        self._run("INSERT INTO consent_events (subscriber_id, opt_in, at, channel) VALUES (?, ?, ?, ?)",
                  (subscriber_id, int(opt_in), self._instant(now), channel))

    def last_change(self, subscriber_id: int) -> tuple[datetime, str] | None:
        row = self._run("SELECT at, channel FROM consent_events WHERE subscriber_id = ? ORDER BY id DESC LIMIT 1",
                        (subscriber_id,)).fetchone()
        return None if row is None else (self._when(row["at"]), str(row["channel"]))

    def history(self, subscriber_id: int) -> list[tuple[bool, str, datetime]]:
        """Every marketing consent change of the subscriber as (opt_in, channel, at), newest first."""
        return [(bool(row["opt_in"]), str(row["channel"]), self._when(row["at"])) for row in self._run(
            "SELECT opt_in, channel, at FROM consent_events WHERE subscriber_id = ? ORDER BY id DESC",
            (subscriber_id,),
        ).fetchall()]
