"""PostgreSQL: usage records, the bulk writes of ``usage import``, and line activity.

The same repositories as ``gateway.store.usage`` (read its docstring for the
rules). ``load_live_many`` locks the lines it loads inside a write
transaction, as ``load_live`` does, so a top-up on one of them waits for the
import's commit and then sees the debits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from psycopg import errors as pg_errors

from gateway.domain.account import Account, LedgerEntry
from gateway.domain.money import Currency
from gateway.store.port import DuplicateUsage, RatedUsage, SubscriberRecord, UsageLine
from gateway.store.postgres.accounts import _FOR_UPDATE, _SELECT_RECORD, PgAccounts
from gateway.store.postgres.sql import Sql
from gateway.store.usage import ledger_rows

_NOT_LOST = (" AND NOT EXISTS (SELECT 1 FROM lost_reports l WHERE l.subscriber_id = s.id"
             " AND l.resolved_at IS NULL)")


class PgUsage:
    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def next_id(self) -> int:
        """The first id an import assigns; in a write transaction, imports on other gateways wait
        for this one's commit first (they would assign the same ids)."""
        if self._sql.lock:
            self._sql.execute("SELECT pg_advisory_xact_lock(hashtextextended('usage import', 0))")
        return int(self._sql.scalar("SELECT COALESCE(MAX(id), 0) FROM usage_records")) + 1

    def load_live_many(self, msisdns: Sequence[str], currency: Currency) -> dict[str, SubscriberRecord]:
        accounts = PgAccounts(self._sql)
        found: dict[str, SubscriberRecord] = {}
        rows = self._sql.execute(
            _SELECT_RECORD + "WHERE s.msisdn = ANY(%s) AND s.status = 'live' ORDER BY s.id"
            + _FOR_UPDATE[self._sql.lock], (list(msisdns),),
        )
        for row in rows:
            record = accounts._record(row, currency)
            found[record.msisdn] = record
        return found

    def record_many(self, records: Sequence[RatedUsage], now: datetime) -> None:
        """Raises: DuplicateUsage (nothing of this batch went in)."""
        if not records:
            return
        assert self._sql.conn is not None, "a bulk insert runs inside write_uow"
        try:
            with self._sql.conn.transaction():
                with self._sql.conn.cursor().copy(
                    "COPY usage_records (id, subscriber_id, msisdn, started_at, kind, quantity, units, "
                    "charge_minor, charged_minor, outcome, imported_at) FROM STDIN"
                ) as copy:
                    for u in records:
                        line = u.line
                        copy.write_row((line.record_id, u.subscriber_id, u.msisdn, line.started_at, line.kind,
                                        line.quantity, line.units, line.charge_minor, line.charged_minor,
                                        line.outcome, now))
        except pg_errors.UniqueViolation as exc:
            raise DuplicateUsage(str(exc)) from exc
        self._sql.execute("SELECT setval(pg_get_serial_sequence('usage_records', 'id'), "
                          "(SELECT max(id) FROM usage_records))")

    def seen(self, msisdn: str, started_at: datetime, kind: str, quantity: int) -> tuple[int, datetime] | None:
        row = self._sql.execute(
            "SELECT id, imported_at FROM usage_records WHERE msisdn = %s AND started_at = %s AND kind = %s "
            "AND quantity = %s", (msisdn, started_at, kind, quantity),
        ).fetchone()
        return None if row is None else (int(row["id"]), row["imported_at"])

    def save_accounts(self, changes: Sequence[tuple[int, Account, list[LedgerEntry]]], *, now: datetime,
                      channel: str) -> None:
        ledger, lots = ledger_rows(changes, now, channel, lambda at: at)
        if ledger:
            assert self._sql.conn is not None, "a bulk write runs inside write_uow"
            with self._sql.conn.cursor().copy(
                "COPY ledger (subscriber_id, bucket, promo_lot_id, delta_minor, kind, at, recorded_at, "
                "reference, channel) FROM STDIN"
            ) as copy:
                for row in ledger:
                    copy.write_row(row)
        self._sql.executemany("UPDATE promo_lots SET amount_minor = amount_minor + %s WHERE id = %s",
                              [(delta, lot_id) for lot_id, delta in lots.items() if delta])
        self._sql.executemany(
            "UPDATE subscribers SET main_minor = %s, main_expires_at = %s, restorable_minor = %s, "
            "restorable_until = %s WHERE id = %s",
            [(a.main.minor, a.main_expires_at, a.restorable.minor, a.restorable_until, sid)
             for sid, a, entries in changes if entries],
        )

    def note_used(self, used: Sequence[tuple[int, datetime]]) -> None:
        self._sql.executemany(
            "UPDATE subscribers SET last_active_at = %s WHERE id = %s AND deactivated_at IS NULL "
            "AND (last_active_at IS NULL OR last_active_at < %s)",
            [(at, sid, at) for sid, at in used],
        )

    def lines(self, subscriber_id: int, start: datetime, end: datetime) -> list[UsageLine]:
        return [
            UsageLine(row["id"], row["started_at"], row["kind"], row["quantity"], row["units"],
                      row["charge_minor"], row["charged_minor"], row["outcome"])
            for row in self._sql.execute(
                "SELECT id, started_at, kind, quantity, units, charge_minor, charged_minor, outcome "
                "FROM usage_records WHERE subscriber_id = %s AND started_at >= %s AND started_at < %s "
                "ORDER BY started_at, id", (subscriber_id, start, end),
            )
        ]


    def bill_records(self, subscriber_id: int, bill_id: int, until: datetime) -> int:
        rows = self._sql.execute(
            "UPDATE usage_records SET bill_id = %s WHERE subscriber_id = %s AND outcome = 'unbilled' "
            "AND bill_id IS NULL AND started_at < %s RETURNING charged_minor", (bill_id, subscriber_id, until),
        ).fetchall()
        return sum(int(row["charged_minor"]) for row in rows)


