"""Earned lockouts (wrong PINs, lost-SIM mismatches), keyed by kind and number."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.store.db import from_iso, iso


def get(conn: sqlite3.Connection, kind: str, key: str) -> datetime | None:
    row = conn.execute("SELECT locked_until FROM locks WHERE kind = ? AND key = ?", (kind, key)).fetchone()
    return from_iso(row["locked_until"]) if row else None


def put(conn: sqlite3.Connection, kind: str, key: str, until: datetime) -> None:
    conn.execute(
        "INSERT INTO locks (kind, key, locked_until) VALUES (?, ?, ?) "
        "ON CONFLICT(kind, key) DO UPDATE SET locked_until = excluded.locked_until",
        (kind, key, iso(until)),
    )
