"""Written requests to customer care, on either database (``gateway.store.port.Care``).

One implementation for both adapters: the statements are written once, with
``?`` placeholders, and the few differences (placeholders, how an instant
and a day are stored) are the flavour's (``gateway.store.portable``). The
status changes are conditional updates (``WHERE status = 'open'``): whoever
settles a case first does, and the other is told it was settled already.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

from gateway.store.port import ComplaintRow, DisputeRow, NumberChangeRow, StatementRow
from gateway.store.portable import SqliteFlavour

_DISPUTE = (
    "SELECT d.id, d.reference, d.subscriber_id, s.msisdn, s.language, d.bill_id, d.period_start, "
    "d.period_end, d.amount_minor, d.reason, d.channel, d.raised_at, d.due_at, d.status, d.other_provider, "
    "d.credit_minor, d.final_minor, d.late, d.note, d.resolved_at "
    "FROM disputes d JOIN subscribers s ON s.id = d.subscriber_id"
)
_COMPLAINT = (
    "SELECT c.id, c.reference, c.subscriber_id, s.msisdn, s.language, c.text, c.channel, c.received_at, "
    "c.status, c.note, c.closed_at FROM complaints c JOIN subscribers s ON s.id = c.subscriber_id"
)


class CareSql(SqliteFlavour):
    """The ``Care`` repository over something that runs ``?`` statements (the SQLite flavour)."""

    __slots__ = ()

    # --- the repository -----------------------------------------------------------

    def reference_taken(self, reference: str) -> bool:
        return self._run(
            "SELECT 1 FROM statements WHERE reference = ? UNION ALL SELECT 1 FROM disputes WHERE reference = ? "
            "UNION ALL SELECT 1 FROM complaints WHERE reference = ? "
            "UNION ALL SELECT 1 FROM number_changes WHERE reference = ?", (reference,) * 4,
        ).fetchone() is not None

    def statement_of_bill(self, bill_id: int) -> StatementRow | None:
        row = self._run("SELECT reference, bill_id, charge_minor, lines, asked_at FROM statements "
                        "WHERE bill_id = ?", (bill_id,)).fetchone()
        if row is None:
            return None
        asked = self._read_instant(row["asked_at"])
        assert asked is not None
        return StatementRow(row["reference"], row["bill_id"], row["charge_minor"], row["lines"], asked)

    def pending_statement_charges(self, subscriber_id: int) -> int:
        row = self._run("SELECT COALESCE(SUM(charge_minor), 0) AS total FROM statements "
                        "WHERE subscriber_id = ? AND billed_bill_id IS NULL", (subscriber_id,)).fetchone()
        return int(row["total"])

    def bill_statement_charges(self, subscriber_id: int, bill_id: int) -> None:
        self._run("UPDATE statements SET billed_bill_id = ? WHERE subscriber_id = ? AND billed_bill_id IS NULL",
                  (bill_id, subscriber_id))

    def add_statement(self, *, reference: str, subscriber_id: int, bill_id: int, charge_minor: int,
                      lines: int, channel: str, now: datetime) -> None:
        self._run("INSERT INTO statements (reference, subscriber_id, bill_id, charge_minor, lines, channel, "
                  "asked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (reference, subscriber_id, bill_id, charge_minor, lines, channel, self._instant(now)))

    def dispute_of_bill(self, bill_id: int) -> DisputeRow | None:
        row = self._run(_DISPUTE + " WHERE d.bill_id = ?", (bill_id,)).fetchone()
        return None if row is None else self._dispute(row)

    def add_dispute(self, *, reference: str, subscriber_id: int, bill_id: int, period_start: date,
                    period_end: date, amount_minor: int, reason: str, channel: str, now: datetime,
                    due_at: datetime) -> None:
        self._run(
            "INSERT INTO disputes (reference, subscriber_id, bill_id, period_start, period_end, amount_minor, "
            "reason, channel, raised_at, due_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')",
            (reference, subscriber_id, bill_id, self._day(period_start), self._day(period_end), amount_minor,
             reason, channel, self._instant(now), self._instant(due_at)),
        )

    def dispute(self, reference: str) -> DisputeRow | None:
        row = self._run(_DISPUTE + " WHERE d.reference = ?", (reference,)).fetchone()
        return None if row is None else self._dispute(row)

    def disputes(self, *, open_only: bool, subscriber_id: int | None = None) -> list[DisputeRow]:
        where, params = self._filter("d", open_only, subscriber_id)
        return [self._dispute(row) for row in self._run(_DISPUTE + where + " ORDER BY d.id", params)]

    def resolve_dispute(self, dispute_id: int, *, status: str, other_provider: bool, credit_minor: int,
                        final_minor: int, late: bool, note: str | None, now: datetime) -> bool:
        return bool(self._run(
            "UPDATE disputes SET status = ?, other_provider = ?, credit_minor = ?, final_minor = ?, late = ?, "
            "note = ?, resolved_at = ? WHERE id = ? AND status = 'open'",
            (status, int(other_provider), credit_minor, final_minor, int(late), note, self._instant(now),
             dispute_id),
        ).rowcount == 1)

    def add_complaint(self, *, reference: str, subscriber_id: int, text: str, channel: str,
                      now: datetime) -> None:
        self._run("INSERT INTO complaints (reference, subscriber_id, text, channel, received_at, status) "
                  "VALUES (?, ?, ?, ?, ?, 'open')", (reference, subscriber_id, text, channel, self._instant(now)))

    def complaint(self, reference: str) -> ComplaintRow | None:
        row = self._run(_COMPLAINT + " WHERE c.reference = ?", (reference,)).fetchone()
        return None if row is None else self._complaint(row)

    def complaints(self, *, open_only: bool, subscriber_id: int | None = None) -> list[ComplaintRow]:
        where, params = self._filter("c", open_only, subscriber_id)
        return [self._complaint(row) for row in self._run(_COMPLAINT + where + " ORDER BY c.id", params)]

    def close_complaint(self, complaint_id: int, note: str, now: datetime) -> bool:
        return bool(self._run(
            "UPDATE complaints SET status = 'closed', note = ?, closed_at = ? WHERE id = ? AND status = 'open'",
            (note, self._instant(now), complaint_id),
        ).rowcount == 1)

    def open_number_change(self, subscriber_id: int) -> NumberChangeRow | None:
        row = self._run("SELECT reference, requested_at, status FROM number_changes "
                        "WHERE subscriber_id = ? AND status = 'open' ORDER BY id DESC LIMIT 1",
                        (subscriber_id,)).fetchone()
        if row is None:
            return None
        at = self._read_instant(row["requested_at"])
        assert at is not None
        return NumberChangeRow(row["reference"], at, row["status"])

    def add_number_change(self, *, reference: str, subscriber_id: int, channel: str, now: datetime) -> None:
        self._run("INSERT INTO number_changes (reference, subscriber_id, channel, requested_at, status) "
                  "VALUES (?, ?, ?, ?, 'open')", (reference, subscriber_id, channel, self._instant(now)))

    # --- rows -----------------------------------------------------------------------

    @staticmethod
    def _filter(alias: str, open_only: bool, subscriber_id: int | None) -> tuple[str, tuple[Any, ...]]:
        clauses, params = [], []
        if open_only:
            clauses.append(f"{alias}.status = 'open'")
        if subscriber_id is not None:
            clauses.append(f"{alias}.subscriber_id = ?")
            params.append(subscriber_id)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def _dispute(self, row: Any) -> DisputeRow:
        raised, due = self._read_instant(row["raised_at"]), self._read_instant(row["due_at"])
        assert raised is not None and due is not None
        return DisputeRow(
            dispute_id=row["id"], reference=row["reference"], subscriber_id=row["subscriber_id"],
            msisdn=row["msisdn"], language=row["language"], bill_id=row["bill_id"],
            period_start=self._on(row["period_start"]), period_end=self._on(row["period_end"]),
            amount_minor=row["amount_minor"], reason=row["reason"], channel=row["channel"],
            raised_at=raised, due_at=due, status=row["status"],
            other_provider=None if row["other_provider"] is None else bool(row["other_provider"]),
            credit_minor=row["credit_minor"], final_minor=row["final_minor"],
            late=None if row["late"] is None else bool(row["late"]), note=row["note"],
            resolved_at=self._read_instant(row["resolved_at"]),
        )

    def _complaint(self, row: Any) -> ComplaintRow:
        received = self._read_instant(row["received_at"])
        assert received is not None
        return ComplaintRow(
            complaint_id=row["id"], reference=row["reference"], subscriber_id=row["subscriber_id"],
            msisdn=row["msisdn"], language=row["language"], text=row["text"], channel=row["channel"],
            received_at=received, status=row["status"], note=row["note"],
            closed_at=self._read_instant(row["closed_at"]),
        )


class SqliteCare(CareSql):
    """On a SQLite connection: instants as UTC ISO text, days as ISO dates."""

    __slots__ = ()

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
