"""The PostgreSQL flavour of ``gateway.store.portable``: ``%s`` placeholders, TIMESTAMPTZ and DATE values."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from psycopg import errors as pg_errors

_NAMED = re.compile(r"(?<![:\w]):(\w+)")
#: Portable statement → its psycopg text, made once per statement.
_TRANSLATED: dict[str, str] = {}


def pg(query: str) -> str:
    """``query`` with psycopg's placeholders: ``?`` → ``%s``, ``:name`` → ``%(name)s`` (``::type`` stays)."""
    found = _TRANSLATED.get(query)
    if found is None:
        found = _TRANSLATED[query] = _NAMED.sub(r"%(\1)s", query.replace("%", "%%")).replace("?", "%s")
    return found


class PgFlavour:
    """Mixed in before a portable repository, over the adapter's ``Sql`` (a transaction's connection, or the pool)."""

    __slots__ = ()
    _conn: Any

    #: Claimants on other connections each get rows of their own, and never wait for each other.
    _claiming = " FOR UPDATE SKIP LOCKED"

    def _run(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self._conn.execute(pg(query), params)

    def _many(self, query: str, rows: Sequence[Sequence[Any]]) -> int:
        return int(self._conn.executemany(pg(query), rows))

    def _scalar(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.scalar(pg(query), params)

    def _insert(self, query: str, params: Sequence[Any]) -> int | None:
        found = self._conn.scalar(pg(query + " RETURNING id"), params)
        return None if found is None else int(found)

    def _insert_unique(self, query: str, params: Sequence[Any], duplicate: type[Exception]) -> int:
        assert self._conn.conn is not None, "an insert that may be refused runs inside write_uow"
        try:
            with self._conn.conn.transaction():  # a savepoint: the refusal leaves the transaction usable
                return int(self._conn.scalar(pg(query + " RETURNING id"), params))
        except pg_errors.UniqueViolation as exc:
            raise duplicate(str(exc)) from exc

    @staticmethod
    def _starts_with(column: str) -> str:
        return f"starts_with({column}, ?)"

    @staticmethod
    def _among(ids: Sequence[Any]) -> Iterator[tuple[str, Sequence[Any]]]:
        if ids:
            yield "= ANY(?)", (list(ids),)

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
