"""Migration 18 on a database that already sent campaigns: their marketing rows become campaigns (both backends).

Each backend's schema is built up to the version before 18, marketing rows
are written as ``campaign send`` wrote them then (one transaction, one
moment, one text), and migration 18 runs as ``db migrate`` would run it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.services import sms_delivery
from tests.support.backends import rows

BEFORE = 18
EARLY = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)
#: (destination, text, queued at, state) as the rows of two campaigns and one reply stood.
OLD_ROWS = [("85512345678", "May promo", EARLY, "delivered"), ("85512345679", "May promo", EARLY, "skipped"),
            ("85512345678", "Second promo", LATER, "queued"), ("85512345678", "Your balance", LATER, "delivered")]


def _insert(run, stamp) -> None:  # type: ignore[no-untyped-def]
    for destination, text, at, status in OLD_ROWS:
        kind = "reply" if text == "Your balance" else "marketing"
        run("INSERT INTO sms_outbox (source, destination, text, kind, status, attempts, next_attempt_at, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
            ("1204", destination, text, kind, status, stamp(at), stamp(at), stamp(at)))


def _sqlite_before(path: Path):  # type: ignore[no-untyped-def]
    from gateway.store import open_store
    from gateway.store.migrations import available, migrate
    from gateway.store.times import iso

    store = open_store(path, synchronous="normal")
    for module in available():
        if module.VERSION < BEFORE:
            with store.write():
                module.apply(store.db)
                store.conn.execute(f"PRAGMA user_version = {module.VERSION}")
    with store.write():
        _insert(lambda q, p: store.conn.execute(q, p), iso)
    assert migrate(store) == [BEFORE]
    return store


def _postgres_before(url: str):  # type: ignore[no-untyped-def]
    from gateway.store.postgres import connection
    from gateway.store.postgres.migrations import VERSIONS, migrate
    from gateway.store.postgres.uow import PgDatabase

    pool = connection.open_pool(url)
    with connection.transaction(pool) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                     "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        for version in sorted(v for v in VERSIONS if v < BEFORE):
            for statement in VERSIONS[version]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        _insert(lambda q, p: conn.execute(q.replace("?", "%s"), p), lambda at: at)
    assert migrate(pool) == [BEFORE]
    return PgDatabase(pool)


@pytest.fixture(params=["sqlite", "postgres"])
def migrated(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = (_sqlite_before(tmp_path / "gateway.db") if request.param == "sqlite"
             else _postgres_before(request.getfixturevalue("postgres_url")))
    yield store
    store.close()


def test_earlier_marketing_rows_are_gathered_into_campaigns(migrated) -> None:  # type: ignore[no-untyped-def]
    """Two texts sent at two moments are two campaigns, in the order they were sent, each counting its rows
    by state; the reply belongs to none."""
    campaigns = migrated.read_uow().reports.campaigns(limit=10)
    assert [(c.text, c.channel, dict(c.counts)) for c in reversed(campaigns)] == [
        ("May promo", "cli", {"delivered": 1, "skipped": 1}), ("Second promo", "cli", {"queued": 1})]
    assert [r[0] for r in rows(migrated, "SELECT campaign_id FROM sms_outbox WHERE kind = 'reply'")] == [None]
    assert sms_delivery.outbox_depth(migrated, LATER)["queued"] == 1
