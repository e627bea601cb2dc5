"""Both store adapters for one test: a fixture parameter, the database it opens, raw reads on either.

A fixture parametrised with ``params=BACKENDS`` calls ``open_backend``: on
``sqlite`` a migrated file in the test's tmp folder, on ``postgres`` a
migrated database of the test's own (``postgres_url``; skipped, or failed
under ``GATEWAY_TEST_REQUIRE_POSTGRES=1``, without a server). A test marked
``sqlite_only(reason)`` checks SQLite itself and is skipped on PostgreSQL.

``rows`` reads what a test checks with SQL written once for both (``?``
placeholders); a row answers by column name and by position, as
``sqlite3.Row`` does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ["sqlite", "postgres"]


@dataclass
class Backend:
    name: str
    #: The database port (``Store`` or ``PgDatabase``).
    store: Any
    #: Where it is: the SQLite file's path, or the PostgreSQL URL.
    where: str


def database_url(request: pytest.FixtureRequest) -> str:
    """The ``[database] url`` of this parameter: "" for SQLite, a fresh database's on PostgreSQL."""
    if request.param == "sqlite":
        return ""
    marker = request.node.get_closest_marker("sqlite_only")
    if marker is not None:
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else marker.kwargs.get('reason', '')}")
    return str(request.getfixturevalue("postgres_url"))


def open_sqlite(tmp_path: Path) -> Backend:
    """A migrated SQLite file in the test's tmp folder."""
    from gateway.store import open_store

    path = tmp_path / "gateway.db"
    return Backend("sqlite", open_store(path, migrate=True, synchronous="normal"), str(path))


def open_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    url = database_url(request)
    if not url:
        return open_sqlite(tmp_path)
    from gateway.store.postgres.uow import open_database

    return Backend("postgres", open_database(url, migrate=True), url)


def reopen(backend: Backend) -> Any:
    """Another connection to the same database, as a second process on it would have."""
    if backend.name == "sqlite":
        from gateway.store import open_store

        return open_store(backend.where, migrate=True, synchronous="normal")
    from gateway.store.postgres.uow import open_database

    return open_database(backend.where)


class Row(tuple):  # type: ignore[type-arg]
    """A result row readable by column name or by position."""

    _names: tuple[str, ...]

    def __new__(cls, names: tuple[str, ...], values: tuple[Any, ...]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self._names


def rows(store: Any, query: str, *params: Any) -> list[Any]:
    """Run ``query`` (``?`` placeholders) on either backend, outside any transaction."""
    conn = getattr(store, "conn", None)
    if conn is not None:  # SQLite's Store
        return list(conn.execute(query, params).fetchall())
    with store.pool.connection() as pg:
        cur = pg.execute(query.replace("?", "%s"), params)
        names = tuple(col.name for col in cur.description or ())
        return [Row(names, tuple(r)) for r in cur.fetchall()] if cur.description else []


def leaks(store: Any, secrets: list[str]) -> list[str]:
    """Where any of ``secrets`` is stored in clear (ASCII or UCS-2): on SQLite its files and every
    table (``file_leaks``), on PostgreSQL every table."""
    if getattr(store, "conn", None) is not None:
        return file_leaks(Path(store.path), secrets)
    forms = {s: (s.encode("ascii"), s.encode("utf-16-be"), s.encode("utf-16-le")) for s in secrets}
    found: list[str] = []
    tables = [r[0] for r in rows(store, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    for table in tables:
        for row in rows(store, f'SELECT * FROM "{table}"'):
            for value in row:
                if isinstance(value, (bytes, memoryview)):
                    hit = [s for s, encoded in forms.items() if any(e in bytes(value) for e in encoded)]
                else:
                    hit = [s for s in secrets if s in str(value)]
                found += [f"{table}: {s}" for s in hit]
    return found


def file_leaks(db: Path, secrets: list[str]) -> list[str]:
    """Where any of ``secrets`` appears in a SQLite database: the raw bytes of its files (ASCII, UCS-2),
    then every table."""
    found: list[str] = []
    forms = {s: (s.encode("ascii"), s.encode("utf-16-be"), s.encode("utf-16-le")) for s in secrets}
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db}{suffix}")
        if path.exists():
            raw = path.read_bytes()
            found += [f"{path.name}: {s}" for s, encoded in forms.items() if any(e in raw for e in encoded)]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        hit = [s for s, encoded in forms.items() if any(e in value for e in encoded)]
                    else:
                        hit = [s for s in secrets if s in str(value)]
                    found += [f"{table}: {s}" for s in hit]
    finally:
        conn.close()
    return found
