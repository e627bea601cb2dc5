"""One USSD request: find the session, walk the menus, run the action, remember.

The I/O shell around ``menus.engine``: the engine decides the screen, every
database call goes through ``Batcher`` (reads on the read-only connection,
so they never wait behind a top-up's fsync; writes grouped into one commit).
Two ways in, one walk (``_handle``): ``handle`` takes the whole path in each
request (Africa's Talking); ``handle_latest`` the latest answer only, appended
to the path kept in the session row. ``close`` ends a dialogue the subscriber
or the network gave up.

Under stress every request still gets a screen, never a 500 or a hang: the
database busy past the request's budget (``database.busy_timeout_ms``) gives
the busy screen and nothing was done (a written action that went through
shows its result even if its session could not be saved); too many requests
from one number (``limits.requests_per_minute``, shared with SMS) the
rate-limit text; more than ``WRONG_PINS_PER_SESSION`` wrong PINs in one
session no more PINs (the lockout per number stays the main guard).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import Clock
from gateway.domain.errors import GatewayError, RateLimited
from gateway.logs import get_logger
from gateway.profile import OperatorProfile
from gateway.ratelimit import RateLimiter
from gateway.services import Services
from gateway.services.batcher import Batcher
from gateway.services.errors import DATABASE_ERRORS, StoreBusy
from gateway.ussd import resends, sessions
from gateway.ussd.actions import Actions
from gateway.ussd.journal import Journal, known_screens
from gateway.ussd.loading import Loaded, SessionLoader
from gateway.ussd.metrics import TurnCounters, UssdMetrics
from gateway.ussd.request import MAX_FIELD, Close, LatestRequest, UssdRequest
from gateway.ussd.resume import Resume, resumed
from gateway.ussd.rows import SessionRows
from gateway.ussd.turns import Turns
from menus.actions import ACTION_TABLE
from menus.engine import Engine
from menus.tree import Answer, Caller, Pending, Reply, Turn

log = get_logger("gateway.ussd")

#: Wrong PINs one USSD session may try; a genuine session tries one.
WRONG_PINS_PER_SESSION = 3




@dataclass(slots=True)
class _Step:
    """One request as ``_handle`` walks it: the whole path, whichever way it arrived. (Not frozen:
    ``_handle`` fills in ``dialogue`` once the session is known, on every step.)"""

    session_id: str
    service_code: str
    answers: tuple[Answer, ...]
    #: Came through ``handle_latest``: the reply is kept for a resend (``Session.last``).
    latest: bool = False
    #: The dialect's step number, when it sends one.
    sequence: int | None = None
    #: The dialogue's own id (``Session.dialogue``): its session's, or a new one's (``_handle``).
    dialogue: str = ""


#: Answers one dialogue may give: a latest-answer dialect could otherwise grow a kept path (and
#: its replay) without end; Africa's Talking's ``text`` stops at the same (``MAX_FIELD`` characters).
MAX_ANSWERS = MAX_FIELD // 2


def _label(reply: Reply, result: object) -> str:
    """The outcome label of a walked request: an action that broke (not a refusal) is ``failed``."""
    if isinstance(result, Exception) and not isinstance(result, GatewayError):
        return "failed"
    return "end" if reply.end else "continue"


class Dialogues:
    def __init__(
        self, *, engine: Engine, services: Services, batcher: Batcher, clock: Clock,
        profile: OperatorProfile, metrics: UssdMetrics, cache: sessions.SessionCache,
        limiter: RateLimiter | None = None, budget_seconds: float = 5.0,
        read_services: Services | None = None, shared: bool = False,
    ) -> None:
        self.engine = engine
        self.services = services
        self.read_services = read_services or services
        self.batcher = batcher
        self.clock = clock
        self.profile = profile
        self.metrics = metrics
        self.cache = cache
        self.limiter = limiter if limiter is not None else RateLimiter(0)  # (an empty one is falsy)
        #: How long one request may wait for the database, in all.
        self.budget = budget_seconds
        self.idle = timedelta(seconds=profile.ussd_session_idle_seconds)
        self.resume = Resume(engine, timedelta(seconds=profile.ussd_resume_seconds))
        self.turns = Turns()
        self.rows = SessionRows(services=services, batcher=batcher, clock=clock, cache=cache, shared=shared)
        self.loader = SessionLoader(read_services=self.read_services, batcher=batcher, clock=clock, profile=profile,
                                    cache=cache, rows=self.rows, resume=self.resume, shared=shared)
        self.actions = Actions(engine=engine, services=services, read_services=self.read_services, batcher=batcher,
                               metrics=metrics)
        self._known_codes = frozenset(engine.menus.by_code)
        self._counters = TurnCounters(metrics)
        #: How each dialogue ended (``gateway.ussd.journal``), written behind the replies.
        self.journal = Journal(services=services, batcher=batcher, clock=clock, metrics=metrics,
                               screens=known_screens(engine.menus), idle=self.idle, read_services=self.read_services)

    async def handle(self, request: UssdRequest, msisdn: str) -> Reply:
        """A request carrying the whole path so far (Africa's Talking)."""
        step = _Step(request.session_id, request.service_code, request.answers)
        return await self._serve(step.session_id, step.service_code, msisdn, len(request.answers),
                                 lambda deadline: self._handle(step, msisdn, deadline))

    async def handle_latest(self, request: LatestRequest, msisdn: str) -> Reply:
        """A request carrying only the latest answer: the path is kept in the session row.

        ``first``: a new dialogue (the dialled segments its first answers, as
        on ``/ussd``). Otherwise the answer is appended to the kept path and
        the whole path walked (``_handle``). The same ``sequence`` again, a
        resent first request, or a resend after our END gets the reply kept
        in the row, and nothing is done or appended twice. A request for a
        session we do not know (or that expired, or was closed) that is not
        ``first`` gets the expired screen.
        """
        sid = request.session_id
        code = request.service_code
        if not code and not request.first:  # Nalo, Arkesel: the code of the dialogue, for the metrics and the log
            session = self.cache.get(sid)
            code = session.service_code if session is not None else ""
        return await self._serve(sid, code, msisdn, len(request.answers),
                                 lambda deadline: self._latest(request, msisdn, deadline))

    async def close(self, session_id: str, msisdn: str, reason: Close) -> None:
        """The subscriber left or the network timed out: the dialogue ends without our END.

        The row is marked (``ended``: the reason) and keeps its path and last
        screen, so later requests of the session get the expired screen and
        resume and the journal can still read where it stopped. A session we
        never kept (a one-step read), or that already ended, is left as it is.
        """
        await self.turns.take(session_id)
        try:
            session = self.cache.get(session_id)
            if session is None or self.loader.stale(session_id):
                row = await self.batcher.read(self.read_services.load_session, session_id)
                if row is not None:
                    session = sessions.from_row(row, Caller(msisdn, self.profile.default_language))
            if session is None or session.msisdn != msisdn or session.closed is not None:
                return
            now = self.clock.now()
            session.closed, session.updated_at = reason.value, now
            session.expires_at = min(session.expires_at, now)
            session.ended = True
            self.journal.closed(session, reason)
            self.cache.put(session)
            await self.rows.store(session, now, self.budget)
            self.rows.forget(session_id)
            log.info("ussd_closed", session_id=session_id, msisdn=msisdn, reason=reason.value,
                     screen=session.screen)
        except StoreBusy:
            log.warning("ussd_close_not_saved", session_id=session_id, reason="database busy")
        except DATABASE_ERRORS:
            log.exception("ussd_close_not_saved", session_id=session_id)
        finally:
            self.turns.done(session_id)

    async def _serve(
        self, sid: str, service_code: str, msisdn: str, answers: int,
        handle: Callable[[float], Awaitable[tuple[Reply, str]]],
    ) -> Reply:
        """What every request goes through: the rate limit, one request of a session at a time,
        a screen for every database failure, the metrics and the log line."""
        started = time.perf_counter()
        outcome = "error"
        try:
            self.services.note_activity(msisdn)  # a dialogue is use of the line (004 3(B).12): in memory
            wait = self.limiter.take(msisdn)
            if wait > 0:
                outcome = "rate_limited"
                return self._refusal(sid, RateLimited(self.clock.now() + timedelta(seconds=wait)))
            try:
                await self.turns.take(sid)
                try:
                    reply, outcome = await handle(started + self.budget)
                    if reply.end:
                        self.journal.served(sid, service_code, msisdn, reply, outcome, self.cache.get(sid))
                        self.rows.forget(sid)
                finally:
                    self.turns.done(sid)
            except StoreBusy:
                outcome = "busy"
                self.journal.served(sid, service_code, msisdn, None, outcome, self.cache.get(sid))
                return Reply(self.engine.replies.busy(self._language(sid)), end=True)
            except DATABASE_ERRORS:
                # A damaged or unwritable file: a screen for the caller, the details for the operator.
                log.exception("ussd_database_failed", session_id=sid)
                self.journal.served(sid, service_code, msisdn, None, outcome, self.cache.get(sid))
                return self.engine.unavailable(self._language(sid))
            return reply
        finally:
            elapsed = time.perf_counter() - started
            code = service_code if service_code in self._known_codes else "other"
            self._counters.count(code, outcome, elapsed)
            log.info("ussd_turn", session_id=sid, msisdn=msisdn, service_code=code,
                     step=answers, outcome=outcome, ms=round(elapsed * 1000, 2))

    def _language(self, sid: str) -> str:
        session = self.cache.get(sid)
        return session.caller.language if session is not None else self.profile.default_language

    def _refusal(self, sid: str, exc: GatewayError) -> Reply:
        return Reply(self.engine.replies.error(exc, self._language(sid)), end=True)

    def _db(self, deadline: float) -> float:
        """What is left of the request's budget for the next database hop."""
        return deadline - time.perf_counter()

    async def _latest(self, request: LatestRequest, msisdn: str, deadline: float) -> tuple[Reply, str]:
        probe = self.resume.probe(request.service_code, request.answers) if request.first else None
        loaded = await self.loader.load(request.session_id, msisdn, probe)
        session, caller, view, _ = loaded
        code = request.service_code
        if not request.first or not code:
            # The dialogue's own code: Nalo, Arkesel and SMPP answers send none after the first request. For a
            # session we do not know, the expired screen names the code given, else the self-care one.
            code = session.service_code if session is not None else code or self.profile.codes.selfcare
        dialogue = ""
        if session is not None:
            now = self.clock.now()
            if session.msisdn != msisdn:
                return self.engine.expired(caller.language, code), "expired"
            again = resends.resent(session, request, now)
            if again is not None:
                return again, "resent"
            if resends.starts_anew(session, request) or (request.first and session.expired(now)):
                # The one before (cut off, as the new dial says) may be offered back (it is the latest).
                loaded = (None, session.caller, view, session if probe is not None else None)
                dialogue = resends.kept_dialogue(session, request, now)
            elif session.stopped(now):
                return self.engine.expired(session.caller.language, code), "expired"
        if request.first:
            answers: tuple[Answer, ...] = request.answers
        elif session is None:
            return self.engine.expired(caller.language, code), "expired"
        else:
            answers = (*session.path, *request.answers)
        if len(answers) > MAX_ANSWERS:
            return self.engine.expired(caller.language, code), "expired"
        step = _Step(request.session_id, code, answers, latest=True, sequence=request.sequence, dialogue=dialogue)
        return await self._handle(step, msisdn, deadline, loaded)

    async def _handle(
        self, step: _Step, msisdn: str, deadline: float, loaded: Loaded | None = None,
    ) -> tuple[Reply, str]:
        sid = step.session_id
        if loaded is None:
            loaded = await self.loader.load(sid, msisdn, self.resume.probe(step.service_code, step.answers))
        session, caller, fresh_view, earlier = loaded
        now = self.clock.now()
        if session is not None and session.msisdn != msisdn:
            return self.engine.expired(caller.language, step.service_code), "expired"
        if session is not None and (session.expired(now) or session.left):
            return self.engine.expired(session.caller.language, step.service_code), "expired"
        tree = self.engine.tree_for(step.service_code)
        if tree is None:
            return self.engine.unknown_code(caller.language, step.service_code), "unknown_code"
        step.dialogue = session.dialogue if session is not None else step.dialogue or sessions.new_dialogue()
        answers = step.answers
        if session is None and earlier is not None and not answers:
            offered = self.resume.offerable(earlier, caller, tree, now)
            if offered is not None:
                return await self._offer(offered, step, caller, now, deadline)
        elif session is not None and session.resume is not None:
            answers, chosen = resumed(session.resume, answers)
            if not chosen:  # still on the offer: again, with a hint after a wrong answer
                reply = self.engine.resume_offer(session.caller.language, hint=bool(step.answers))
                await self._remember(session, reply, step, session.caller, deadline)
                return reply, "continue"

        turn = Turn(tree, answers, session.caller if session else caller, sessions.action_key(sid, step.dialogue),
                    session.results if session else {})
        walked = self.engine.step(turn)
        if isinstance(walked, Pending):
            if (walked.call.name == "top_up" and session is not None
                    and session.wrong_pins >= WRONG_PINS_PER_SESSION):
                until = now + self.idle
                return Reply(self.engine.replies.error(RateLimited(until), turn.caller.language), end=True), \
                    "rate_limited"
            if ACTION_TABLE[walked.call.name].writes:
                return await self._act(walked, session, step, turn.caller, deadline)
            result = await self.actions.read(walked.call, fresh_view, self._db(deadline))
            reply = self.engine.complete(walked, result)
        else:
            result, reply = None, walked
        try:
            await self._remember(session, reply, step, turn.caller, deadline)
        except StoreBusy:
            if reply.save is None:
                raise  # nothing was done: say busy
            # The action went through; its result counts more than the session row.
            log.warning("ussd_session_not_saved", session_id=sid, reason="database busy")
        return reply, _label(reply, result)

    async def _offer(
        self, offered: tuple[sessions.Session, tuple[Answer, ...]], step: _Step, caller: Caller,
        now: datetime, deadline: float,
    ) -> tuple[Reply, str]:
        """``1 Continue`` / ``2 Start again``, in a new session that keeps the path it offers."""
        old, path = offered
        session = self._new_session(step, caller, now, results=dict(old.results), resume=path)
        self.cache.put(session)
        reply = self.engine.resume_offer(caller.language)
        self._apply(session, reply, step, now)
        await self.rows.store(session, now, self._db(deadline))
        log.info("ussd_resume_offered", session_id=step.session_id, msisdn=caller.msisdn,
                 earlier=old.session_id, screen=old.screen)
        return reply, "resume_offered"

    async def _act(
        self, pending: Pending, session: sessions.Session | None, step: _Step, caller: Caller,
        deadline: float,
    ) -> tuple[Reply, str]:
        """A written action and its session row: one job, one transaction, one commit (``Actions.write``)."""
        sid = step.session_id
        now = self.clock.now()
        self.rows.discard(sid)  # the job writes the whole row
        if session is not None:
            draft = dataclasses.replace(session, results=dict(session.results))
        else:
            draft = self._new_session(step, caller, now)
        result, reply, saved = await self.actions.write(
            pending, draft, lambda moved, shown: self._apply(moved, shown, step, now), now, self._db(deadline))
        if reply.save is not None:
            # The job applied the reply to the draft: it is the session now (kept in memory even if
            # its row was not written, so that a resend replays the result).
            self.cache.put(draft)
            if saved:
                draft.stored_until = draft.expires_at
            else:
                self.rows.later(draft)
        else:
            await self._remember(session, reply, step, caller, deadline)
        return reply, _label(reply, result)

    async def _remember(
        self, session: sessions.Session | None, reply: Reply, step: _Step, caller: Caller,
        deadline: float,
    ) -> None:
        """Keep where the dialogue stands (``_apply``) and have its row follow."""
        now = self.clock.now()
        if session is None:
            if not (reply.keep or reply.save):
                return  # a one-step read, or result pages the text alone can replay
            session = self._new_session(step, caller, now)
            self.cache.put(session)
        self._apply(session, reply, step, now)
        if reply.save:  # a result replayed from the session: written before it is shown
            await self.rows.now(session, now, self._db(deadline))
        else:
            await self.rows.store(session, now, self._db(deadline), last=reply.end and not step.latest)

    def _new_session(self, step: _Step, caller: Caller, now: datetime, **kept: Any) -> sessions.Session:
        """The session of a dialogue that had none: its first screen worth keeping is being shown."""
        return sessions.Session(step.session_id, caller.msisdn, step.service_code, caller, created_at=now,
                                expires_at=now + self.idle, dialogue=step.dialogue, **kept)

    def _apply(self, session: sessions.Session, reply: Reply, step: _Step, now: datetime) -> None:
        session.move(reply, now, self.idle, (step.sequence,) if step.latest else None)

    async def settle(self) -> None:
        """Wait until every row kept behind a reply so far is written (or failed, to be retried).

        For whatever reads the table itself next (a test, ``ussd report`` in the same process).
        """
        await self.rows.settle()
        await self.journal.settle()

    def save_pending(self) -> None:
        """Write the rows still waiting for a flush, on the caller's thread (the batcher has stopped)."""
        self.rows.save_pending()

    async def sweep(self) -> tuple[int, int, int]:
        """Journal the dialogues that timed out, then forget expired sessions: from memory now, from the
        database after ``RETENTION``. Returns (journaled, dropped, deleted)."""
        now = self.clock.now()
        journaled = await self.journal.sweep(now)
        dropped = self.cache.drop_expired(now)
        self.limiter.prune()
        deleted = await self.batcher.call(self.services.sweep_sessions, now - sessions.RETENTION)
        return journaled, dropped, deleted
