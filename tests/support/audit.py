"""What a crash or a refused request must never break, read straight from the database (a SQLite file,
or PostgreSQL for ``pg_audit``) after the ``serve`` process that wrote it is gone, or while it runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from gateway.domain.account import Bucket
from gateway.store.accounts import ledger_totals


def audit(db: Path) -> dict[str, int]:
    """Assert the money invariants and the file's integrity; returns counts for the caller.

    No voucher redeemed twice; each used voucher has exactly one top-up and
    one credit in the ledger, and each top-up credit a used voucher; every
    balance equals its ledger.
    """
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        used = conn.execute("SELECT COUNT(*) FROM vouchers WHERE status = 'used'").fetchone()[0]
        topups = conn.execute("SELECT COUNT(*) FROM topups").fetchone()[0]
        assert used == topups, (used, topups)
        # Each top-up names a distinct voucher that is used (the unique index holds it too).
        assert conn.execute(
            "SELECT COUNT(DISTINCT t.voucher_id) FROM topups t JOIN vouchers v ON v.id = t.voucher_id "
            "WHERE v.status = 'used'").fetchone()[0] == topups
        # One ledger credit per redeemed voucher (referenced by its serial), and no other credit.
        used_serials = {r[0] for r in conn.execute("SELECT serial FROM vouchers WHERE status = 'used'")}
        credits = dict(conn.execute(
            "SELECT reference, COUNT(*) FROM ledger WHERE kind = 'topup' GROUP BY reference").fetchall())
        assert credits == {serial: 1 for serial in used_serials}
        for row in conn.execute("SELECT id, main_minor, restorable_minor FROM subscribers"):
            totals = ledger_totals(conn, row["id"])
            promo = conn.execute("SELECT COALESCE(SUM(amount_minor), 0) FROM promo_lots WHERE subscriber_id = ?",
                                 (row["id"],)).fetchone()[0]
            assert (totals[Bucket.MAIN], totals[Bucket.RESTORABLE], totals[Bucket.PROMO]) == (
                row["main_minor"], row["restorable_minor"], promo), row["id"]
        return {"used": used, "topups": topups}
    finally:
        conn.close()


def money_state(db: Path) -> list[tuple[object, ...]]:
    """Balances, ledger and vouchers: what no refused or malformed request may change."""
    conn = sqlite3.connect(db)
    try:
        rows: list[tuple[object, ...]] = []
        for query in ("SELECT id, main_minor, main_expires_at, restorable_minor FROM subscribers ORDER BY id",
                      "SELECT * FROM ledger ORDER BY id", "SELECT id, status, used_by FROM vouchers ORDER BY id",
                      "SELECT * FROM lost_reports ORDER BY id"):
            rows += [tuple(r) for r in conn.execute(query)]
        return rows
    finally:
        conn.close()


def file_rows(db: Path, query: str, *args: object) -> list[sqlite3.Row]:
    """Rows of ``query`` on the SQLite file ``db``, by a connection of its own."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def pg_audit(url: str) -> dict[str, int]:
    """Assert that every balance equals its ledger rows and each used voucher has one top-up and one
    ledger credit (and each credit a used voucher); counts of used vouchers and top-ups."""
    with psycopg.connect(url) as conn:
        used_serials = {r[0] for r in conn.execute("SELECT serial FROM vouchers WHERE status = 'used'")}
        credits = dict(conn.execute(
            "SELECT reference, count(*) FROM ledger WHERE kind = 'topup' GROUP BY reference").fetchall())
        assert credits == {serial: 1 for serial in used_serials}
        assert conn.execute("SELECT count(DISTINCT voucher_id) = count(*) FROM topups").fetchone() == (True,)
        off = conn.execute(
            "SELECT s.id FROM subscribers s LEFT JOIN (SELECT subscriber_id, bucket, sum(delta_minor) AS total "
            "FROM ledger GROUP BY subscriber_id, bucket) l ON l.subscriber_id = s.id AND l.bucket = 'main' "
            "WHERE s.main_minor <> COALESCE(l.total, 0)").fetchall()
        assert off == [], off
        used = conn.execute("SELECT count(*) FROM vouchers WHERE status = 'used'").fetchone()
        topups = conn.execute("SELECT count(*) FROM topups").fetchone()
    assert used is not None and topups is not None
    return {"used": used[0], "topups": topups[0]}
