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
starting afresh, then deleted by ``Services.sweep_sessions``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.services.sessions import SessionRow, SessionState
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


# --- rows (written through the services: ``Services.save_sessions`` and the rest) ---------

def from_row(row: SessionRow, caller: Caller) -> Session:
    state = json.loads(row.state or "{}")
    language = state.get("language") or caller.language
    return Session(
        session_id=row.session_id, msisdn=row.msisdn, service_code=row.service_code,
        caller=Caller(caller.msisdn, language, caller.refusal), created_at=row.created_at,
        expires_at=row.expires_at, stored_until=row.expires_at, results=dict(state.get("results", {})),
        wrong_pins=int(state.get("wrong_pins", 0)),
    )


def state_row(session: Session, now: datetime) -> SessionState:
    """The row of ``session`` as it stands, for ``Services.save_sessions``."""
    return (session.session_id, session.msisdn, session.service_code, state_text(
        session.caller.language, session.results, session.wrong_pins), session.created_at, now,
        session.expires_at)


def state_text(language: str, results: dict[str, str], wrong_pins: int) -> str:
    """The ``state`` column: what a resent request or a restart needs of the dialogue."""
    return json.dumps({"language": language, "results": results, "wrong_pins": wrong_pins}, ensure_ascii=False)


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
