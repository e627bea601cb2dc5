"""The PostgreSQL adapter of the store port (``gateway.store.port``).

``PgDatabase`` hands out units of work over a psycopg pool: ``write_uow`` is
one transaction on a pooled connection (a savepoint when the thread already
runs one, so grouped jobs keep each their all-or-nothing), ``snapshot_uow``
one REPEATABLE READ transaction, ``read_uow`` statements that each borrow a
connection and commit at once. The repositories are those of the SQLite
adapter with PostgreSQL SQL; the SMS side is in ``gateway.store.postgres.sms``.

Concurrency comes from the database, never from a process lock. A write
transaction reads the subscriber and the voucher it changes ``FOR UPDATE``,
so a concurrent writer waits and then sees the committed state (as SQLite's
single writer would have it), and the voucher is taken by a conditional
UPDATE; a failure count and a resent request are serialised per key by
transaction-scoped advisory locks; outbox and inbox claims take rows
``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from gateway.domain.account import Account, Bucket, LedgerEntry, PromoLot
from gateway.domain.attempts import AttemptState, after_failure, count_failures_since, is_locked
from gateway.domain.money import Currency, Money
from gateway.domain.policy import AttemptLimit
from gateway.domain.vouchers import Voucher, VoucherStatus
from gateway.store import postpaid as postpaid_sql
from gateway.store.port import (
    LOCK_KINDS,
    Accounts,
    Activity,
    Audit,
    Care,
    Consent,
    DuplicateNumber,
    Inbox,
    Journal,
    LineSummary,
    Locks,
    LostReports,
    Outbox,
    Postpaid,
    RateLimits,
    Reports,
    Sessions,
    StoreBusy,
    StoredTopUp,
    StoreError,
    SubscriberRecord,
    TopUps,
    Usage,
    Vouchers,
)
from gateway.store.postgres.connection import Connection, describe, url_of

Row = dict[str, Any]


class Result:
    """What a statement returned, fetched in full (its connection may already be back in the pool)."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Row]:
        return self._rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


