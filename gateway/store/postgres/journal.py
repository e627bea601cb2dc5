"""The ``Journal`` repository on PostgreSQL: ``gateway.store.journal`` with ``%s`` placeholders and TIMESTAMPTZ."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.store.journal import JournalSql


class PgJournal(JournalSql):
    """Over the adapter's ``Sql`` (a transaction's connection, or the pool)."""

    __slots__ = ()

    def _sql(self, query: str) -> str:
        return query.replace("?", "%s")

    def _instant(self, moment: datetime | None) -> Any:
        return moment

    @staticmethod
    def _read_instant(value: Any) -> datetime | None:
        return value  # type: ignore[no-any-return]
