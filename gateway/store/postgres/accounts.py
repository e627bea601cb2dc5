"""Subscribers, their buckets and the ledger on PostgreSQL (``port.Accounts``).

In a write transaction the subscriber row is read ``FOR UPDATE``: a concurrent
writer waits, then reads the balance this one wrote (no lost update).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import errors as pg_errors

from gateway.domain.account import Account, Bucket, LedgerEntry, PromoLot
from gateway.domain.money import Currency, Money
from gateway.store import postpaid as postpaid_sql
from gateway.store.port import (
    DuplicateNumber,
    LineSummary,
    SubscriberRecord,
)
from gateway.store.postgres.sql import Row, _Bound

_SELECT_RECORD = (
    "SELECT s.id, s.msisdn, s.type, s.language, s.id_hash, s.status, s.created_at, s.recycled_at, "
    "s.marketing_opt_in, s.main_minor, s.main_expires_at, s.restorable_minor, s.restorable_until, "
    "s.last_active_at, s.deactivated_at, "
    + "".join(f"s.{column}, " for column in postpaid_sql.COLUMNS) +
    "l.reference AS lost_reference, l.reported_at AS lost_reported_at, "
    "EXISTS (SELECT 1 FROM promo_lots p WHERE p.subscriber_id = s.id AND p.amount_minor <> 0) AS has_promos "
    "FROM subscribers s LEFT JOIN lost_reports l ON l.subscriber_id = s.id AND l.resolved_at IS NULL "
)
_LOAD_LIVE = _SELECT_RECORD + "WHERE s.msisdn = %s AND s.status = 'live'"
_LOAD_LATEST = _SELECT_RECORD + "WHERE s.msisdn = %s ORDER BY s.id DESC LIMIT 1"
#: In a write transaction the subscriber row is locked until the commit: a concurrent writer
#: waits, then reads the balance this one wrote (no lost update, as under SQLite's one writer).
_FOR_UPDATE = {False: "", True: " FOR UPDATE OF s"}


class PgAccounts(_Bound):
    __slots__ = ()

    def load_live(self, msisdn: str, currency: Currency) -> SubscriberRecord | None:
        row = self._sql.execute(_LOAD_LIVE + _FOR_UPDATE[self._sql.lock], (msisdn,)).fetchone()
        return None if row is None else self._record(row, currency)

    def load_latest(self, msisdn: str, currency: Currency) -> SubscriberRecord | None:
        row = self._sql.execute(_LOAD_LATEST + _FOR_UPDATE[self._sql.lock], (msisdn,)).fetchone()
        return None if row is None else self._record(row, currency)

    def _record(self, row: Row, currency: Currency) -> SubscriberRecord:
        promos: tuple[PromoLot, ...] = ()
        if row["has_promos"]:
            promos = tuple(
                PromoLot(Money(lot["amount_minor"], currency), lot["expires_at"], lot["id"])
                for lot in self._sql.execute(
                    "SELECT id, amount_minor, expires_at FROM promo_lots "
                    "WHERE subscriber_id = %s AND amount_minor <> 0 ORDER BY expires_at, id", (row["id"],),
                )
            )
        lost_reference = row["lost_reference"]
        account = Account(
            main=Money(row["main_minor"], currency),
            main_expires_at=row["main_expires_at"],
            restorable=Money(row["restorable_minor"], currency),
            restorable_until=row["restorable_until"],
            promos=promos,
        )
        return SubscriberRecord(
            subscriber_id=row["id"], msisdn=row["msisdn"], type=row["type"], language=row["language"],
            id_hash=row["id_hash"], created_at=row["created_at"], marketing_opt_in=bool(row["marketing_opt_in"]),
            account=account, lost_reference=lost_reference,
            lost_reported_at=row["lost_reported_at"] if lost_reference is not None else None,
            status=row["status"], recycled_at=row["recycled_at"],
            last_active_at=row["last_active_at"], deactivated_at=row["deactivated_at"],
            postpaid=postpaid_sql.account_of(row, currency) if row["type"] == "postpaid" else None,
        )

    def line_summary(self, msisdn: str) -> LineSummary | None:
        row = self._sql.execute(
            "SELECT type, main_expires_at, status FROM subscribers WHERE msisdn = %s "
            "ORDER BY status = 'live' DESC, id DESC LIMIT 1", (msisdn,),
        ).fetchone()
        return None if row is None else LineSummary(row["type"], row["main_expires_at"], row["status"] == "live")

    def is_lost(self, msisdn: str) -> bool:
        return self._sql.execute(
            "SELECT 1 FROM subscribers s JOIN lost_reports l ON l.subscriber_id = s.id AND l.resolved_at IS NULL "
            "WHERE s.msisdn = %s AND s.status = 'live'", (msisdn,),
        ).fetchone() is not None

    def was_recycled(self, msisdn: str) -> bool:
        return self._sql.execute(
            "SELECT 1 FROM subscribers WHERE msisdn = %s AND status = 'recycled' LIMIT 1", (msisdn,)
        ).fetchone() is not None

    def language(self, msisdn: str) -> str | None:
        found = self._sql.scalar("SELECT language FROM subscribers WHERE msisdn = %s AND status = 'live'",
                                 (msisdn,))
        return None if found is None else str(found)

    def marketing_opt_in(self, msisdn: str) -> bool | None:
        found = self._sql.scalar(
            "SELECT marketing_opt_in FROM subscribers WHERE msisdn = %s AND status = 'live'", (msisdn,)
        )
        return None if found is None else bool(found)

    def insert(self, *, msisdn: str, type_: str, language: str, id_hash: str | None, now: datetime) -> int:
        """A new live subscriber's id.

        Raises:
            DuplicateNumber: the number is live already: another transaction added it after this one
                looked (it waited for that one's commit); nothing was inserted.
        """
        assert self._sql.conn is not None, "an insert runs inside write_uow"
        try:
            with self._sql.conn.transaction():  # a savepoint: the caller's transaction stays usable
                return int(self._sql.scalar(
                    "INSERT INTO subscribers (msisdn, type, language, id_hash, status, created_at, "
                    "marketing_opt_in, main_minor, restorable_minor) "
                    "VALUES (%s, %s, %s, %s, 'live', %s, 1, 0, 0) RETURNING id",
                    (msisdn, type_, language, id_hash, now),
                ))
        except pg_errors.UniqueViolation as exc:
            raise DuplicateNumber(str(exc)) from exc

    def save_account(self, subscriber_id: int, account: Account, entries: list[LedgerEntry], *,
                     now: datetime, reference: str | None = None, channel: str | None = None) -> Account:
        """The new buckets and their ledger rows (as ``gateway.store.accounts.save_account``)."""
        lot_ids: dict[int, int] = {}  # id(PromoLot) of new lots -> row id
        for entry in entries:
            lot = entry.lot
            if lot is not None and lot.lot_id is None and id(lot) not in lot_ids:
                lot_ids[id(lot)] = int(self._sql.scalar(
                    "INSERT INTO promo_lots (subscriber_id, amount_minor, granted_at, expires_at) "
                    "VALUES (%s, 0, %s, %s) RETURNING id", (subscriber_id, entry.at, lot.expires_at),
                ))
        rows = []
        for entry in entries:
            lot_id = None
            if entry.lot is not None:
                lot_id = entry.lot.lot_id if entry.lot.lot_id is not None else lot_ids[id(entry.lot)]
            rows.append((subscriber_id, entry.bucket.value, lot_id, entry.delta.minor, entry.kind.value,
                         entry.at, now, entry.reference or reference, channel))
            if lot_id is not None:
                self._sql.execute("UPDATE promo_lots SET amount_minor = amount_minor + %s WHERE id = %s",
                                  (entry.delta.minor, lot_id))
        self._sql.executemany(
            "INSERT INTO ledger (subscriber_id, bucket, promo_lot_id, delta_minor, kind, at, "
            "recorded_at, reference, channel) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows,
        )
        self._sql.execute(
            "UPDATE subscribers SET main_minor = %s, main_expires_at = %s, restorable_minor = %s, "
            "restorable_until = %s WHERE id = %s",
            (account.main.minor, account.main_expires_at, account.restorable.minor, account.restorable_until,
             subscriber_id),
        )
        if lot_ids:
            promos = tuple(PromoLot(lot.amount, lot.expires_at, lot_ids.get(id(lot), lot.lot_id))
                           for lot in account.promos)
            account = Account(account.main, account.main_expires_at, account.restorable,
                              account.restorable_until, promos)
        return account

    def ledger_totals(self, subscriber_id: int) -> dict[Bucket, int]:
        totals = {bucket: 0 for bucket in Bucket}
        for row in self._sql.execute(
            "SELECT bucket, COALESCE(SUM(delta_minor), 0) AS total FROM ledger "
            "WHERE subscriber_id = %s GROUP BY bucket", (subscriber_id,),
        ):
            totals[Bucket(row["bucket"])] = int(row["total"])
        return totals

    def set_language(self, subscriber_id: int, language: str) -> None:
        self._sql.execute("UPDATE subscribers SET language = %s WHERE id = %s", (language, subscriber_id))

    def mark_recycled(self, subscriber_id: int, at: datetime) -> None:
        self._sql.execute("UPDATE subscribers SET status = 'recycled', recycled_at = %s WHERE id = %s",
                          (at, subscriber_id))

    def due_for_lifecycle(self, now: datetime, recycle_cutoff: datetime) -> list[str]:
        return [row["msisdn"] for row in self._sql.execute(
            "SELECT msisdn FROM subscribers WHERE status = 'live' AND ("
            " (main_minor <> 0 AND main_expires_at <= %(now)s)"
            " OR (restorable_minor <> 0 AND restorable_until <= %(now)s)"
            " OR (type = 'prepaid' AND main_expires_at <= %(cutoff)s)"
            ") UNION SELECT s.msisdn FROM promo_lots p JOIN subscribers s ON s.id = p.subscriber_id"
            " WHERE s.status = 'live' AND p.amount_minor <> 0 AND p.expires_at <= %(now)s",
            {"now": now, "cutoff": recycle_cutoff},
        )]

    def due_for_reminder(self, kind: str, after: datetime, until: datetime) -> list[str]:
        return [row["msisdn"] for row in self._sql.execute(
            "SELECT s.msisdn FROM subscribers s WHERE s.status = 'live' AND s.type = 'prepaid'"
            " AND s.main_expires_at > %s AND s.main_expires_at <= %s"
            + (" AND s.main_minor <> 0" if kind == "expiry" else "")
            + " AND NOT EXISTS (SELECT 1 FROM lost_reports l WHERE l.subscriber_id = s.id"
            " AND l.resolved_at IS NULL)"
            " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.subscriber_id = s.id AND r.kind = %s"
            " AND r.cycle = s.main_expires_at)",
            (after, until, kind),
        )]

    def mark_reminded(self, subscriber_id: int, kind: str, cycle: datetime | None, now: datetime) -> bool:
        return self._sql.execute(
            "INSERT INTO reminders (subscriber_id, kind, cycle, sent_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING", (subscriber_id, kind, cycle, now),
        ).rowcount == 1

    def next_id(self) -> int:
        return int(self._sql.scalar("SELECT COALESCE(MAX(id), 0) FROM subscribers")) + 1

    def insert_many(self, subscribers: list[tuple[Any, ...]], ledger: list[tuple[Any, ...]]) -> None:
        """As the SQLite adapter's; the id sequence then moves past the ids given.

        Raises:
            DuplicateNumber: a number is already live (nothing of the batch went in).
        """
        if not subscribers:
            return
        assert self._sql.conn is not None, "a bulk insert runs inside write_uow"
        try:
            with self._sql.conn.transaction():
                self._sql.executemany(
                    "INSERT INTO subscribers (id, msisdn, type, language, id_hash, status, created_at, "
                    "marketing_opt_in, main_minor, main_expires_at, restorable_minor) "
                    "VALUES (%s, %s, %s, %s, %s, 'live', %s, 1, %s, %s, 0)", subscribers,
                )
        except pg_errors.UniqueViolation as exc:
            raise DuplicateNumber(str(exc)) from exc
        self._sql.executemany(
            "INSERT INTO ledger (subscriber_id, bucket, delta_minor, kind, at, recorded_at, reference, channel) "
            "VALUES (%s, 'main', %s, 'opening', %s, %s, 'import', 'import')", ledger,
        )
        self._sql.execute("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), "
                          "(SELECT max(id) FROM subscribers))")

    def live_id(self, msisdn: str) -> int | None:
        found = self._sql.scalar("SELECT id FROM subscribers WHERE msisdn = %s AND status = 'live'", (msisdn,))
        return None if found is None else int(found)