class PgActivity:
    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def note(self, msisdns: Sequence[str], now: datetime, day_start: datetime) -> int:
        if not msisdns:
            return 0
        return self._sql.execute(
            "UPDATE subscribers SET last_active_at = %s WHERE msisdn = ANY(%s) AND status = 'live' "
            "AND deactivated_at IS NULL AND (last_active_at IS NULL OR last_active_at < %s)",
            (now, list(msisdns), day_start),
        ).rowcount

    def due_for_deactivation(self, before: datetime) -> list[str]:
        return [row["msisdn"] for row in self._sql.execute(
            "SELECT msisdn FROM subscribers WHERE status = 'live' AND deactivated_at IS NULL "
            "AND COALESCE(last_active_at, created_at) < %s", (before,),
        )]

    def due_for_release(self, before: datetime) -> list[str]:
        return [row["msisdn"] for row in self._sql.execute(
            "SELECT msisdn FROM subscribers WHERE status = 'live' AND deactivated_at < %s", (before,),
        )]

    def due_for_deactivation_reminder(self, kind: str, before: datetime) -> list[str]:
        return [row["msisdn"] for row in self._sql.execute(
            "SELECT s.msisdn FROM subscribers s WHERE s.status = 'live' AND s.deactivated_at IS NULL "
            "AND COALESCE(s.last_active_at, s.created_at) < %s" + _NOT_LOST
            + " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.subscriber_id = s.id AND r.kind = %s"
            " AND r.cycle = COALESCE(s.last_active_at, s.created_at))", (before, kind),
        )]

    def due_for_release_reminder(self, kind: str, before: datetime) -> list[str]:
        return [row["msisdn"] for row in self._sql.execute(
            "SELECT s.msisdn FROM subscribers s WHERE s.status = 'live' AND s.deactivated_at < %s" + _NOT_LOST
            + " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.subscriber_id = s.id AND r.kind = %s"
            " AND r.cycle = s.deactivated_at)", (before, kind),
        )]

    def deactivate(self, subscriber_id: int, at: datetime) -> None:
        self._sql.execute("UPDATE subscribers SET deactivated_at = %s WHERE id = %s", (at, subscriber_id))

    def reactivate(self, subscriber_id: int, now: datetime) -> None:
        self._sql.execute("UPDATE subscribers SET deactivated_at = NULL, last_active_at = %s WHERE id = %s",
                          (now, subscriber_id))

    def release(self, subscriber_id: int, at: datetime) -> None:
        self._sql.execute("UPDATE subscribers SET status = 'expired', recycled_at = %s WHERE id = %s",
                          (at, subscriber_id))
