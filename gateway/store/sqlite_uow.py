"""The SQLite adapter of the store port (``gateway.store.port``).

One ``SqliteUnitOfWork`` is made per connection (by ``Store``) with its
repositories bound to that connection, so a request creates no objects to
reach its data. The transaction is the ``Store``'s (``write_uow``,
``snapshot_uow``); the repositories only run statements. The SQL of
accounts, locks, the outbox and SMS delivery is in the modules beside this
one; what only one repository needs is here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gateway.domain.account import Account, Bucket, LedgerEntry
from gateway.domain.attempts import AttemptState
from gateway.domain.money import Currency
from gateway.domain.policy import AttemptLimit
from gateway.store import accounts as accounts_sql
from gateway.store import locks as locks_sql
from gateway.store import port
from gateway.store.care import SqliteCare
from gateway.store.console import SqliteAudit, SqliteReports
from gateway.store.journal import SqliteJournal
from gateway.store.line_events import ConsentSql, LostReportsSql
from gateway.store.port import DuplicateNumber, LineSummary, StoredTopUp, SubscriberRecord
from gateway.store.postpaid import SqlitePostpaid
from gateway.store.sessions import SessionsSql
from gateway.store.sms import InboxSql, OutboxSql
from gateway.store.times import from_iso, iso
from gateway.store.usage import SqliteActivity, SqliteUsage
from gateway.store.vouchers import SqliteVouchers


class _Bound:
    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn


class SqliteAccounts(_Bound):
    __slots__ = ()

    _INSERT_MANY = (
        "INSERT INTO subscribers (id, msisdn, type, language, id_hash, status, created_at, "
        "marketing_opt_in, main_minor, main_expires_at, restorable_minor) "
        "VALUES (?, ?, ?, ?, ?, 'live', ?, 1, ?, ?, 0)"
    )
    _INSERT_LEDGER = (
        "INSERT INTO ledger (subscriber_id, bucket, delta_minor, kind, at, recorded_at, reference, channel) "
        "VALUES (?, 'main', ?, 'opening', ?, ?, 'import', 'import')"
    )

    def load_live(self, msisdn: str, currency: Currency) -> SubscriberRecord | None:
        return accounts_sql.load_live(self._conn, msisdn, currency)

    def load_latest(self, msisdn: str, currency: Currency) -> SubscriberRecord | None:
        return accounts_sql.load_latest(self._conn, msisdn, currency)

    def line_summary(self, msisdn: str) -> LineSummary | None:
        return accounts_sql.line_summary(self._conn, msisdn)

    def is_lost(self, msisdn: str) -> bool:
        return accounts_sql.is_lost(self._conn, msisdn)

    def was_recycled(self, msisdn: str) -> bool:
        return accounts_sql.was_recycled(self._conn, msisdn)

    def language(self, msisdn: str) -> str | None:
        row = self._conn.execute(
            "SELECT language FROM subscribers WHERE msisdn = ? AND status = 'live'", (msisdn,)
        ).fetchone()
        return str(row["language"]) if row else None

    def marketing_opt_in(self, msisdn: str) -> bool | None:
        row = self._conn.execute(
            "SELECT marketing_opt_in FROM subscribers WHERE msisdn = ? AND status = 'live'", (msisdn,)
        ).fetchone()
        return None if row is None else bool(row["marketing_opt_in"])

    def insert(self, *, msisdn: str, type_: str, language: str, id_hash: str | None, now: datetime) -> int:
        return accounts_sql.insert_subscriber(self._conn, msisdn=msisdn, type_=type_, language=language,
                                              id_hash=id_hash, now=now)

    def save_account(self, subscriber_id: int, account: Account, entries: list[LedgerEntry], *,
                     now: datetime, reference: str | None = None, channel: str | None = None) -> Account:
        return accounts_sql.save_account(self._conn, subscriber_id, account, entries, now=now,
                                         reference=reference, channel=channel)

    def ledger_totals(self, subscriber_id: int) -> dict[Bucket, int]:
        return accounts_sql.ledger_totals(self._conn, subscriber_id)

    def set_language(self, subscriber_id: int, language: str) -> None:
        self._conn.execute("UPDATE subscribers SET language = ? WHERE id = ?", (language, subscriber_id))

    def mark_recycled(self, subscriber_id: int, at: datetime) -> None:
        self._conn.execute("UPDATE subscribers SET status = 'recycled', recycled_at = ? WHERE id = ?",
                           (iso(at), subscriber_id))

    def due_for_lifecycle(self, now: datetime, recycle_cutoff: datetime) -> list[str]:
        """Live numbers with money to expire or forfeit, a promo lot to close, or due for recycling."""
        return [
            row[0]
            for row in self._conn.execute(
                "SELECT msisdn FROM subscribers WHERE status = 'live' AND ("
                " (main_minor != 0 AND main_expires_at <= :now)"
                " OR (restorable_minor != 0 AND restorable_until <= :now)"
                " OR (type = 'prepaid' AND main_expires_at <= :cutoff)"
                ") UNION SELECT s.msisdn FROM promo_lots p JOIN subscribers s ON s.id = p.subscriber_id"
                " WHERE s.status = 'live' AND p.amount_minor != 0 AND p.expires_at <= :now",
                {"now": iso(now), "cutoff": iso(recycle_cutoff)},
            )
        ]

    def due_for_reminder(self, kind: str, after: datetime, until: datetime) -> list[str]:
        """Live prepaid numbers, not reported lost, whose main expiry lies in (after, until] and
        that had no ``kind`` reminder for that expiry (``expiry``: only those with money)."""
        return [
            row["msisdn"]
            for row in self._conn.execute(
                "SELECT s.msisdn FROM subscribers s WHERE s.status = 'live' AND s.type = 'prepaid'"
                " AND s.main_expires_at > ? AND s.main_expires_at <= ?"
                + (" AND s.main_minor != 0" if kind == "expiry" else "")
                + " AND NOT EXISTS (SELECT 1 FROM lost_reports l WHERE l.subscriber_id = s.id"
                " AND l.resolved_at IS NULL)"
                " AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.subscriber_id = s.id AND r.kind = ?"
                " AND r.cycle = s.main_expires_at)",
                (iso(after), iso(until), kind),
            ).fetchall()
        ]

    def mark_reminded(self, subscriber_id: int, kind: str, cycle: datetime | None, now: datetime) -> bool:
        """Record the reminder of ``kind`` for this expiry ``cycle``; False if it was recorded before."""
        return bool(self._conn.execute(
            "INSERT OR IGNORE INTO reminders (subscriber_id, kind, cycle, sent_at) VALUES (?, ?, ?, ?)",
            (subscriber_id, kind, iso(cycle), iso(now)),
        ).rowcount)

    def next_id(self) -> int:
        return int(self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM subscribers").fetchone()[0]) + 1

    def insert_many(self, subscribers: list[tuple[Any, ...]], ledger: list[tuple[Any, ...]]) -> None:
        """Subscribers ``(id, msisdn, type, language, id_hash, created_at, main_minor, main_expires_at)``,
        then their opening ledger rows ``(id, minor, at, recorded_at)``.

        Raises:
            DuplicateNumber: a number is already live (the rows before it went in).
        """
        texts: dict[datetime | None, str | None] = {None: None}  # a base repeats a few dates many times

        def text(moment: datetime | None) -> str | None:
            found = texts.get(moment, "")
            if found == "":
                found = texts[moment] = iso(moment)
            return found

        try:
            self._conn.executemany(self._INSERT_MANY, [
                (sid, msisdn, type_, language, id_hash, text(created), minor, text(expires))
                for sid, msisdn, type_, language, id_hash, created, minor, expires in subscribers
            ])
        except sqlite3.IntegrityError as exc:
            raise DuplicateNumber(str(exc)) from exc
        self._conn.executemany(self._INSERT_LEDGER, [
            (sid, minor, text(at), text(recorded)) for sid, minor, at, recorded in ledger
        ])

    def live_id(self, msisdn: str) -> int | None:
        row = self._conn.execute(
            "SELECT id FROM subscribers WHERE msisdn = ? AND status = 'live'", (msisdn,)
        ).fetchone()
        return None if row is None else int(row[0])


class SqliteTopUps(_Bound):
    __slots__ = ()

    # One statement for both: the lock's row (or NULL) beside the earlier top-up's (or NULLs).
    _REPLAY_AND_LOCK = (
        "SELECT (SELECT locked_until FROM locks WHERE kind = ? AND key = ?), t.id, t.requester_msisdn, "
        "t.amount_minor, t.restored_minor, t.balance_after_minor, t.expires_at, v.serial, s.msisdn "
        "FROM (SELECT 1) LEFT JOIN topups t ON t.request_key = ? "
        "LEFT JOIN vouchers v ON v.id = t.voucher_id LEFT JOIN subscribers s ON s.id = t.subscriber_id"
    )

    def replay_and_lock(self, request_key: str | None, lock_kind: str,
                        lock_key: str) -> tuple[StoredTopUp | None, datetime | None]:
        (locked_until, topup_id, requester, amount_minor, restored_minor, balance_minor, expires_at, serial,
         msisdn) = self._conn.execute(self._REPLAY_AND_LOCK, (lock_kind, lock_key, request_key)).fetchone()
        lock = from_iso(locked_until)
        if topup_id is None:
            return None, lock
        return StoredTopUp(topup_id, msisdn, requester, amount_minor, restored_minor, balance_minor,
                           from_iso(expires_at), serial), lock  # type: ignore[arg-type]

    def record(self, *, request_key: str | None, requester: str, subscriber_id: int, voucher_id: int,
               credited_minor: int, restored_minor: int, balance_minor: int, expires_at: datetime,
               now: datetime, channel: str) -> int:
        cur = self._conn.execute(
            "INSERT INTO topups (request_key, requester_msisdn, subscriber_id, voucher_id, amount_minor, "
            "restored_minor, balance_after_minor, expires_at, at, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (request_key, requester, subscriber_id, voucher_id, credited_minor, restored_minor,
             balance_minor, iso(expires_at), iso(now), channel),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def record_attempt(self, msisdn: str, now: datetime, outcome: str, channel: str) -> None:
        self._conn.execute(
            "INSERT INTO topup_attempts (msisdn, at, outcome, channel) VALUES (?, ?, ?, ?)",
            (msisdn, iso(now), outcome, channel),
        )


class SqliteLocks(_Bound):
    __slots__ = ()

    def get(self, kind: str, key: str) -> datetime | None:
        return locks_sql.get(self._conn, kind, key)

    def register_failure(self, kind: str, key: str, last_lock: datetime | None, now: datetime,
                         limit: AttemptLimit) -> AttemptState:
        return locks_sql.register_failure(self._conn, kind, key, last_lock, now, limit)

    def reset(self, kind: str, key: str, now: datetime) -> datetime | None:
        return locks_sql.reset(self._conn, kind, key, now)

    def in_force(self, now: datetime) -> dict[str, int]:
        return locks_sql.in_force(self._conn, now)


class SqliteRateLimits(_Bound):
    """``rate_limits``: each number's full-again instant in unix milliseconds (migration 11)."""

    __slots__ = ()

    def spend(self, costs: Mapping[str, float], now: float) -> None:
        at = round(now * 1000)
        # In key order, as the PostgreSQL adapter, so two writers never wait on each other's rows in a cycle.
        self._conn.executemany(
            "INSERT INTO rate_limits (key, full_at_ms) VALUES (?, ? + ?) "
            "ON CONFLICT(key) DO UPDATE SET full_at_ms = max(full_at_ms, ?) + ?",
            [(key, at, ms, at, ms) for key, ms in sorted((k, round(c * 1000)) for k, c in costs.items())],
        )

    def full_at(self, keys: Sequence[str]) -> dict[str, float]:
        return {row[0]: row[1] / 1000 for row in self._conn.execute(
            "SELECT key, full_at_ms FROM rate_limits WHERE key IN (SELECT value FROM json_each(?))",
            (json.dumps(list(keys)),),
        )}

    def forget_full(self, now: float) -> int:
        return self._conn.execute("DELETE FROM rate_limits WHERE full_at_ms < ?", (round(now * 1000),)).rowcount


