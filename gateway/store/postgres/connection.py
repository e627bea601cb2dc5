"""Connections to PostgreSQL: one pool per process, a transaction per business operation.

The services are synchronous and run off the event loop (as on SQLite), so
the driver is psycopg 3's synchronous API with ``psycopg_pool``. Every
connection works in UTC, so times come back as the SQLite side's ``from_iso``
gives them. Messages name the database by its URL with the password masked.

Pooled connections are in autocommit mode: a plain read is one round trip
(in psycopg's default mode it would be three: an implicit ``BEGIN``, the
query, and the ``COMMIT`` the pool sends when it is handed back); every
write opens its transaction explicitly (``conn.transaction()``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from gateway.config import mask_url
from gateway.store.port import StoreBusy, StoreError

Connection = psycopg.Connection[Any]


def _configure(conn: Connection) -> None:
    conn.autocommit = True
    conn.execute("SET TIME ZONE 'UTC'")


def url_of(pool: ConnectionPool) -> str:
    """The URL ``pool`` connects to (for messages: pass it through ``mask_url``)."""
    return pool.conninfo if isinstance(pool.conninfo, str) else pool.conninfo()


def describe(exc: BaseException, url: str) -> str:
    """One line saying what went wrong, without the URL's password even if libpq quoted it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for secret in _passwords(url):
        text = text.replace(secret, "***")
    return text


def _passwords(url: str) -> list[str]:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return []
    found = [parts.password] if parts.password else []
    found += [value for key, value in urllib.parse.parse_qsl(parts.query) if key == "password" and value]
    return found + [urllib.parse.unquote(p) for p in found if urllib.parse.unquote(p) != p]


def open_pool(url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 5.0) -> ConnectionPool:
    """A pool of connections to ``url``, open and checked: the server answers and accepts us.

    ``timeout``: seconds to connect, and later the longest a caller waits for a free connection.

    Raises:
        StoreError: the server cannot be reached or refuses the connection.
    """
    try:
        # One direct connection first: the pool retries in the background and
        # would only say "timeout"; this says why (refused, unknown database, ...).
        with psycopg.connect(url, connect_timeout=max(1, round(timeout))):
            pass
    except psycopg.Error as exc:
        raise StoreError(f"{mask_url(url)}: cannot connect: {describe(exc, url)}") from None
    pool: ConnectionPool = ConnectionPool(url, min_size=min_size, max_size=max_size, timeout=timeout,
                                          configure=_configure, open=False, name="gateway")
    try:
        pool.open(wait=True, timeout=timeout)
    except PoolTimeout:
        pool.close()
        raise StoreError(f"{mask_url(url)}: cannot connect within {timeout:g} s") from None
    return pool


@contextmanager
def transaction(pool: ConnectionPool, timeout: float | None = None) -> Iterator[Connection]:
    """A connection inside one transaction: committed when the block ends, rolled back if it raises.

    Raises:
        StoreBusy: no connection came free within ``timeout`` (default: the pool's).
    """
    try:
        conn = pool.getconn(timeout=timeout)
    except PoolTimeout:
        raise StoreBusy("database: no connection free in time; try again") from None
    try:
        with conn.transaction():  # (the pool's connections are in autocommit mode: BEGIN here)
            yield conn
    finally:
        pool.putconn(conn)


def readiness(pool: ConnectionPool, timeout: float = 1.0) -> str | None:
    """Why the database cannot serve now (None: it answers a query within ``timeout``)."""
    try:
        with pool.connection(timeout=timeout) as conn:
            conn.execute("SELECT 1").fetchone()
    except PoolTimeout:
        return f"no connection within {timeout:g} s"
    except psycopg.Error as exc:
        return describe(exc, url_of(pool))
    return None
