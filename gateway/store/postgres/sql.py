"""Statements on PostgreSQL: one connection inside its transaction, or a pooled one per statement.

Rows come back as dicts, fetched in full; the driver's failures leave as the
port's (``StoreBusy``: try again; ``StoreError``: the server is unusable).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from gateway.store.port import (
    StoreBusy,
    StoreError,
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

    def executemany(self, query: str, rows: Sequence[Sequence[Any]]) -> int:
        """``query`` once per row, pipelined (one round trip); the rows it changed, all told."""
        if not rows:
            return 0
        if self.conn is not None:
            return _many(self.conn, query, rows)
        with _errors(self._pool), self._pool.connection() as conn:
            return _many(conn, query, rows)

    def scalar(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.execute(query, params).fetchone()
        return None if row is None else next(iter(row.values()))


def _many(conn: Connection, query: str, rows: Sequence[Sequence[Any]]) -> int:
    cur = conn.cursor()
    cur.executemany(query, rows)
    return cur.rowcount


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
