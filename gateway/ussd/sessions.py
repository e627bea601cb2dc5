"""USSD sessions: what a replayed dialogue keeps between requests.

The aggregator resends the whole path in ``text``, so navigation needs no
state. A session is remembered only when it must be:

- a dialogue screen was shown (menu, input, confirmation): its idle expiry
  must be enforced, across a restart too — one row when it starts;
- a written action answered (top-up, lost SIM, consent, language): its
  result is kept with the session, so a resent request gets the same screen
  and nothing happens twice — one row update.

The idle deadline moves in memory on every request; the row is only
refreshed when less than half the idle period is left on it, so a typical
dialogue costs one write. After a restart a session may therefore expire up
to half an idle period early, never late. Rows are kept ``RETENTION`` past
their expiry, so a late request is told the session expired rather than
starting afresh, then deleted by ``sweep``.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.store import Store
from gateway.store.db import from_iso, iso
from menus.model import Caller

RETENTION = timedelta(hours=1)


@dataclass
class Session:
    session_id: str
    msisdn: str
    service_code: str
    caller: Caller
    created_at: datetime
    #: Idle deadline, moved on every request.
    expires_at: datetime
    #: The deadline the row holds (None: no row yet).
    stored_until: datetime | None = None
    #: Rendered results of written actions, by answer path.
    results: dict[str, str] = field(default_factory=dict)
    #: Wrong voucher PINs tried in this session.
    wrong_pins: int = 0
    #: Its last screen was an END: it leaves the cache once its row is written.
    ended: bool = False


# --- SQL (synchronous: run through DbRunner) ------------------------------------

def load_row(store: Store, session_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = store.read().execute(
        "SELECT session_id, msisdn, service_code, state, created_at, expires_at "
        "FROM ussd_sessions WHERE session_id = ?", (session_id,),
    ).fetchone()
    return row


def from_row(row: sqlite3.Row, caller: Caller) -> Session:
    state = json.loads(row["state"] or "{}")
    expires = from_iso(row["expires_at"])
    created = from_iso(row["created_at"])
    assert expires is not None and created is not None
    language = state.get("language") or caller.language
    return Session(
        session_id=row["session_id"], msisdn=row["msisdn"], service_code=row["service_code"],
        caller=Caller(caller.msisdn, language, caller.refusal), created_at=created,
        expires_at=expires, stored_until=expires, results=dict(state.get("results", {})),
        wrong_pins=int(state.get("wrong_pins", 0)),
    )


def state_row(session: Session, now: datetime) -> tuple[str, str, str, str, str | None, str | None, str | None]:
    """The row of ``session`` as it stands, for ``save_rows``."""
    state = json.dumps({"language": session.caller.language, "results": session.results,
                        "wrong_pins": session.wrong_pins}, ensure_ascii=False)
    return (session.session_id, session.msisdn, session.service_code, state,
            iso(session.created_at), iso(now), iso(session.expires_at))


_UPSERT = (
    "INSERT INTO ussd_sessions (session_id, msisdn, service_code, state, created_at, "
    "updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, "
    "updated_at = excluded.updated_at, expires_at = excluded.expires_at"
)


def save(store: Store, session: Session, now: datetime) -> None:
    save_rows(store, [state_row(session, now)])


def save_rows(store: Store, rows: list[tuple[str, str, str, str, str | None, str | None, str | None]]) -> None:
    """Insert or update several sessions (rows of ``state_row``) in one operation."""
    with store.write() as conn:
        conn.executemany(_UPSERT, rows)


def touch(store: Store, session_id: str, expires_at: datetime, now: datetime) -> None:
    with store.write() as conn:
        conn.execute("UPDATE ussd_sessions SET updated_at = ?, expires_at = ? WHERE session_id = ?",
                     (iso(now), iso(expires_at), session_id))


def sweep(store: Store, now: datetime) -> int:
    """Delete rows that expired more than ``RETENTION`` ago; returns how many."""
    with store.write() as conn:
        return conn.execute("DELETE FROM ussd_sessions WHERE expires_at < ?",
                            (iso(now - RETENTION),)).rowcount


# --- memory ------------------------------------------------------------------------

class SessionCache:
    """Live sessions by id, oldest first; bounded (the oldest is forgotten first —
    it is still in the database)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._limit = limit

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def put(self, session: Session) -> None:
        self._sessions[session.session_id] = session
        self._sessions.move_to_end(session.session_id)
        while len(self._sessions) > self._limit:
            self._sessions.popitem(last=False)

    def drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def drop_expired(self, now: datetime) -> int:
        gone = [sid for sid, s in self._sessions.items() if s.expires_at <= now]
        for sid in gone:
            del self._sessions[sid]
        return len(gone)
