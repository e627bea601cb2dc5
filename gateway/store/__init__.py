"""SQLite storage: schema, migrations, and the SQL of each business operation.

sqlite-utils builds the schema and does bulk loads; the per-request SQL is
plain prepared statements on the same ``sqlite3`` connection (sqlite-utils'
table API costs schema look-ups on every call, too slow for the hot path).
"""

from gateway.store.db import Store, StoreBusy, StoreError, open_store

__all__ = ["Store", "StoreBusy", "StoreError", "open_store"]
