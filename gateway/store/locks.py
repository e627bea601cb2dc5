"""Earned lockouts (wrong PINs, lost-SIM mismatches), keyed by kind and number.

Kinds: ``topup`` (the requesting number), ``lost`` (the reporting phone),
``lost-number`` (the number a lost-SIM report names).

Failures are the refused attempts already recorded in an attempts table;
``register_failure`` counts the ones that still matter (inside the window,
after the last lock) and stores a lock when this failure earns one.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.domain.attempts import AttemptState, after_failure, count_failures_since, is_locked
from gateway.domain.policy import AttemptLimit
from gateway.store.port import LOCK_KINDS
from gateway.store.times import from_iso, iso

#: Where each kind of lock counts its failures: (table, key column, failure outcomes).
_FAILURES = {
    "topup": ("topup_attempts", "msisdn", ("WrongPin", "GiftRefused")),
    "lost": ("lost_attempts", "reporter_msisdn", ("LostDetailsMismatch",)),
    "lost-number": ("lost_attempts", "target_msisdn", ("LostDetailsMismatch",)),
}


def get(conn: sqlite3.Connection, kind: str, key: str) -> datetime | None:
    row = conn.execute("SELECT locked_until FROM locks WHERE kind = ? AND key = ?", (kind, key)).fetchone()
    return from_iso(row["locked_until"]) if row else None


def put(conn: sqlite3.Connection, kind: str, key: str, until: datetime) -> None:
    conn.execute(
        "INSERT INTO locks (kind, key, locked_until) VALUES (?, ?, ?) "
        "ON CONFLICT(kind, key) DO UPDATE SET locked_until = excluded.locked_until",
        (kind, key, iso(until)),
    )


def reset(conn: sqlite3.Connection, kind: str, key: str, now: datetime) -> datetime | None:
    """Lift ``key``'s lock of ``kind`` and restart its count at ``now``; the lock it had, if still on.

    The lock is kept as ending ``now``: failures before it no longer count
    (``count_failures_since``), so the next failure is the first again.
    """
    until = get(conn, kind, key)
    put(conn, kind, key, now)
    return until if is_locked(until, now) else None


def register_failure(
    conn: sqlite3.Connection, kind: str, key: str, last_lock: datetime | None, now: datetime, limit: AttemptLimit
) -> AttemptState:
    """The state after one more failure by ``key`` (not yet recorded); stores a lock it earns."""
    table, column, outcomes = _FAILURES[kind]
    since = count_failures_since(now, last_lock, limit)
    marks = ", ".join("?" * len(outcomes))
    earlier = conn.execute(
        f"SELECT COUNT(*) FROM {table} WHERE {column} = ? AND outcome IN ({marks}) AND at > ?",
        (key, *outcomes, iso(since)),
    ).fetchone()[0]
    state = after_failure(earlier + 1, now, limit)
    if state.locked_until is not None:
        put(conn, kind, key, state.locked_until)
    return state


def in_force(conn: sqlite3.Connection, now: datetime) -> dict[str, int]:
    """Keys locked out at ``now``, by kind: a scan of ``locks`` (a row per key ever locked, not per attempt)."""
    found = dict.fromkeys(LOCK_KINDS, 0)
    for row in conn.execute("SELECT kind, count(*) AS n FROM locks WHERE locked_until > ? GROUP BY kind",
                            (iso(now),)):
        found[row["kind"]] = row["n"]
    return found