class Sql:
    """Runs statements on one connection (inside its transaction) or, with none, each on a pooled one.

    ``lock``: inside a write transaction the rows a change is computed from are
    read ``FOR UPDATE`` (see ``PgDatabase``).
    """

    __slots__ = ("conn", "_pool", "lock")

    def __init__(self, conn: Connection | None, pool: ConnectionPool, *, lock: bool = False) -> None:
        self.conn = conn
        self._pool = pool
        self.lock = lock

    def execute(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> Result:
        if self.conn is not None:
            return _run(self.conn, query, params)
        with _errors(self._pool), self._pool.connection() as conn:
            return _run(conn, query, params)

    def executemany(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.conn is not None:
            self.conn.cursor().executemany(query, rows)
            return
        with _errors(self._pool), self._pool.connection() as conn:
            conn.cursor().executemany(query, rows)

    def scalar(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.execute(query, params).fetchone()
        return None if row is None else next(iter(row.values()))


def _run(conn: Connection, query: str, params: Sequence[Any] | dict[str, Any]) -> Result:
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(query, params)
    return Result(cur.fetchall() if cur.description is not None else [], cur.rowcount)


@contextmanager
def _errors(pool: ConnectionPool) -> Iterator[None]:
    """The driver's failures as the port's: busy (try again) or unusable."""
    try:
        yield
    except PoolTimeout:
        raise StoreBusy("database: no connection free in time; try again") from None
    except (pg_errors.TransactionRollback, pg_errors.LockNotAvailable) as exc:
        raise StoreBusy(f"database busy: {describe(exc, url_of(pool))}") from exc
    except psycopg.OperationalError as exc:
        raise StoreError(f"database unusable: {describe(exc, url_of(pool))}") from exc


class _Bound:
    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql


# --- accounts ----------------------------------------------------------------------

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


# --- vouchers and top-ups ------------------------------------------------------------


class PgVouchers(_Bound):
    __slots__ = ()

    def by_pin_hash(self, pin_hash: str, currency: Currency) -> Voucher | None:
        # Locked in a write transaction: a second redeemer waits for the first's commit, then finds it used.
        row = self._sql.execute(
            "SELECT id, serial, amount_minor, active_days, expires_on, status FROM vouchers WHERE pin_hash = %s"
            + (" FOR UPDATE" if self._sql.lock else ""), (pin_hash,),
        ).fetchone()
        if row is None:
            return None
        return Voucher(row["id"], row["serial"], Money(row["amount_minor"], currency), row["active_days"],
                       row["expires_on"], VoucherStatus(row["status"]))

    def take(self, voucher_id: int, now: datetime, subscriber_id: int) -> bool:
        """Mark the voucher used; False if it was not active any more (a concurrent taker waits for
        the row, then finds it used)."""
        return self._sql.execute(
            "UPDATE vouchers SET status = 'used', used_at = %s, used_by = %s WHERE id = %s AND status = 'active'",
            (now, subscriber_id, voucher_id),
        ).rowcount == 1

    def pin_hash_exists(self, pin_hash: str) -> bool:
        return self._sql.execute("SELECT 1 FROM vouchers WHERE pin_hash = %s", (pin_hash,)).fetchone() is not None

    def serial_exists(self, serial: str) -> bool:
        return self._sql.execute("SELECT 1 FROM vouchers WHERE serial = %s", (serial,)).fetchone() is not None

    def next_id(self) -> int:
        return int(self._sql.scalar("SELECT COALESCE(MAX(id), 0) FROM vouchers")) + 1

    def insert_many(self, rows: list[tuple[str, str, int, int, date | str | None, str, datetime]]) -> None:
        self._sql.executemany(
            "INSERT INTO vouchers (serial, pin_hash, amount_minor, active_days, expires_on, batch, status, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s, 'active', %s)",
            [(serial, hashed, minor, days, date.fromisoformat(expires) if isinstance(expires, str) else expires,
              batch, created) for serial, hashed, minor, days, expires, batch, created in rows],
        )


class PgTopUps(_Bound):
    __slots__ = ()

    def replay_and_lock(self, request_key: str | None, lock_kind: str,
                        lock_key: str) -> tuple[StoredTopUp | None, datetime | None]:
        """One round trip for both reads (as the SQLite adapter), after the request's advisory lock:
        the same request resent to another process waits for this one's answer. (The lock is a
        statement of its own: a statement reads what was committed when it began, not after a wait.)"""
        if self._sql.lock and request_key is not None:
            self._sql.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"topup\x1f{request_key}",))
        row = self._sql.execute(
            "SELECT (SELECT locked_until FROM locks WHERE kind = %s AND key = %s) AS locked_until, t.id, "
            "t.requester_msisdn, t.amount_minor, t.restored_minor, t.balance_after_minor, t.expires_at, "
            "v.serial, s.msisdn FROM (SELECT 1) AS one LEFT JOIN topups t ON t.request_key = %s "
            "LEFT JOIN vouchers v ON v.id = t.voucher_id LEFT JOIN subscribers s ON s.id = t.subscriber_id",
            (lock_kind, lock_key, request_key),
        ).fetchone()
        assert row is not None  # (one row, whatever it finds)
        locked_until = row["locked_until"] if isinstance(row["locked_until"], datetime) else None
        if row["id"] is None:
            return None, locked_until
        return StoredTopUp(row["id"], row["msisdn"], row["requester_msisdn"], row["amount_minor"],
                           row["restored_minor"], row["balance_after_minor"], row["expires_at"],
                           row["serial"]), locked_until

    def record(self, *, request_key: str | None, requester: str, subscriber_id: int, voucher_id: int,
               credited_minor: int, restored_minor: int, balance_minor: int, expires_at: datetime,
               now: datetime, channel: str) -> int:
        return int(self._sql.scalar(
            "INSERT INTO topups (request_key, requester_msisdn, subscriber_id, voucher_id, amount_minor, "
            "restored_minor, balance_after_minor, expires_at, at, channel) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (request_key, requester, subscriber_id, voucher_id, credited_minor, restored_minor, balance_minor,
             expires_at, now, channel),
        ))

    def record_attempt(self, msisdn: str, now: datetime, outcome: str, channel: str) -> None:
        self._sql.execute("INSERT INTO topup_attempts (msisdn, at, outcome, channel) VALUES (%s, %s, %s, %s)",
                          (msisdn, now, outcome, channel))


# --- locks -------------------------------------------------------------------------

#: Where each kind of lock counts its failures (as ``gateway.store.locks._FAILURES``).
_FAILURES = {
    "topup": ("topup_attempts", "msisdn", ("WrongPin", "GiftRefused")),
    "lost": ("lost_attempts", "reporter_msisdn", ("LostDetailsMismatch",)),
    "lost-number": ("lost_attempts", "target_msisdn", ("LostDetailsMismatch",)),
}


