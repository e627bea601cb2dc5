"""Vouchers and top-ups, the lockouts failures earn, and the per-number rate limits, on PostgreSQL.

Vouchers are ``gateway.store.vouchers`` in the PostgreSQL flavour; failures of one key and a resent
request are serialised per key by transaction-scoped advisory locks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from gateway.domain.attempts import AttemptState, after_failure, count_failures_since, is_locked
from gateway.domain.policy import AttemptLimit
from gateway.store.port import (
    LOCK_KINDS,
    StoredTopUp,
)
from gateway.store.postgres.portable import PgFlavour
from gateway.store.postgres.sql import _Bound
from gateway.store.vouchers import VouchersSql


class PgVouchers(PgFlavour, VouchersSql):
    """Over the adapter's ``Sql``: in a write transaction the voucher found is locked until its commit."""

    __slots__ = ()

    @property
    def _row_lock(self) -> str:  # type: ignore[override]
        return " FOR UPDATE" if self._conn.lock else ""


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
