"""The PostgreSQL schema is the SQLite schema: same versions, tables, columns, keys and indexes.

Both are built by their own migrations (SQLite in a file under ``tmp_path``,
PostgreSQL in a fresh database of the test cluster) and read back from each
engine's catalog, so a migration added to one side only fails here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg_pool import ConnectionPool

from gateway.store import open_store
from gateway.store.migrations import available
from gateway.store.postgres import connection, migrations

#: PostgreSQL types a SQLite declared type may become (see gateway/store/postgres/migrations.py).
COMPATIBLE = {
    "INTEGER": {"bigint", "integer", "smallint"},
    "TEXT": {"text", "timestamp with time zone", "date"},
    "BLOB": {"bytea"},
}
#: Tables of PostgreSQL's own bookkeeping (SQLite keeps the version in PRAGMA user_version).
PG_ONLY_TABLES = {"schema_version"}

Index = tuple[str, tuple[str, ...], bool, bool]  # table, columns, unique, partial


class Schema:
    def __init__(self) -> None:
        self.columns: dict[str, dict[str, tuple[str, bool]]] = {}  # table -> column -> (type, not null)
        self.primary_keys: dict[str, tuple[str, ...]] = {}
        self.indexes: set[Index] = set()
        self.foreign_keys: set[tuple[str, str, str, str]] = set()


def sqlite_schema(path: Path) -> Schema:
    open_store(path, migrate=True, synchronous="normal").close()
    conn = sqlite3.connect(path)
    schema = Schema()
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()
            pk = [row for row in info if row[5]]
            schema.primary_keys[table] = tuple(row[1] for row in sorted(pk, key=lambda r: r[5]))
            # A primary key column is never NULL in PostgreSQL; SQLite only says so for INTEGER ones.
            schema.columns[table] = {row[1]: (row[2].upper(), bool(row[3] or row[5])) for row in info}
            for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})"):
                if origin == "pk":
                    continue
                cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({name})"))
                schema.indexes.add((table, cols, bool(unique), bool(partial)))
            for row in conn.execute(f"PRAGMA foreign_key_list({table})"):
                schema.foreign_keys.add((table, row[3], row[2], row[4] or "id"))
    finally:
        conn.close()
    return schema


def postgres_schema(pool: ConnectionPool) -> Schema:
    schema = Schema()
    with connection.transaction(pool) as conn:
        for table, column, type_, nullable in conn.execute(
                "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_schema = 'public'"):
            if table not in PG_ONLY_TABLES:
                schema.columns.setdefault(table, {})[column] = (type_, nullable == "NO")
        for table, cols, unique, primary, partial in conn.execute(
                "SELECT t.relname, array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o) "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), "
                "i.indisunique, i.indisprimary, i.indpred IS NOT NULL "
                "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_namespace s ON s.oid = t.relnamespace WHERE s.nspname = 'public'"):
            if table in PG_ONLY_TABLES:
                continue
            if primary:
                schema.primary_keys[table] = tuple(cols)
            else:
                schema.indexes.add((table, tuple(cols), unique, partial))
        for row in conn.execute(
                "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname "
                "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
                "WHERE c.contype = 'f'"):
            schema.foreign_keys.add(tuple(row))
    for table in schema.columns:
        schema.primary_keys.setdefault(table, ())
    return schema


@pytest.fixture
def pool(postgres_url: str) -> Iterator[ConnectionPool]:
    pool = connection.open_pool(postgres_url, max_size=2)
    yield pool
    pool.close()


@pytest.fixture
def schemas(tmp_path: Path, pool: ConnectionPool) -> tuple[Schema, Schema]:
    migrations.migrate(pool)
    return sqlite_schema(tmp_path / "gateway.db"), postgres_schema(pool)


def test_both_sides_have_the_same_migration_versions() -> None:
    """Every SQLite migration has its PostgreSQL twin under the same number, and no other."""
    assert sorted(migrations.VERSIONS) == [module.VERSION for module in available()]


def test_same_tables_and_columns_of_compatible_types(schemas: tuple[Schema, Schema]) -> None:
    """Every table and column of the migrated SQLite database is in PostgreSQL, and nothing else."""
    lite, pg = schemas
    assert sorted(pg.columns) == sorted(lite.columns)
    for table, columns in lite.columns.items():
        assert sorted(pg.columns[table]) == sorted(columns), table
        for name, (declared, not_null) in columns.items():
            type_, pg_not_null = pg.columns[table][name]
            assert type_ in COMPATIBLE[declared], (table, name, declared, type_)
            assert pg_not_null == not_null, (table, name, "NOT NULL" if not_null else "nullable")


def test_same_keys_unique_indexes_and_foreign_keys(schemas: tuple[Schema, Schema]) -> None:
    """The constraints behind the exactly-once rules hold on both (vouchers, request keys, dedupe keys)."""
    lite, pg = schemas
    assert pg.primary_keys == lite.primary_keys
    unique = {index for index in lite.indexes if index[2]}
    assert {index for index in pg.indexes if index[2]} == unique
    assert ("vouchers", ("pin_hash",), True, False) in unique  # the check sees what it is for
    assert ("topups", ("request_key",), True, False) in unique
    assert ("sms_outbox", ("dedupe_key",), True, False) in unique
    assert pg.foreign_keys == lite.foreign_keys


def test_every_sqlite_index_and_the_outbox_claim_indexes(schemas: tuple[Schema, Schema]) -> None:
    """The same look-ups are indexed on both; PostgreSQL adds partial indexes for the outbox claim."""
    lite, pg = schemas
    assert lite.indexes <= pg.indexes, sorted(lite.indexes - pg.indexes)
    assert ("sms_outbox", ("status", "kind", "next_attempt_at"), False, False) in pg.indexes
    assert ("sms_outbox", ("kind", "next_attempt_at"), False, True) in pg.indexes
    assert ("sms_outbox", ("lease_until",), False, True) in pg.indexes
