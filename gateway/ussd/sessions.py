"""USSD sessions: what a replayed dialogue keeps between requests.

Africa's Talking resends the whole path in ``text``, so navigation needs no
state there. A session is remembered only when it must be:

- a dialogue screen was shown (menu, input, confirmation): its idle expiry
  must be enforced, across a restart too — one row when it starts;
- a written action answered (top-up, lost SIM, consent, language): its
  result is kept with the session, so a resent request gets the same screen
  and nothing happens twice — one row update, with the action.

The row also says where the dialogue stands (the kept path, the screen,
whether it is secret, why it ended): a dialect that sends only the latest
answer appends to that path, resume offers it back, the journal reports it.
A step that only shows a screen updates the row behind the reply (the next
flush of ``Dialogues``, coalesced with every other session's, no fsync);
with several processes on one database, before it. Rows are kept
``RETENTION`` past their expiry, so a late request is told the session
expired rather than starting afresh, then deleted by ``Services.sweep_sessions``.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.domain.secrets import Sealed
from gateway.services.sessions import SessionRow, SessionState
from gateway.ussd.request import Close
from menus.engine import RESUME_SCREEN
from menus.tree import Answer, Caller, Reply, SealedAnswer

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
    #: Its last step, or its close: when it stopped, if it did (resume counts from here).
    updated_at: datetime | None = None
    #: The deadline the row holds (None: no row yet).
    stored_until: datetime | None = None
    #: Rendered results of written actions, by answer path.
    results: dict[str, str] = field(default_factory=dict)
    #: Wrong voucher PINs tried in this session.
    wrong_pins: int = 0
    #: Its last screen was an END: it leaves the cache once its row is written.
    ended: bool = False
    #: The answers that led to the last screen, secrets sealed (``Reply.kept``): what a dialect that
    #: sends only the latest answer appends to, and what a resumed dialogue starts from.
    path: tuple[Answer, ...] = ()
    #: The last screen shown (``Reply.screen``), whether it or the path is secret, whether it was a
    #: menu, input or confirmation (``Reply.keep``): where the dialogue stands.
    screen: str = ""
    secret: bool = False
    keep: bool = False
    #: Why it ended, if it did: ``end`` (our END), or a ``Close`` value (the subscriber left,
    #: the network timed out). None: still going, or stopped by our idle expiry.
    closed: str | None = None
    #: The last reply as sent (dialect's sequence, text, end): answers a resend of a dialect that
    #: sends only the latest answer (None for the Africa's Talking path, which replays instead).
    last: tuple[int | None, str, bool] | None = None
    #: The path of the dialogue this one was offered to resume (``Dialogues``: resume), until the
    #: subscriber chose; on Africa's Talking for the whole dialogue (its ``text`` keeps the choice).
    resume: tuple[Answer, ...] | None = None
    #: This dialogue's own id (``new_dialogue``; empty in a row written before it was kept). A session
    #: id may come back for a later dialogue, so the request key of a written action holds this too
    #: (``action_key``): a resend replays, a new dialogue's top-up is not answered from an old record.
    dialogue: str = ""

    def expired(self, now: datetime) -> bool:
        """Past its idle deadline."""
        return self.expires_at <= now

    @property
    def left(self) -> bool:
        """The subscriber or the network ended it (``Close``), not our END."""
        return self.closed in _LEFT

    def stopped(self, now: datetime) -> bool:
        """It ended (either way) or went idle: no answer continues it."""
        return self.closed is not None or self.expired(now)

    def move(self, reply: Reply, now: datetime, idle: timedelta, last: tuple[int | None] | None) -> None:
        """The dialogue moved to ``reply``: its idle deadline, kept path, screen and, with ``last`` (the
        request's sequence, on a latest-answer path), the reply a resend is answered from."""
        self.expires_at, self.updated_at = now + idle, now
        if reply.save:
            self.results[reply.save[0]] = reply.save[1]
        self.path = reply.kept
        self.screen, self.secret, self.keep = reply.screen, reply.secret, reply.keep
        if reply.end:
            self.closed = "end"
        if last is not None:
            self.last = (last[0], reply.text, reply.end)
            if reply.screen != RESUME_SCREEN:
                self.resume = None  # chosen: the kept path is the resumed one from now on


#: How a dialogue ended when the subscriber or the network ended it (``Session.closed``).
_LEFT = frozenset(reason.value for reason in Close)


def new_dialogue() -> str:
    """A fresh ``Session.dialogue``: unique among the dialogues of one session id, whatever the clock says."""
    return secrets.token_hex(6)


def action_key(session_id: str, dialogue: str) -> str:
    """What the request keys of a dialogue's actions start with (``Turn.session_id``)."""
    return f"{session_id}/{dialogue}" if dialogue else session_id


# --- rows (written through the services: ``Services.save_sessions`` and the rest) ---------

def from_row(row: SessionRow, caller: Caller) -> Session:
    state = json.loads(row.state or "{}")
    language = state.get("language") or caller.language
    last = state.get("last")
    return Session(
        session_id=row.session_id, msisdn=row.msisdn, service_code=row.service_code,
        caller=Caller(caller.msisdn, language, caller.refusal), created_at=row.created_at,
        expires_at=row.expires_at, updated_at=row.updated_at, stored_until=row.expires_at,
        results=dict(state.get("results", {})),
        wrong_pins=int(state.get("wrong_pins", 0)), path=decode_path(state.get("path", [])),
        screen=str(state.get("screen", "")), secret=bool(state.get("secret", False)),
        keep=bool(state.get("keep", False)), closed=state.get("ended"),
        last=None if last is None else (last[0], str(last[1]), bool(last[2])),
        resume=None if state.get("resume") is None else decode_path(state["resume"]),
        dialogue=str(state.get("dialogue", "")),
    )


def state_row(session: Session, now: datetime) -> SessionState:
    """The row of ``session`` as it stands, for ``Services.save_sessions``."""
    return (session.session_id, session.msisdn, session.service_code, state_text(session),
            session.created_at, now, session.expires_at)


def state_text(session: Session) -> str:
    """The ``state`` column: what a resent request, a restart, resume and the journal need.

    ``path`` holds no secret in clear (``SealedAnswer``); ``screen``, ``secret`` and ``ended``
    say where the dialogue stood and why it stopped.
    """
    state: dict[str, object] = {
        "language": session.caller.language, "results": session.results, "wrong_pins": session.wrong_pins,
        "path": encode_path(session.path), "screen": session.screen, "secret": session.secret,
        "keep": session.keep, "ended": session.closed, "dialogue": session.dialogue,
    }
    if session.last is not None:
        state["last"] = list(session.last)
    if session.resume is not None:
        state["resume"] = encode_path(session.resume)
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"))


def encode_path(path: tuple[Answer, ...]) -> list[object]:
    """A path as JSON: a typed answer as itself, a sealed one as ``{"s": [digest, length, digits]}``
    (``{"s": null}``: refused by its input), so no typed text can pass for a sealed answer."""
    out: list[object] = []
    for answer in path:
        if isinstance(answer, str):
            out.append(answer)
        elif answer.value is None:
            out.append({"s": None})
        else:
            out.append({"s": [answer.value.digest, answer.value.length, answer.value.digits]})
    return out


def decode_path(items: list[object]) -> tuple[Answer, ...]:
    out: list[Answer] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            sealed = item.get("s")
            out.append(SealedAnswer(None) if sealed is None
                       else SealedAnswer(Sealed(str(sealed[0]), int(sealed[1]), bool(sealed[2]))))
    return tuple(out)


# --- memory ------------------------------------------------------------------------

class SessionCache:
    """Live sessions by id, bounded: the least recently used is forgotten first (it is still in
    the database).

    An ``OrderedDict`` rather than ``cachetools.LRUCache``: it is read several times on every USSD
    step, and the library's layers of Python methods cost more calls than the step's own rules.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._limit = limit

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        if session is not None:
            self._sessions.move_to_end(session_id)
        return session

    def put(self, session: Session) -> None:
        self._sessions[session.session_id] = session
        self._sessions.move_to_end(session.session_id)
        if len(self._sessions) > self._limit:
            self._sessions.popitem(last=False)

    def drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def drop_expired(self, now: datetime) -> int:
        gone = [sid for sid, s in self._sessions.items() if s.expires_at <= now]
        for sid in gone:
            del self._sessions[sid]
        return len(gone)
