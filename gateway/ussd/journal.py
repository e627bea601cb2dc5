"""The dialogue journal: one row per USSD dialogue the gateway served, and how it ended.

``Dialogues`` tells the journal when a dialogue ends: our END (``served``:
completed, or failed when we could not serve it, see ``ENDINGS``) or a
dialect's close (``closed``: abandoned, or timed out). The session sweep
finds the ones that stopped without a word (``sweep``: timed out on our
idle timer). An aggregator's end-of-session report saying a session ended
while a screen awaited input journals a dialogue still open as abandoned
(``report``). The outcomes are defined in ``gateway.domain.funnel``.

Nothing here may slow a request: rows wait in memory and are written
together at the end of the loop iteration, without an fsync
(``durable=False``), as ``Dialogues`` writes new session rows. A row lost
in a power cut is one dialogue missing from ``ussd report``; if its
session row was written, the next sweep journals it (as timed out, unless
the row says how it ended). A row only replaces a stored one whose source
ranks lower (``gateway.store.port.JOURNAL_SOURCES``: sweep < report <
gateway), so the order the three arrive in does not matter.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta

from prometheus_client import Counter

from gateway.clock import Clock
from gateway.domain.funnel import Outcome, Reported
from gateway.logs import get_logger
from gateway.services import Services
from gateway.services.batcher import Batcher
from gateway.services.errors import DATABASE_ERRORS
from gateway.services.journal import JOURNAL_SOURCES, DialogueRecord, SessionReport
from gateway.services.sessions import SessionRow
from gateway.ussd import sessions
from gateway.ussd.metrics import UssdMetrics
from gateway.ussd.request import Close
from gateway.ussd.sessions import RETENTION
from menus.engine import RESUME_SCREEN
from menus.loader import Menus
from menus.tree import Caller, Reply

log = get_logger("gateway.ussd")

#: ``Dialogues`` outcome labels of a request that ended its dialogue, and what they count as.
#: A refusal (wrong PIN, locked, rate-limited, unknown code) answered the subscriber: completed.
#: ``expired`` is not here: that dialogue had ended before (the sweep journals it).
ENDINGS = {
    "end": Outcome.COMPLETED,
    "rate_limited": Outcome.COMPLETED,
    "unknown_code": Outcome.COMPLETED,
    "failed": Outcome.FAILED,  # an action that broke: the "unavailable" screen
    "busy": Outcome.FAILED,  # the database held too long by another writer
    "error": Outcome.FAILED,  # the database damaged or unwritable
}

#: The label the abandoned-dialogue counter gives a screen it does not know.
OTHER_SCREEN = "other"
#: Sessions this process journaled lately: a resent close or report is journaled (and counted) once.
RECENT_MEMORY = 10_000
#: Session rows read per hop of a sweep.
SWEEP_BATCH = 5_000
#: Rows held while the database refuses them; past this the newest are dropped (and counted in the log).
MAX_PENDING = 100_000


def known_screens(menus: Menus) -> frozenset[str]:
    """Every screen of the menus as ``Reply.screen`` names it (``tree:screen``), and the resume offer's."""
    return frozenset(f"{tree.name}:{screen}" for tree in menus.trees.values() for screen in tree.screens) \
        | {RESUME_SCREEN}


def outcome_of(label: str) -> Outcome | None:
    """What a request that got an END counts as (None: it was no end of a dialogue of its own)."""
    return ENDINGS.get(label)


def path_of(session_id: str) -> str:
    """The path a session came by: dialects and SMPP namespace their ids (``hubtel:…``, ``smpp:…``)."""
    prefix, colon, _ = session_id.partition(":")
    if colon and prefix.isalpha() and prefix.islower() and len(prefix) <= 16:
        return prefix
    return "africastalking"


#: How a session row says its dialogue ended (``Session.closed``); None: our idle expiry, if it expired.
CLOSED = {"end": Outcome.COMPLETED, Close.ABANDONED.value: Outcome.ABANDONED, Close.TIMEOUT.value: Outcome.TIMED_OUT}


