"""Fixtures every test folder may use: PostgreSQL (see ``tests/pg.py``)."""

from tests.pg import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]
