"""The PostgreSQL schema, under the same version numbers as ``gateway.store.migrations``.

``VERSIONS[n]`` is the DDL that brings a database from version n-1 to n, the
equivalent of the SQLite module ``m000n_*``: the same tables, columns, unique
indexes and constraints (they back the exactly-once rules), with the same
index names. Versions are recorded in ``schema_version``; each is applied in
its own transaction under an advisory lock, so gateways starting together
migrate once. A migration added to one side only fails
``tests/store/test_postgres_schema.py``.

Types: ids, foreign keys and money are BIGINT; counts INTEGER; the SQLite
side's 0/1 flags SMALLINT 0/1 (the same SQL runs on both); instants
TIMESTAMPTZ (SQLite keeps them as UTC ISO text, which sorts the same way);
``vouchers.expires_on`` and the bills' days (local days) DATE; binary BYTEA.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import ConnectionPool

from gateway.config import mask_url
from gateway.store.port import StoreError
from gateway.store.postgres.connection import Connection, describe, transaction, url_of
from gateway.store.postgres.schema import LATEST, VERSIONS

__all__ = ["LATEST", "VERSIONS", "current_version", "migrate"]

#: Key of the advisory lock that serialises migrations (any constant; "gwschema" in ASCII).
_LOCK_KEY = 0x6777736368656D61

_VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS schema_version ("
                  "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")


def _version(conn: Connection) -> int:
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    row = conn.execute("SELECT COALESCE(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row is not None else 0


def current_version(pool: ConnectionPool) -> int:
    """The schema version of the database (0: none yet).

    Raises:
        StoreError: the database cannot be read.
    """
    try:
        with transaction(pool) as conn:
            return _version(conn)
    except psycopg.Error as exc:
        raise StoreError(f"{mask_url(url_of(pool))}: {describe(exc, url_of(pool))}") from None


def migrate(pool: ConnectionPool) -> list[int]:
    """Apply every version newer than the database, each in its own transaction; the versions applied.

    Raises:
        StoreError: the database is newer than this code, or a migration failed
            (that migration is rolled back; the versions before it stay).
    """
    where = mask_url(url_of(pool))
    applied = []
    for version in sorted(VERSIONS):
        try:
            with transaction(pool) as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                conn.execute(_VERSION_TABLE)
                found = _version(conn)
                if found > LATEST:
                    raise StoreError(f"{where}: schema version {found} is newer than this gateway ({LATEST})")
                if found >= version:
                    continue
                for statement in VERSIONS[version]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        except psycopg.Error as exc:
            raise StoreError(f"{where}: migration {version} failed: {describe(exc, url_of(pool))}") from exc
        applied.append(version)
    return applied
