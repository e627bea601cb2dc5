"""The dialogue journal and the aggregators' end-of-session reports, on either database (``port.Journal``).

One implementation for both adapters, as ``gateway.store.care``: the
statements are written once with ``?`` placeholders; the subclass says how
placeholders and instants differ. A journal row is replaced only by one whose
source ranks higher (``port.JOURNAL_SOURCES``), so whichever of the session
sweep, the aggregator's report and our own END lands first, the best
informed outcome stays; a report is stored once per session.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gateway.store.port import (
    JOURNAL_SOURCES,
    DialogueRecord,
    JournalCount,
    ReportCount,
    SessionReport,
    SessionRow,
)
from gateway.store.times import from_iso, iso

_RANK = "CASE {} " + " ".join(f"WHEN '{name}' THEN {rank}" for rank, name in enumerate(JOURNAL_SOURCES)) + " END"

_RECORD = (
    "INSERT INTO ussd_journal (session_id, path, service_code, msisdn, started_at, ended_at, outcome, screen, "
    "steps, detail, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (session_id) DO UPDATE SET path = excluded.path, service_code = excluded.service_code, "
    "msisdn = excluded.msisdn, started_at = excluded.started_at, ended_at = excluded.ended_at, "
    "outcome = excluded.outcome, screen = excluded.screen, steps = excluded.steps, detail = excluded.detail, "
    "source = excluded.source "
    f"WHERE {_RANK.format('ussd_journal.source')} < {_RANK.format('excluded.source')}"
)

_ADD_REPORT = (
    "INSERT INTO ussd_reports (session_id, service_code, msisdn, network_code, status, answers, duration_ms, "
    "hops, app_ended, error_message, cost, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (session_id) DO NOTHING"
)


class JournalSql:
    """The ``Journal`` repository over something that runs ``?`` statements (the SQLite flavour)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    # --- what differs between the databases -------------------------------------

    def _sql(self, query: str) -> str:
        return query

    def _instant(self, moment: datetime | None) -> Any:
        return iso(moment)

    @staticmethod
    def _read_instant(value: Any) -> datetime | None:
        return from_iso(value)

    # --- the repository -----------------------------------------------------------

    def record(self, rows: Sequence[DialogueRecord]) -> None:
        if not rows:
            return
        self._conn.executemany(self._sql(_RECORD), [
            (r.session_id, r.path, r.service_code, r.msisdn, self._instant(r.started_at),
             self._instant(r.ended_at), r.outcome, r.screen, r.steps, r.detail, r.source) for r in rows
        ])

    def add_report(self, report: SessionReport) -> bool:
        r = report
        app_ended = None if r.app_ended is None else int(r.app_ended)
        return bool(self._conn.execute(self._sql(_ADD_REPORT), (
            r.session_id, r.service_code, r.msisdn, r.network_code, r.status, r.answers, r.duration_ms, r.hops,
            app_ended, r.error_message, r.cost, self._instant(r.received_at),
        )).rowcount == 1)

    def counts(self, since: datetime | None) -> list[JournalCount]:
        where, params = ("WHERE j.started_at >= ? ", (self._instant(since),)) if since is not None else ("", ())
        return [JournalCount(row["service_code"], row["outcome"], row["screen"], row["status"], int(row["dialogues"]))
                for row in self._conn.execute(self._sql(
                    "SELECT j.service_code, j.outcome, j.screen, r.status, COUNT(*) AS dialogues "
                    "FROM ussd_journal j LEFT JOIN ussd_reports r ON r.session_id = j.session_id "
                    + where + "GROUP BY j.service_code, j.outcome, j.screen, r.status"), params).fetchall()]

    def unmatched_reports(self, since: datetime | None) -> list[ReportCount]:
        where, params = ("r.received_at >= ? AND ", (self._instant(since),)) if since is not None else ("", ())
        return [ReportCount(row["service_code"], row["status"], int(row["reports"]))
                for row in self._conn.execute(self._sql(
                    "SELECT r.service_code, r.status, COUNT(*) AS reports FROM ussd_reports r WHERE " + where
                    + "NOT EXISTS (SELECT 1 FROM ussd_journal j WHERE j.session_id = r.session_id) "
                    "GROUP BY r.service_code, r.status"), params).fetchall()]

    def unrecorded_sessions(self, after: datetime, until: datetime, limit: int) -> list[SessionRow]:
        rows = self._conn.execute(self._sql(
            "SELECT s.session_id, s.msisdn, s.service_code, s.state, s.created_at, s.expires_at "
            "FROM ussd_sessions s WHERE s.expires_at > ? AND s.expires_at <= ? "
            "AND NOT EXISTS (SELECT 1 FROM ussd_journal j WHERE j.session_id = s.session_id) "
            "ORDER BY s.expires_at LIMIT ?"), (self._instant(after), self._instant(until), limit)).fetchall()
        found = []
        for row in rows:
            created, expires = self._read_instant(row["created_at"]), self._read_instant(row["expires_at"])
            assert created is not None and expires is not None
            found.append(SessionRow(row["session_id"], row["msisdn"], row["service_code"], row["state"],
                                    created, expires))
        return found


class SqliteJournal(JournalSql):
    """On a SQLite connection: instants as UTC ISO text."""

    __slots__ = ()

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