class PgLocks(_Bound):
    __slots__ = ()

    def get(self, kind: str, key: str) -> datetime | None:
        found = self._sql.scalar("SELECT locked_until FROM locks WHERE kind = %s AND key = %s", (kind, key))
        return found if isinstance(found, datetime) else None

    def _put(self, kind: str, key: str, until: datetime) -> None:
        self._sql.execute(
            "INSERT INTO locks (kind, key, locked_until) VALUES (%s, %s, %s) "
            "ON CONFLICT (kind, key) DO UPDATE SET locked_until = EXCLUDED.locked_until", (kind, key, until),
        )

    def register_failure(self, kind: str, key: str, last_lock: datetime | None, now: datetime,
                         limit: AttemptLimit) -> AttemptState:
        """As ``gateway.store.locks.register_failure``; failures of one key count one transaction at a
        time, so processes failing together for the same number earn the lock exactly once."""
        table, column, outcomes = _FAILURES[kind]
        self._sql.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{kind}\x1f{key}",))
        since = count_failures_since(now, last_lock, limit)
        earlier = int(self._sql.scalar(
            f"SELECT COUNT(*) FROM {table} WHERE {column} = %s AND outcome = ANY(%s) AND at > %s",
            (key, list(outcomes), since),
        ))
        state = after_failure(earlier + 1, now, limit)
        if state.locked_until is not None:
            self._put(kind, key, state.locked_until)
        return state

    def reset(self, kind: str, key: str, now: datetime) -> datetime | None:
        until = self.get(kind, key)
        self._put(kind, key, now)
        return until if is_locked(until, now) else None

    def in_force(self, now: datetime) -> dict[str, int]:
        found = dict.fromkeys(LOCK_KINDS, 0)
        for row in self._sql.execute("SELECT kind, count(*) AS n FROM locks WHERE locked_until > %s "
                                     "GROUP BY kind", (now,)):
            found[row["kind"]] = int(row["n"])
        return found


class PgRateLimits(_Bound):
    """As ``gateway.store.sqlite_uow.SqliteRateLimits``: one statement each way, whatever the count."""

    __slots__ = ()

    def spend(self, costs: Mapping[str, float], now: float) -> None:
        if not costs:
            return
        at = round(now * 1000)
        keys = sorted(costs)  # rows locked in key order: two processes' upserts cannot deadlock
        self._sql.execute(
            "INSERT INTO rate_limits (key, full_at_ms) SELECT k, %(at)s + c "
            "FROM unnest(%(keys)s::text[], %(costs)s::bigint[]) AS t(k, c) ORDER BY k "
            "ON CONFLICT (key) DO UPDATE SET "
            "full_at_ms = GREATEST(rate_limits.full_at_ms, %(at)s) + (EXCLUDED.full_at_ms - %(at)s)",
            {"at": at, "keys": keys, "costs": [round(costs[k] * 1000) for k in keys]},
        )

    def full_at(self, keys: Sequence[str]) -> dict[str, float]:
        if not keys:
            return {}
        return {row["key"]: row["full_at_ms"] / 1000 for row in self._sql.execute(
            "SELECT key, full_at_ms FROM rate_limits WHERE key = ANY(%s)", (list(keys),))}

    def forget_full(self, now: float) -> int:
        return self._sql.execute("DELETE FROM rate_limits WHERE full_at_ms < %s", (round(now * 1000),)).rowcount


# --- the unit of work and the database --------------------------------------------------


class PgUnitOfWork:
    """Every repository of the port over one ``Sql`` (a transaction's connection, or the pool)."""

    __slots__ = ("sql", "accounts", "postpaid", "vouchers", "topups", "locks", "rate_limits", "lost", "consent",
                 "sessions", "outbox", "inbox", "usage", "activity", "care", "journal", "reports", "audit")

    def __init__(self, sql: Sql) -> None:
        from gateway.store.postgres.care import PgCare
        from gateway.store.postgres.console import PgAudit, PgReports
        from gateway.store.postgres.journal import PgJournal
        from gateway.store.postgres.line_events import PgConsent, PgLostReports
        from gateway.store.postgres.postpaid import PgPostpaid
        from gateway.store.postgres.sessions import PgSessions
        from gateway.store.postgres.sms import PgInbox, PgOutbox
        from gateway.store.postgres.usage import PgActivity, PgUsage

        self.sql = sql
        self.accounts: Accounts = PgAccounts(sql)
        self.postpaid: Postpaid = PgPostpaid(sql)
        self.vouchers: Vouchers = PgVouchers(sql)
        self.topups: TopUps = PgTopUps(sql)
        self.locks: Locks = PgLocks(sql)
        self.rate_limits: RateLimits = PgRateLimits(sql)
        self.lost: LostReports = PgLostReports(sql)
        self.consent: Consent = PgConsent(sql)
        self.sessions: Sessions = PgSessions(sql)
        self.outbox: Outbox = PgOutbox(sql)
        self.inbox: Inbox = PgInbox(sql)
        self.usage: Usage = PgUsage(sql)
        self.activity: Activity = PgActivity(sql)
        self.care: Care = PgCare(sql)
        self.journal: Journal = PgJournal(sql)
        self.reports: Reports = PgReports(sql)
        self.audit: Audit = PgAudit(sql)


