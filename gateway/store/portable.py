"""SQL written once for both databases: the few things in which SQLite and PostgreSQL differ.

A repository whose statements run unchanged on both (``gateway.store.care``,
``gateway.store.console``) writes them with ``?`` placeholders and goes
through these methods for what differs: how a statement runs, and how an
instant and a day are stored (SQLite: UTC ISO text and ISO dates, which sort
as they read; PostgreSQL: TIMESTAMPTZ and DATE). This class is the SQLite
flavour; ``gateway.store.postgres.portable.PgFlavour`` is the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from gateway.store.db import date_from_iso, from_iso, iso


class SqliteFlavour:
    """Over something that runs ``?`` statements (a ``sqlite3`` connection)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _run(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(query, params)

    def _instant(self, moment: datetime | None) -> Any:
        return iso(moment)

    def _day(self, day: date) -> Any:
        return day.isoformat()

    @staticmethod
    def _read_instant(value: Any) -> datetime | None:
        return from_iso(value)

    @staticmethod
    def _read_day(value: Any) -> date | None:
        return date_from_iso(value)

    def _when(self, value: Any) -> datetime:
        """An instant of a NOT NULL column."""
        moment = self._read_instant(value)
        assert moment is not None
        return moment

    def _on(self, value: Any) -> date:
        """A day of a NOT NULL column."""
        day = self._read_day(value)
        assert day is not None
        return day
