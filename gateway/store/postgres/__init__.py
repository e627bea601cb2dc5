"""PostgreSQL storage, selected by ``[database] url``: connections and schema.

``connection`` opens the pool and runs transactions; ``migrations`` holds the
schema under the same version numbers as the SQLite migrations. psycopg is
imported only here, so the SQLite default never loads it.
"""