class SqliteUnitOfWork:
    """Every repository of the port, bound to one connection (made once per ``Store``)."""

    __slots__ = ("accounts", "postpaid", "vouchers", "topups", "locks", "rate_limits", "lost", "consent", "sessions",
                 "outbox", "inbox", "usage", "activity", "care", "journal", "reports", "audit")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.accounts: port.Accounts = SqliteAccounts(conn)
        self.postpaid: port.Postpaid = SqlitePostpaid(conn)
        self.vouchers: port.Vouchers = SqliteVouchers(conn)
        self.topups: port.TopUps = SqliteTopUps(conn)
        self.locks: port.Locks = SqliteLocks(conn)
        self.rate_limits: port.RateLimits = SqliteRateLimits(conn)
        self.lost: port.LostReports = LostReportsSql(conn)
        self.consent: port.Consent = ConsentSql(conn)
        self.sessions: port.Sessions = SessionsSql(conn)
        self.outbox: port.Outbox = OutboxSql(conn)
        self.inbox: port.Inbox = InboxSql(conn)
        self.usage: port.Usage = SqliteUsage(conn)
        self.activity: port.Activity = SqliteActivity(conn)
        self.care: port.Care = SqliteCare(conn)
        self.journal: port.Journal = SqliteJournal(conn)
        self.reports: port.Reports = SqliteReports(conn)
        self.audit: port.Audit = SqliteAudit(conn)
