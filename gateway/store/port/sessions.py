"""USSD sessions, the dialogue journal and the aggregators' end-of-session reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "JOURNAL_SOURCES", "DialogueRecord", "Journal", "JournalCount", "ReportCount", "SessionReport", "SessionRow",
    "Sessions", "SessionState"
]


@dataclass(frozen=True)
class SessionRow:
    """A USSD session as stored; ``state`` is its JSON text."""

    session_id: str
    msisdn: str
    service_code: str
    state: str | None
    created_at: datetime
    expires_at: datetime
    #: When the row was last written: the dialogue's last step, or its close.
    updated_at: datetime | None = None


#: A session row to write: (session_id, msisdn, service_code, state, created_at, updated_at, expires_at).
SessionState = tuple[str, str, str, str, datetime, datetime, datetime]


#: Who decided a journal row's outcome, lowest rank first: a row replaces a stored one of a lower
#: rank only (the session sweep guesses, an aggregator's report knows more, our own END knows best).
JOURNAL_SOURCES = ("sweep", "report", "gateway")


@dataclass(frozen=True)
class DialogueRecord:
    """One USSD dialogue as the journal keeps it (``gateway.domain.funnel`` names the outcomes)."""

    session_id: str
    #: The dialect or path it came by (``africastalking``, ``hubtel``, ``smpp``, …).
    path: str
    service_code: str
    msisdn: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    #: The last screen shown, ``tree:screen`` (``""``: none of a tree).
    screen: str
    #: Answers the dialogue took.
    steps: int
    #: How it ended in the gateway's words (``end``, ``busy``, ``abandoned`` …).
    detail: str | None
    #: One of ``JOURNAL_SOURCES``.
    source: str


@dataclass(frozen=True)
class SessionReport:
    """An aggregator's end-of-session report as stored: nothing of the answers but how many there were."""

    session_id: str
    service_code: str
    msisdn: str
    network_code: str | None
    #: ``Success``, ``Incomplete`` or ``Failed`` (``gateway.domain.funnel.Reported``).
    status: str
    answers: int
    duration_ms: int | None
    hops: int | None
    #: The aggregator saw our last reply end the session (None: it did not say).
    app_ended: bool | None
    error_message: str | None
    cost: str | None
    received_at: datetime


@dataclass(frozen=True)
class JournalCount:
    """Journal rows of one kind since a moment, with the status of their report (None: none came)."""

    service_code: str
    outcome: str
    screen: str
    status: str | None
    dialogues: int


@dataclass(frozen=True)
class ReportCount:
    """Reports since a moment for sessions the journal has no row of."""

    service_code: str
    status: str
    reports: int


class Sessions(Protocol):
    """USSD sessions (see ``gateway.ussd.sessions`` for when a row is written)."""

    def load(self, session_id: str) -> SessionRow | None: ...
    def latest(self, msisdn: str, service_code: str) -> SessionRow | None:
        """The number's newest session of ``service_code`` (resume after a timeout)."""
        ...
    def load_and_latest(
        self, session_id: str, msisdn: str, service_code: str,
    ) -> tuple[SessionRow | None, SessionRow | None]:
        """``load(session_id)`` and ``latest(msisdn, service_code)`` in one statement (one round trip)."""
        ...
    def save(self, rows: list[SessionState]) -> None: ...
    def touch(self, session_id: str, expires_at: datetime, now: datetime) -> None: ...
    def sweep(self, before: datetime) -> int: ...


class Journal(Protocol):
    """The dialogue journal and the aggregators' end-of-session reports (see ``JOURNAL_SOURCES``)."""

    def record(self, rows: Sequence[DialogueRecord]) -> None:
        """Insert, or replace a stored row of the same session whose source ranks lower."""
        ...

    def add_report(self, report: SessionReport) -> bool:
        """False: a report of that session was stored before (it is kept as it was)."""
        ...

    def counts(self, since: datetime | None) -> list[JournalCount]:
        """Dialogues started at or after ``since`` (None: all), grouped with their report's status."""
        ...

    def unmatched_reports(self, since: datetime | None) -> list[ReportCount]:
        """Reports received at or after ``since`` for sessions with no journal row."""
        ...

    def unrecorded_sessions(self, after: datetime, until: datetime, limit: int) -> list[SessionRow]:
        """Session rows that expired in (``after``, ``until``] and have no journal row, by expiry."""
        ...
