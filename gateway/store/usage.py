"""SQLite: usage records, the bulk writes of ``usage import``, and line activity.

``save_accounts`` writes bucket columns and their ledger rows in one batch,
as ``gateway.store.accounts.save_account`` does for one line: the invariant
``sum(ledger) == bucket`` holds for every change it is given. It handles only
lots that are already stored (a usage debit never creates one).

Activity (``note``) is the hot path's one write: a conditional UPDATE that
matches nothing when the line's activity of that local day is recorded
already, so a line costs one row write a day however much it is used.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gateway.domain.account import Account, LedgerEntry
from gateway.domain.money import Currency
from gateway.store import accounts as accounts_sql
from gateway.store.port import DuplicateUsage, RatedUsage, SubscriberRecord, UsageLine
from gateway.store.times import iso

#: Host parameters per ``IN (...)`` (SQLite's default limit is far above; statements stay short).
_IN_CHUNK = 500

_NOT_LOST = (" AND NOT EXISTS (SELECT 1 FROM lost_reports l WHERE l.subscriber_id = s.id"
             " AND l.resolved_at IS NULL)")



def ledger_rows(changes: Sequence[tuple[int, Account, list[LedgerEntry]]], recorded: Any, channel: str,
                moment: Callable[[datetime], Any]) -> tuple[list[tuple[Any, ...]], dict[int, int]]:
    """The ledger rows of ``changes`` and what they move on each promo lot, for a bulk write by
    either adapter (``moment``: how that adapter stores a time)."""
    ledger = []
    lots: dict[int, int] = {}
    for sid, _, entries in changes:
        for entry in entries:
            lot_id = None
            if entry.lot is not None:
                lot_id = entry.lot.lot_id
                if lot_id is None:
                    raise ValueError("save_accounts takes stored promo lots only")
                lots[lot_id] = lots.get(lot_id, 0) + entry.delta.minor
            ledger.append((sid, entry.bucket.value, lot_id, entry.delta.minor, entry.kind.value,
                           moment(entry.at), recorded, entry.reference, channel))
    return ledger, lots


class SqliteUsage:
    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def next_id(self) -> int:
        return int(self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM usage_records").fetchone()[0]) + 1

    def load_live_many(self, msisdns: Sequence[str], currency: Currency) -> dict[str, SubscriberRecord]:
        found: dict[str, SubscriberRecord] = {}
        for start in range(0, len(msisdns), _IN_CHUNK):
            chunk = list(msisdns[start:start + _IN_CHUNK])
            marks = ", ".join("?" * len(chunk))
            for row in self._conn.execute(
                accounts_sql._SELECT_RECORD + f"WHERE s.msisdn IN ({marks}) AND s.status = 'live'", chunk
            ):
                record = accounts_sql._record(self._conn, row, currency)
                found[record.msisdn] = record
        return found

    def record_many(self, records: Sequence[RatedUsage], now: datetime) -> None:
        """Raises: DuplicateUsage (the rows before the repeated one went in: roll back)."""
        stamp = iso(now)
        try:
            self._conn.executemany(
                "INSERT INTO usage_records (id, subscriber_id, msisdn, started_at, kind, quantity, units, "
                "charge_minor, charged_minor, outcome, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(u.line.record_id, u.subscriber_id, u.msisdn, iso(u.line.started_at), u.line.kind, u.line.quantity,
                  u.line.units, u.line.charge_minor, u.line.charged_minor, u.line.outcome, stamp) for u in records],
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateUsage(str(exc)) from exc

    def seen(self, msisdn: str, started_at: datetime, kind: str, quantity: int) -> tuple[int, datetime] | None:
        row = self._conn.execute(
            "SELECT id, imported_at FROM usage_records WHERE msisdn = ? AND started_at = ? AND kind = ? "
            "AND quantity = ?", (msisdn, iso(started_at), kind, quantity),
        ).fetchone()
        return None if row is None else (int(row[0]), datetime.fromisoformat(row[1]))

    def save_accounts(self, changes: Sequence[tuple[int, Account, list[LedgerEntry]]], *, now: datetime,
                      channel: str) -> None:
        ledger, lots = ledger_rows(changes, iso(now), channel, iso)
        self._conn.executemany(
            "INSERT INTO ledger (subscriber_id, bucket, promo_lot_id, delta_minor, kind, at, "
            "recorded_at, reference, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ledger,
        )
        self._conn.executemany("UPDATE promo_lots SET amount_minor = amount_minor + ? WHERE id = ?",
                               [(delta, lot_id) for lot_id, delta in lots.items() if delta])
        self._conn.executemany(
            "UPDATE subscribers SET main_minor = ?, main_expires_at = ?, restorable_minor = ?, "
            "restorable_until = ? WHERE id = ?",
            [(a.main.minor, iso(a.main_expires_at), a.restorable.minor, iso(a.restorable_until), sid)
             for sid, a, entries in changes if entries],
        )

    def note_used(self, used: Sequence[tuple[int, datetime]]) -> None:
        """Lines used at a known time (imported usage): ``last_active_at`` moves forward only."""
        self._conn.executemany(
            "UPDATE subscribers SET last_active_at = ?1 WHERE id = ?2 AND deactivated_at IS NULL "
            "AND (last_active_at IS NULL OR last_active_at < ?1)",
            [(iso(at), sid) for sid, at in used],
        )

    def lines(self, subscriber_id: int, start: datetime, end: datetime) -> list[UsageLine]:
        """The line's records started in ``[start, end)``, oldest first."""
        return [
            UsageLine(row[0], datetime.fromisoformat(row[1]), row[2], row[3], row[4], row[5], row[6], row[7])
            for row in self._conn.execute(
                "SELECT id, started_at, kind, quantity, units, charge_minor, charged_minor, outcome "
                "FROM usage_records WHERE subscriber_id = ? AND started_at >= ? AND started_at < ? "
                "ORDER BY started_at, id", (subscriber_id, iso(start), iso(end)),
            )
        ]


    def bill_records(self, subscriber_id: int, bill_id: int, until: datetime) -> int:
        where = ("WHERE subscriber_id = ? AND outcome = 'unbilled' AND bill_id IS NULL AND started_at < ?")
        params = (subscriber_id, iso(until))
        total = self._conn.execute(f"SELECT COALESCE(SUM(charged_minor), 0) FROM usage_records {where}",
                                   params).fetchone()[0]
        self._conn.execute(f"UPDATE usage_records SET bill_id = ? {where}", (bill_id, *params))
        return int(total)


