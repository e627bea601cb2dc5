"""The store: its port and the SQLite adapter.

``port`` declares what the services may ask of a database (repositories and
a unit of work, as Protocols, with their value types); the services import
nothing else from here. The SQLite adapter is ``sqlite_uow`` (the repositories
bound to a connection) over ``db`` (the connection and its transactions),
``migrations`` and the modules holding the SQL of each operation.

sqlite-utils builds the schema and does bulk loads; the per-request SQL is
plain prepared statements on the same ``sqlite3`` connection (sqlite-utils'
table API costs schema look-ups on every call, too slow for the hot path).
"""

import sqlite3

from gateway.store.db import Store, StoreBusy, StoreError, open_store

#: Every error the database in use may raise past the port: its own, and its driver's
#: (a file damaged under a running gateway fails in the middle of a statement).
DATABASE_ERRORS: tuple[type[Exception], ...] = (StoreError, sqlite3.DatabaseError)

__all__ = ["DATABASE_ERRORS", "Store", "StoreBusy", "StoreError", "open_store"]
