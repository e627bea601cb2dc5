"""PostgreSQL storage, selected by ``[database] url``: the store port's second adapter.

``uow`` is the adapter (``PgDatabase`` and its unit of work, over the
repositories beside it); ``connection`` opens the pool; ``migrations`` holds the
schema under the same version numbers as the SQLite migrations. psycopg is
imported only here, so the SQLite default never loads it.
"""