def stopped_at(row: SessionRow) -> tuple[sessions.Session, Outcome, str]:
    """A session row, the outcome its dialogue had if it stopped now, and how it ended in our words.

    A row that says it ended (our END, or a close) keeps that; any other
    expired row timed out on our idle timer (``idle``).
    """
    session = sessions.from_row(row, Caller(row.msisdn, ""))
    closed = session.closed
    return session, CLOSED.get(closed or "", Outcome.TIMED_OUT), closed or "idle"


class Journal:
    def __init__(
        self, *, services: Services, batcher: Batcher, clock: Clock, metrics: UssdMetrics,
        screens: Iterable[str], idle: timedelta, read_services: Services | None = None,
    ) -> None:
        self.services = services
        self.read_services = read_services or services
        self.batcher = batcher
        self.clock = clock
        self.metrics = metrics
        self.idle = idle
        #: The screens the abandoned counter names (anything else is ``other``): a bounded label set.
        self._screens = frozenset(screens)
        self._abandoned: dict[str, Counter] = {}
        #: Session → the source of the row this process journaled for it lately (``RECENT_MEMORY``).
        self._recent: OrderedDict[str, str] = OrderedDict()
        #: Rows not written yet, by session (one per session: the best-ranked one).
        self._pending: dict[str, DialogueRecord] = {}
        self._dropped = 0
        #: Their writes on the way (``settle``).
        self._writing: set[asyncio.Future[None]] = set()
        self._flush_scheduled = False
        #: Session rows that expired up to here have been looked at by ``sweep``.
        self._swept_until: datetime | None = None

    # --- what the dialogues tell -------------------------------------------------------

    def served(self, session_id: str, service_code: str, msisdn: str, reply: Reply | None, label: str,
               session: sessions.Session | None) -> None:
        """A request got an END (``reply``; None: the busy or unavailable screen), ``label`` saying how
        (``Dialogues``' outcome label). A request of a dialogue that had ended before (``expired``, a
        resend answered as sent) journals nothing."""
        outcome = outcome_of(label)
        if outcome is None:
            return
        if reply is not None:
            screen, steps = reply.screen, len(reply.kept)
        else:
            screen, steps = (session.screen, len(session.path)) if session is not None else ("", 0)
        self.ended(session_id, service_code=service_code, msisdn=msisdn,
                   started_at=session.created_at if session is not None else None, outcome=outcome,
                   screen=screen, steps=steps, detail=label)

    def closed(self, session: sessions.Session, reason: Close) -> None:
        """The subscriber left (``ABANDONED``) or the network timed out (``TIMEOUT``): where it stood."""
        self.ended(session.session_id, service_code=session.service_code, msisdn=session.msisdn,
                   started_at=session.created_at, outcome=CLOSED[reason.value], screen=session.screen,
                   steps=len(session.path), detail=reason.value)

    def ended(
        self, session_id: str, *, service_code: str, msisdn: str, started_at: datetime | None,
        outcome: Outcome, screen: str, steps: int, detail: str | None, source: str = "gateway",
        now: datetime | None = None,
    ) -> None:
        """A dialogue ended: its row is written with the next flush (call on the event loop).

        Told again (a resent END, a second close) it is not journaled or counted again,
        unless a better-informed source tells it (``JOURNAL_SOURCES``).
        """
        known = self._recent.get(session_id)
        if known is not None and _RANK[known] >= _RANK[source]:
            return
        self._recent[session_id] = source
        self._recent.move_to_end(session_id)
        while len(self._recent) > RECENT_MEMORY:
            self._recent.popitem(last=False)
        now = now or self.clock.now()
        if len(self._pending) >= MAX_PENDING and session_id not in self._pending:
            self._dropped += 1  # the database has refused writes for a long while
            return
        self._pending[session_id] = DialogueRecord(session_id, path_of(session_id), service_code, msisdn,
                                                   started_at or now, now, outcome.value, screen, steps, detail,
                                                   source)
        if outcome is Outcome.ABANDONED:
            label = screen if screen in self._screens else OTHER_SCREEN
            counter = self._abandoned.get(label)
            if counter is None:  # ``labels()`` takes a lock and checks its arguments each time
                counter = self._abandoned[label] = self.metrics.abandoned.labels(label)
            counter.inc()
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    # --- the aggregator's end-of-session report ---------------------------------------------

    async def report(self, event: SessionReport, budget: float | None = None) -> bool:
        """Store an end-of-session report (False: a resend, stored before; nothing else is done).

        ``Incomplete`` for a dialogue we still hold open (its session row is
        there and says no END) journals it abandoned, on the screen the row
        names: the aggregator saw the subscriber leave it awaiting an answer.
        The session row itself is left as it is (its idle expiry, and what a
        later dial may do with it, are the dialogues' business).

        Raises:
            StoreBusy, StoreError: the report could not be stored (``budget``: seconds it may wait).
        """
        now, msisdn = event.received_at, event.msisdn
        stored = await self.batcher.write(self.services.add_session_report, event, budget=budget)
        if stored and event.status == Reported.INCOMPLETE.value:
            try:
                row = await self.batcher.read(self.read_services.load_session, event.session_id)
            except DATABASE_ERRORS as exc:  # stored: the report still combines with the sweep's row
                log.warning("ussd_report_session_not_read", session_id=event.session_id, reason=str(exc))
                return stored
            if row is not None and row.msisdn == msisdn:
                session, _, how = stopped_at(row)
                if how == "idle":  # no END, no close: still open as far as we know
                    self.ended(event.session_id, service_code=row.service_code, msisdn=msisdn,
                               started_at=row.created_at, outcome=Outcome.ABANDONED, screen=session.screen,
                               steps=max(len(session.path), event.answers), detail="reported", source="report",
                               now=now)
        return stored

    # --- the session sweep --------------------------------------------------------------

    async def sweep(self, now: datetime) -> int:
        """Journal the dialogues whose session expired without a journal row: timed out. Returns how many.

        A session row's expiry may lag the dialogue's by up to half an idle
        period (``gateway.ussd.sessions``: rows are refreshed lazily), so only
        rows past that grace are taken: a dialogue still going is never
        journaled as timed out (and its END would replace such a row anyway).
        """
        until = now - self.idle / 2
        after = self._swept_until if self._swept_until is not None else until - RETENTION
        if until <= after:
            return 0
        found = 0
        while True:
            rows = await self.batcher.read(self.read_services.unrecorded_sessions, after, until, SWEEP_BATCH)
            rows = [row for row in rows if row.session_id not in self._pending]
            records = []
            for row in rows:
                session, outcome, detail = stopped_at(row)
                records.append(DialogueRecord(row.session_id, path_of(row.session_id), row.service_code, row.msisdn,
                                              row.created_at, row.expires_at, outcome.value, session.screen,
                                              len(session.path), detail, "sweep"))
            if records:
                await self.batcher.write(self.services.record_dialogues, records, durable=False)
            found += len(records)
            if len(rows) < SWEEP_BATCH:
                break
        self._swept_until = until
        return found

    # --- write-behind ---------------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending:
            return
        batch = list(self._pending.values())
        try:
            future = self.batcher.write_nowait(self.services.record_dialogues, batch, durable=False)
        except RuntimeError:  # closing: ``save_pending`` writes them
            return
        self._pending.clear()
        self._writing.add(future)
        future.add_done_callback(lambda f: self._flushed(batch, f))

    async def settle(self) -> None:
        """Wait until every row told so far is written (or failed, to be retried): for whatever reads
        the table next in the same process (a test)."""
        for _ in range(3):  # a refused write is put back: try it again at once, a few times
            self._flush()
            if not self._writing:
                return
            await asyncio.gather(*self._writing, return_exceptions=True)

    def _flushed(self, batch: list[DialogueRecord], future: asyncio.Future[None]) -> None:
        self._writing.discard(future)
        exc = None if future.cancelled() else future.exception()
        if not future.cancelled() and exc is None:
            return
        log.warning("ussd_journal_not_saved", count=len(batch), dropped=self._dropped, reason=str(exc))
        self._dropped = 0
        for record in batch:  # retried with the next flush, in a second at the latest
            kept = self._pending.get(record.session_id)
            if kept is None or _RANK[kept.source] < _RANK[record.source]:
                self._pending[record.session_id] = record
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(1.0, self._flush)

    def save_pending(self) -> None:
        """Write the rows still waiting, on the caller's thread (the batcher has stopped)."""
        if self._pending:
            self.services.record_dialogues(list(self._pending.values()))
            self._pending.clear()


_RANK = {source: rank for rank, source in enumerate(JOURNAL_SOURCES)}