class SqliteActivity:
    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def note(self, msisdns: Sequence[str], now: datetime, day_start: datetime) -> int:
        """Activity at ``now`` on live, not deactivated lines not yet noted since ``day_start``."""
        stamp, since = iso(now), iso(day_start)
        cur = self._conn.executemany(
            "UPDATE subscribers SET last_active_at = ? WHERE msisdn = ? AND status = 'live' "
            "AND deactivated_at IS NULL AND (last_active_at IS NULL OR last_active_at < ?)",
            [(stamp, msisdn, since) for msisdn in msisdns],
        )
        return int(cur.rowcount)

    def due_for_deactivation(self, before: datetime) -> list[str]:
        """Live lines not deactivated whose last activity (else creation) is before ``before``."""
        return [row[0] for row in self._conn.execute(
            "SELECT msisdn FROM subscribers WHERE status = 'live' AND deactivated_at IS NULL "
            "AND COALESCE(last_active_at, created_at) < ?", (iso(before),),
        )]

    def due_for_release(self, before: datetime) -> list[str]:
        return [row[0] for row in self._conn.execute(
            "SELECT msisdn FROM subscribers WHERE status = 'live' AND deactivated_at < ?", (iso(before),),
        )]

    def due_for_deactivation_reminder(self, kind: str, before: datetime) -> list[str]:
        """As ``due_for_deactivation``, not reported lost, without a ``kind`` reminder for this activity."""
        return [row[0] for row in self._conn.execute(
            "SELECT s.msisdn FROM subscribers s WHERE s.status = 'live' AND s.deactivated_at IS NULL "
            "AND COALESCE(s.last_active_at, s.created_at) < ?" + _NOT_LOST
            + " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.subscriber_id = s.id AND r.kind = ?"
            " AND r.cycle = COALESCE(s.last_active_at, s.created_at))", (iso(before), kind),
        )]

    def due_for_release_reminder(self, kind: str, before: datetime) -> list[str]:
        return [row[0] for row in self._conn.execute(
            "SELECT s.msisdn FROM subscribers s WHERE s.status = 'live' AND s.deactivated_at < ?" + _NOT_LOST
            + " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.subscriber_id = s.id AND r.kind = ?"
            " AND r.cycle = s.deactivated_at)", (iso(before), kind),
        )]

    def deactivate(self, subscriber_id: int, at: datetime) -> None:
        self._conn.execute("UPDATE subscribers SET deactivated_at = ? WHERE id = ?", (iso(at), subscriber_id))

    def reactivate(self, subscriber_id: int, now: datetime) -> None:
        self._conn.execute("UPDATE subscribers SET deactivated_at = NULL, last_active_at = ? WHERE id = ?",
                           (iso(now), subscriber_id))

    def release(self, subscriber_id: int, at: datetime) -> None:
        """The number is given up unclaimed: the row keeps its history (status ``expired``)."""
        self._conn.execute("UPDATE subscribers SET status = 'expired', recycled_at = ? WHERE id = ?",
                           (iso(at), subscriber_id))
