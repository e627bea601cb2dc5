"""Queueing SMS in the outbox, inside the caller's transaction.

A confirmation is queued in the same transaction as the top-up it confirms:
either both are saved or neither. The SMPP sender takes rows from there.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.store.db import iso
from gateway.store.port import OutgoingSms

_ENQUEUE = (
    "INSERT INTO sms_outbox (source, destination, text, kind, status, attempts, "
    "next_attempt_at, created_at, updated_at, dedupe_key, campaign_id) "
    "VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING"
)


def enqueue(conn: sqlite3.Connection, sms: OutgoingSms, now: datetime) -> int | None:
    """Queue ``sms``; returns its id, or None when ``dedupe_key`` was queued before."""
    stamp = iso(now)
    cur = conn.execute(
        _ENQUEUE, (sms.source, sms.destination, sms.text, sms.kind, stamp, stamp, stamp, sms.dedupe_key,
                   sms.campaign_id),
    )
    return cur.lastrowid if cur.rowcount else None


def enqueue_many(conn: sqlite3.Connection, messages: list[OutgoingSms], now: datetime) -> int:
    """Queue ``messages`` in one statement; returns how many were new (the rest had a
    ``dedupe_key`` queued before)."""
    stamp = iso(now)
    before = conn.total_changes
    conn.executemany(
        _ENQUEUE,
        [(m.source, m.destination, m.text, m.kind, stamp, stamp, stamp, m.dedupe_key, m.campaign_id)
         for m in messages],
    )
    return conn.total_changes - before
