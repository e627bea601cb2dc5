"""USSD sessions as stored, on either database (``port.Sessions``; ``gateway.ussd.sessions``: when).

One implementation for both adapters (``gateway.store.portable``). ``load_and_latest``
is the request path's one read: the session by id and the number's newest
session of the code, in one statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.store.port import SessionRow, SessionState
from gateway.store.portable import SqliteFlavour

_COLUMNS = "session_id, msisdn, service_code, state, created_at, expires_at, updated_at FROM ussd_sessions "

_BOTH = (
    f"SELECT 0 AS which, {_COLUMNS}WHERE session_id = ? UNION ALL SELECT * FROM ("
    f"SELECT 1 AS which, {_COLUMNS}WHERE msisdn = ? AND service_code = ? ORDER BY created_at DESC LIMIT 1) AS latest"
)

_UPSERT = (
    "INSERT INTO ussd_sessions (session_id, msisdn, service_code, state, created_at, updated_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET msisdn = excluded.msisdn, "
    "service_code = excluded.service_code, state = excluded.state, created_at = excluded.created_at, "
    "updated_at = excluded.updated_at, expires_at = excluded.expires_at"
)


class SessionsSql(SqliteFlavour):
    """``port.Sessions`` in the SQLite flavour; ``PgFlavour`` mixed in before it makes the PostgreSQL one."""

    __slots__ = ()

    def load(self, session_id: str) -> SessionRow | None:
        return self._session(self._run(f"SELECT {_COLUMNS}WHERE session_id = ?", (session_id,)).fetchone())

    def latest(self, msisdn: str, service_code: str) -> SessionRow | None:
        return self._session(self._run(
            f"SELECT {_COLUMNS}WHERE msisdn = ? AND service_code = ? ORDER BY created_at DESC LIMIT 1",
            (msisdn, service_code),
        ).fetchone())

    def load_and_latest(self, session_id: str, msisdn: str,
                        service_code: str) -> tuple[SessionRow | None, SessionRow | None]:
        found: list[SessionRow | None] = [None, None]
        for row in self._run(_BOTH, (session_id, msisdn, service_code)).fetchall():
            found[row["which"]] = self._session(row)
        return found[0], found[1]

    def _session(self, row: Any) -> SessionRow | None:
        if row is None:
            return None
        return SessionRow(row["session_id"], row["msisdn"], row["service_code"], row["state"],
                          self._when(row["created_at"]), self._when(row["expires_at"]),
                          self._read_instant(row["updated_at"]))

    def save(self, rows: list[SessionState]) -> None:
        instant = self._instant
        self._many(_UPSERT, [
            (sid, msisdn, code, state, instant(created), instant(updated), instant(expires))
            for sid, msisdn, code, state, created, updated, expires in rows
        ])

    def touch(self, session_id: str, expires_at: datetime, now: datetime) -> None:
        self._run("UPDATE ussd_sessions SET updated_at = ?, expires_at = ? WHERE session_id = ?",
                  (self._instant(now), self._instant(expires_at), session_id))

    def sweep(self, before: datetime) -> int:
        return int(self._run("DELETE FROM ussd_sessions WHERE expires_at < ?", (self._instant(before),)).rowcount)
