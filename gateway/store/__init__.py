"""The store: its port, the SQLite adapter and (``postgres``) the PostgreSQL one.

``port`` declares what the services may ask of a database (repositories and
a unit of work, as Protocols, with their value types); the services import
nothing else from here. ``open_database`` opens the one ``[database]`` names.
The SQLite adapter is ``sqlite_uow`` (the repositories bound to a connection)
over ``db`` (the connection and its transactions), ``migrations`` and the
modules holding the SQL of each operation.

sqlite-utils builds the schema and does bulk loads; the per-request SQL is
plain prepared statements on the same ``sqlite3`` connection (sqlite-utils'
table API costs schema look-ups on every call, too slow for the hot path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from gateway.store.db import Store, open_store
from gateway.store.port import DATABASE_ERRORS, StoreBusy, StoreError

if TYPE_CHECKING:
    from gateway.store.postgres.uow import PgDatabase

class DatabaseChoice(Protocol):
    """Where the data is (``[database]``, ``gateway.config.DatabaseSettings``)."""

    @property
    def url(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def busy_timeout_ms(self) -> int: ...
    @property
    def synchronous(self) -> str: ...


def open_database(choice: DatabaseChoice, *, migrate: bool = False, create: bool = True) -> Store | PgDatabase:
    """The database ``[database]`` names: PostgreSQL at ``url`` when set, else the SQLite file ``path``.

    ``busy_timeout_ms`` is also, on PostgreSQL, the longest wait to connect or for a
    free pooled connection; ``synchronous`` and ``create`` are SQLite's (a server
    database exists before the gateway).

    Raises:
        StoreError: the database cannot be opened, or a migration failed.
    """
    if choice.url:
        from gateway.store.postgres.uow import open_database as open_postgres

        return open_postgres(choice.url, timeout=choice.busy_timeout_ms / 1000, migrate=migrate)
    return open_store(choice.path, busy_timeout_ms=choice.busy_timeout_ms, synchronous=choice.synchronous,
                      migrate=migrate, create=create)


__all__ = ["DATABASE_ERRORS", "Store", "StoreBusy", "StoreError", "DatabaseChoice", "open_database", "open_store"]
