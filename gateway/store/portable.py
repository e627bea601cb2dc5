"""SQL written once for both databases: the few things in which SQLite and PostgreSQL differ.

A repository whose statements run unchanged on both (``gateway.store.care``,
``gateway.store.console``, ``gateway.store.sms``, …) writes them with ``?``
(or ``:name``) placeholders and goes through these methods for what differs:
how a statement runs and returns a new row's id, how a list of ids is matched,
how a prefix is tested, whether claimed rows are locked, and how an instant
and a day are stored (SQLite: UTC ISO text and ISO dates, which sort as they
read; PostgreSQL: TIMESTAMPTZ and DATE). A value read back is compared only
with a value made by ``_instant``, so the code above never needs to know which.
This class is the SQLite flavour; ``gateway.store.postgres.portable.PgFlavour``
is the other.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from gateway.store.times import date_from_iso, from_iso, iso

#: Ids per ``IN (…)`` list: under SQLite's host-parameter limit.
_CHUNK = 500


class SqliteFlavour:
    """Over something that runs ``?`` statements (a ``sqlite3`` connection)."""

    __slots__ = ("_conn",)

    #: What follows a SELECT of rows to claim (SQLite's one writer already makes select and update one step).
    _claiming = ""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _run(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self._conn.execute(query, params)

    def _many(self, query: str, rows: Sequence[Sequence[Any]]) -> int:
        """``query`` once per row, in one call; the rows it changed, all told."""
        return int(self._conn.executemany(query, rows).rowcount) if rows else 0

    def _scalar(self, query: str, params: Sequence[Any] = ()) -> Any:
        row = self._conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    def _insert(self, query: str, params: Sequence[Any]) -> int | None:
        """Run an INSERT; the new row's id (None: ``ON CONFLICT DO NOTHING`` skipped it)."""
        cur = self._conn.execute(query, params)
        return cur.lastrowid if cur.rowcount else None

    def _insert_unique(self, query: str, params: Sequence[Any], duplicate: type[Exception]) -> int:
        """Run an INSERT that a unique index may refuse: the new row's id, or ``duplicate`` raised with the
        database's words (the statement undone, the transaction still usable)."""
        try:
            cur = self._conn.execute(query, params)
        except sqlite3.IntegrityError as exc:
            raise duplicate(str(exc)) from exc
        return int(cur.lastrowid)

    @staticmethod
    def _starts_with(column: str) -> str:
        """A condition: ``column`` starts with the next parameter."""
        return f"instr({column}, ?) = 1"

    @staticmethod
    def _among(ids: Sequence[Any]) -> Iterator[tuple[str, Sequence[Any]]]:
        """``(condition, parameters)`` whose conditions together match ``ids``: ``IN (…)`` lists here."""
        ids = list(ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            yield f"IN ({','.join('?' * len(chunk))})", chunk

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