@dataclass
class _Running:
    conn: Connection
    uow: PgUnitOfWork
    #: What ends the transaction and gives the connection back to the pool.
    exit: ExitStack


#: Transactions one process runs at once by default (the batcher's lanes); the pool has room
#: for them and for the reads that borrow a connection per statement beside them.
LANES = 4


class PgDatabase:
    """The store port on a PostgreSQL pool (``open_pool``); one per process, shared by its threads.

    A thread's transaction is its own: a ``write_uow`` opened while the same
    thread runs one is a savepoint inside it (``begin_group`` opens one for
    several jobs that then commit together). Jobs never run on the event
    loop (``inline``: every statement is a network round trip); ``lanes``
    threads of the batcher run groups at once, on connections of their own.
    """

    inline = False

    def __init__(self, pool: ConnectionPool, *, lanes: int = LANES) -> None:
        self.pool = pool
        self.lanes = max(1, min(lanes, pool.max_size))
        self._local = threading.local()
        self._reads = PgUnitOfWork(Sql(None, pool))

    def _running(self) -> _Running | None:
        running: _Running | None = getattr(self._local, "running", None)
        return running

    @contextmanager
    def write_uow(self, *, durable: bool = True, single_statement: bool = False) -> Iterator[PgUnitOfWork]:
        """(``single_statement`` changes nothing here: a failed statement aborts PostgreSQL's
        whole transaction, so inside a group each operation keeps its savepoint.)"""
        running = self._running()
        if running is not None:
            with _errors(self.pool), running.conn.transaction():  # a savepoint
                yield running.uow
            return
        with self._transaction(durable=durable) as uow:
            yield uow

    def begin_group(self, *, durable: bool = True, wait: bool = True) -> None:
        """One transaction for several jobs on this thread (``wait`` is SQLite's: a server always queues).

        Raises:
            StoreBusy: no pooled connection came free in time.
            StoreError: the server is unusable.
        """
        if self._running() is not None:
            raise RuntimeError("groups do not nest")
        stack = ExitStack()
        try:
            with _errors(self.pool):
                conn = stack.enter_context(self.pool.connection())
                stack.enter_context(conn.transaction())
                if not durable:
                    conn.execute("SET LOCAL synchronous_commit = off")
        except BaseException:
            stack.close()
            raise
        self._local.running = _Running(conn, PgUnitOfWork(Sql(conn, self.pool, lock=True)), stack)

    def commit_group(self) -> None:
        running = self._end_group()
        with _errors(self.pool):
            running.exit.close()  # COMMIT (a failed one rolls back), the connection back to the pool

    def rollback_group(self) -> None:
        running = self._end_group()
        running.exit.__exit__(psycopg.Rollback, psycopg.Rollback(), None)

    def _end_group(self) -> _Running:
        running = self._running()
        if running is None:
            raise RuntimeError("no group is open on this thread")
        self._local.running = None
        return running

    def checkpointer(self) -> None:
        """The server checkpoints on its own."""
        return None

    @contextmanager
    def _transaction(self, *, durable: bool, snapshot: bool = False) -> Iterator[PgUnitOfWork]:
        with _errors(self.pool), self.pool.connection() as conn, conn.transaction():
            if snapshot:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            elif not durable:
                conn.execute("SET LOCAL synchronous_commit = off")
            running = _Running(conn, PgUnitOfWork(Sql(conn, self.pool, lock=not snapshot)), ExitStack())
            self._local.running = running
            try:
                yield running.uow
            finally:
                self._local.running = None

    def read_uow(self) -> PgUnitOfWork:
        running = self._running()
        return self._reads if running is None else running.uow

    @contextmanager
    def snapshot_uow(self) -> Iterator[PgUnitOfWork]:
        running = self._running()
        if running is not None:  # the running transaction is one consistent state
            yield running.uow
            return
        with self._transaction(durable=True, snapshot=True) as uow:
            yield uow

    def close(self) -> None:
        self.pool.close()


def open_database(url: str, *, max_size: int = 8, timeout: float = 5.0, migrate: bool = False,
                  lanes: int = LANES) -> PgDatabase:
    """The store port on the PostgreSQL database at ``url`` (``migrate``: bring its schema up to date first).

    Raises:
        StoreError: the server cannot be reached, refuses us, or a migration failed.
    """
    from gateway.store.postgres.connection import open_pool
    from gateway.store.postgres.migrations import migrate as run_migrations

    pool = open_pool(url, max_size=max_size, timeout=timeout)
    if migrate:
        try:
            run_migrations(pool)
        except BaseException:
            pool.close()
            raise
    return PgDatabase(pool, lanes=lanes)
