"""``gateway.store.postgres.connection`` against a real server: pool, transactions, readiness."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from gateway.store import StoreBusy, StoreError
from gateway.store.postgres import connection
from tests.support.net import free_port
from tests.support.pg import PostgresServer


@pytest.fixture
def pool(postgres_url: str) -> Iterator[ConnectionPool]:
    pool = connection.open_pool(postgres_url, max_size=2, timeout=5.0)
    with connection.transaction(pool) as conn:
        conn.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, at TIMESTAMPTZ)")
    yield pool
    pool.close()


def rows(url: str) -> list[int]:
    """What another connection sees: only committed rows."""
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM t ORDER BY id")]


def test_a_transaction_commits_when_its_block_ends(pool: ConnectionPool, postgres_url: str) -> None:
    with connection.transaction(pool) as conn:
        conn.execute("INSERT INTO t (id) VALUES (1), (2)")
        assert rows(postgres_url) == []  # not before the commit
    assert rows(postgres_url) == [1, 2]


def test_a_transaction_that_raises_leaves_nothing(pool: ConnectionPool, postgres_url: str) -> None:
    with pytest.raises(ZeroDivisionError), connection.transaction(pool) as conn:
        conn.execute("INSERT INTO t (id) VALUES (1)")
        raise ZeroDivisionError("the work of the transaction failed")
    assert rows(postgres_url) == []
    with connection.transaction(pool) as conn:  # the connection went back clean
        conn.execute("INSERT INTO t (id) VALUES (3)")
    assert rows(postgres_url) == [3]


def test_times_come_back_in_utc(postgres_url: str) -> None:
    """On a database whose default zone is not UTC, instants still read back in UTC."""
    name = urllib.parse.urlsplit(postgres_url).path.lstrip("/")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{name}\" SET timezone = 'Asia/Phnom_Penh'")
    pool = connection.open_pool(postgres_url, max_size=1)
    try:
        with connection.transaction(pool) as conn:
            row = conn.execute("SELECT '2027-01-01 07:00:00+07'::timestamptz").fetchone()
    finally:
        pool.close()
    assert row is not None
    assert row[0].utcoffset() == timedelta(0)
    assert row[0].isoformat() == "2027-01-01T00:00:00+00:00"


def test_no_free_connection_in_time_is_busy(pool: ConnectionPool) -> None:
    """With every connection taken, the next caller is told "busy", not left waiting."""
    with connection.transaction(pool), connection.transaction(pool):
        with pytest.raises(StoreBusy):
            with connection.transaction(pool, timeout=0.2):
                pass  # pragma: no cover


def test_readiness_says_when_the_database_is_gone(
        pool: ConnectionPool, postgres_url: str, postgres_server: PostgresServer) -> None:
    assert connection.readiness(pool) is None
    postgres_server.drop(urllib.parse.urlsplit(postgres_url).path.lstrip("/"))
    reason = connection.readiness(pool)
    assert reason, "a dropped database must not look ready"


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    url = f"postgresql://gw:hunter2-pw@127.0.0.1:{free_port()}/gw"
    with pytest.raises(StoreError) as info:
        connection.open_pool(url, timeout=2.0)
    message = str(info.value)
    assert message.startswith("postgresql://gw:***@127.0.0.1:") and "cannot connect" in message
    assert "hunter2-pw" not in message and "\n" not in message


def test_a_refused_login_is_named(postgres_url: str) -> None:
    """Connecting to a database that does not exist says so (and not by a timeout)."""
    url = urllib.parse.urlsplit(postgres_url)._replace(path="/no_such_db").geturl()
    with pytest.raises(StoreError, match='database "no_such_db" does not exist'):
        connection.open_pool(url, timeout=2.0)
