"""The PostgreSQL flavour of ``gateway.store.portable``: ``%s`` placeholders, TIMESTAMPTZ and DATE values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any


class PgFlavour:
    """Mixed in before a portable repository, over the adapter's ``Sql`` (a transaction's connection, or the pool)."""

    __slots__ = ()
    _conn: Any

    def _run(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(query.replace("?", "%s"), params)

    def _instant(self, moment: datetime | None) -> Any:
        return moment

    def _day(self, day: date) -> Any:
        return day

    @staticmethod
    def _read_instant(value: Any) -> datetime | None:
        return value  # type: ignore[no-any-return]

    @staticmethod
    def _read_day(value: Any) -> date | None:
        return value  # type: ignore[no-any-return]
