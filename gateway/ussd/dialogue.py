"""One USSD request: find the session, walk the menus, run the action, remember.

This is the I/O shell around ``menus.engine``: every database call goes
through ``Batcher`` (one hop per request in the common case: the session
row and the caller's line are read together), the engine decides the screen.
Reads (the session row, the caller's line, read-only actions) run on the
read-only connection (``read_services``, inline: see
``Batcher.read``), so they never wait behind a top-up's fsync; writes are
grouped (``Batcher.write``: one commit for the writes waiting together).
Requests of one session are handled one at a time, so a resent request waits
for the first and then gets its saved answer.

Two ways in, one walk (``_handle``): ``handle`` takes the whole path in each
request (Africa's Talking); ``handle_latest`` takes the latest answer only and
appends it to the path kept in the session row (``Session.path``, secrets
sealed), answering a resend from the reply kept with it. ``close`` ends a
dialogue the subscriber or the network gave up. A first request may be
offered the caller's dialogue cut off a moment ago (resume: ``_resumable``).

Under stress every request still gets a screen, never a 500 or a hang:

- the database held by another writer: each database hop may wait in the
  queue only until the request's budget (``database.busy_timeout_ms``) is
  spent, and a started write waits at most ``busy_timeout`` for the lock;
  then the caller sees the busy screen (END, "try again in a moment") and
  nothing was done. If a written action went through but the session could
  not be saved, its result is still shown (a resent top-up is answered from
  its record by request key);
- too many requests from one number (``limits.requests_per_minute``, shared
  with SMS through ``RateLimiter``): END with the rate-limit text;
- more than ``WRONG_PINS_PER_SESSION`` wrong PINs in one session (a session
  id replayed with new PINs): the session takes no more PINs. The lockout
  per calling number (in the database, across channels and restarts) stays
  the main guard against guessing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import Clock
from gateway.domain.errors import GatewayError, LineLost, RateLimited, WrongPin
from gateway.logs import get_logger
from gateway.profile import OperatorProfile
from gateway.services import Services
from gateway.services.batcher import Batcher
from gateway.services.errors import DATABASE_ERRORS, StoreBusy
from gateway.services.model import BalanceView
from gateway.services.ratelimit import RateLimiter
from gateway.services.sessions import SessionRow
from gateway.ussd import sessions
from gateway.ussd.journal import Journal, known_screens
from gateway.ussd.metrics import UssdMetrics
from gateway.ussd.request import MAX_FIELD, Close, LatestRequest, UssdRequest
from menus.actions import ACTION_TABLE
from menus.engine import RESUME_CONTINUE, RESUME_RESTART, RESUME_SCREEN, Engine
from menus.model import ActionCall, Answer, Caller, Pending, Reply, ScreenKind, Turn

log = get_logger("gateway.ussd")

#: Wrong PINs one USSD session may try; a genuine session tries one.
WRONG_PINS_PER_SESSION = 3

#: Screens a dialogue may stop on and be offered back from (``Reply.keep``).
_KEPT = frozenset({ScreenKind.MENU, ScreenKind.INPUT, ScreenKind.CONFIRM})

#: How a dialogue ended when the subscriber or the network ended it (``Session.closed``).
_LEFT = frozenset(reason.value for reason in Close)

#: A session (if any), the caller, the caller's balance when it was read with the row, and the
#: caller's latest earlier dialogue of the code when a first request looked for one (resume).
_Loaded = tuple["sessions.Session | None", Caller, "BalanceView | None", "sessions.Session | None"]


@dataclass(frozen=True)
class _Step:
    """One request as ``_handle`` walks it: the whole path, whichever way it arrived."""

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


def _resumed(resume: tuple[Answer, ...], answers: tuple[Answer, ...]) -> tuple[tuple[Answer, ...], bool]:
    """The path of a resumed dialogue: the offered one then the answers after ``1``, or the answers
    after ``2`` alone (answers before the choice were wrong ones on the offer); False: no choice yet.

    On Africa's Talking ``text`` keeps the choice for the whole dialogue, so every request is
    translated; a latest-answer dialect translates once and keeps the path that results.
    """
    for j, answer in enumerate(answers):
        choice = answer.strip() if isinstance(answer, str) else ""
        if choice == RESUME_CONTINUE:
            return (*resume, *answers[j + 1:]), True
        if choice == RESUME_RESTART:
            return tuple(answers[j + 1:]), True
    return (), False


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
        #: Other processes serve the same sessions (``serve --workers N``): the next request of a
        #: dialogue may have gone to one of them, so the row, not the cache, says where it stands.
        self.shared = shared
        self.limiter = limiter if limiter is not None else RateLimiter(0)  # (an empty one is falsy)
        #: How long one request may wait for the database, in all.
        self.budget = budget_seconds
        self.idle = timedelta(seconds=profile.ussd_session_idle_seconds)
        #: How soon after a dialogue stopped without our END dialling again offers it back (0: never).
        self.resume = timedelta(seconds=profile.ussd_resume_seconds)
        #: Sessions with a request in progress, and the requests waiting behind it.
        self._active: dict[str, list[asyncio.Future[None]]] = {}
        self._known_codes = frozenset(engine.menus.by_code)
        #: Codes whose tree has somewhere to resume (a menu, input or confirmation past its start that
        #: is not secret): a first request of another (``*124#``) looks nothing up.
        self._resumable_codes = frozenset(
            code for code, name in engine.menus.by_code.items()
            if any(screen.kind in _KEPT and not screen.secret and screen.id != engine.menus.trees[name].start
                   for screen in engine.menus.trees[name].screens.values()))
        #: Sessions whose row is behind memory (``_save_later``), and whether a flush is due.
        self._unsaved: dict[str, sessions.Session] = {}
        self._flush_scheduled = False
        #: Their writes on the way (``settle``).
        self._writing: set[asyncio.Future[None]] = set()
        self._request_counters: dict[tuple[str, str], Any] = {}
        self._step_timers: dict[str, Any] = {}
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
        await self._turn(session_id)
        try:
            session = self.cache.get(session_id)
            if session is None or (self.shared and session_id not in self._unsaved):
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
            await self._store(session, now, self.budget)
            self._forget(session_id)
            log.info("ussd_closed", session_id=session_id, msisdn=msisdn, reason=reason.value,
                     screen=session.screen)
        except StoreBusy:
            log.warning("ussd_close_not_saved", session_id=session_id, reason="database busy")
        except DATABASE_ERRORS:
            log.exception("ussd_close_not_saved", session_id=session_id)
        finally:
            self._hand_over(session_id)

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
                await self._turn(sid)
                try:
                    reply, outcome = await handle(started + self.budget)
                    if reply.end:
                        self.journal.served(sid, service_code, msisdn, reply, outcome, self.cache.get(sid))
                        self._forget(sid)
                finally:
                    self._hand_over(sid)
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
            counter = self._request_counters.get((code, outcome))
            if counter is None:  # ``labels()`` takes a lock and checks its arguments each time
                counter = self._request_counters[code, outcome] = self.metrics.requests.labels(code, outcome)
            counter.inc()
            timer = self._step_timers.get(code)
            if timer is None:
                timer = self._step_timers[code] = self.metrics.step_seconds.labels(code)
            timer.observe(elapsed)
            log.info("ussd_turn", session_id=sid, msisdn=msisdn, service_code=code,
                     step=answers, outcome=outcome, ms=round(elapsed * 1000, 2))

    async def _turn(self, sid: str) -> None:
        """One request of a session at a time: wait for the one in progress, if any."""
        waiters = self._active.get(sid)
        if waiters is None:
            self._active[sid] = []  # the common case: no lock, no wait
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._hand_over(sid)  # it was our turn: pass it on
            else:
                waiters.remove(turn)
            raise

    def _hand_over(self, sid: str) -> None:
        """The request of ``sid`` in progress is done: wake the next one, if any."""
        waiters = self._active[sid]
        while waiters:
            turn = waiters.pop(0)
            if not turn.done():
                turn.set_result(None)
                return
        del self._active[sid]

    def _language(self, sid: str) -> str:
        session = self.cache.get(sid)
        return session.caller.language if session is not None else self.profile.default_language

    def _refusal(self, sid: str, exc: GatewayError) -> Reply:
        return Reply(self.engine.replies.error(exc, self._language(sid)), end=True)

    def _db(self, deadline: float) -> float:
        """What is left of the request's budget for the next database hop."""
        return deadline - time.perf_counter()

    def _probe(self, code: str, answers: tuple[Answer, ...]) -> str | None:
        """The code whose latest earlier dialogue a request looks up (a first one, nothing dialled
        after the code, resume on), else None."""
        return code if not answers and self.resume and code in self._resumable_codes else None

    async def _load(self, sid: str, msisdn: str, probe: str | None) -> _Loaded:
        """The session (from memory, else its row) and the caller, with the caller's balance if read.

        ``probe`` (``_probe``): without a row, also the caller's latest
        dialogue of that code, in the same read (resume).
        """
        session = self.cache.get(sid)
        if session is None or (self.shared and sid not in self._unsaved):
            row, caller, fresh_view, earlier = await self.batcher.read(self._prepare, sid, msisdn, probe)
            if row is not None:
                session = sessions.from_row(row, caller)
                self.cache.put(session)
            elif session is not None:
                caller = session.caller  # its row could not be written: memory is all there is
            if earlier is not None and self.clock.now() - (earlier.updated_at or earlier.created_at) > self.resume:
                earlier = None  # too long ago to offer: not worth decoding
            return session, caller, fresh_view, None if earlier is None else sessions.from_row(earlier, caller)
        return session, session.caller, None, None

    async def _latest(self, request: LatestRequest, msisdn: str, deadline: float) -> tuple[Reply, str]:
        probe = self._probe(request.service_code, request.answers) if request.first else None
        loaded = await self._load(request.session_id, msisdn, probe)
        session, caller, view, _ = loaded
        code = request.service_code
        if not request.first or not code:
            # The dialogue's own code: Nalo, Arkesel and SMPP answers send none after the first request. For a
            # session we do not know, the expired screen names the code given, else the self-care one.
            code = session.service_code if session is not None else code or self.profile.codes.selfcare
        dialogue = ""
        if session is not None:
            if session.msisdn != msisdn:
                return self.engine.expired(caller.language, code), "expired"
            last = session.last
            stopped = session.closed is not None or session.expires_at <= self.clock.now()
            if last is not None and session.closed not in _LEFT and (
                    (request.sequence is not None and request.sequence == last[0])
                    or (request.first and not stopped and not request.restart)
                    or (session.closed == "end" and request.sequence is None and not request.first)):
                # A resend (the same step again, the first request again, or after our END): as sent.
                return Reply(last[1], end=last[2], keep=session.keep, screen=session.screen,
                             secret=session.secret, kept=session.path), "resent"
            if request.first and (stopped or request.restart):
                # A new dialogue under a key used before (USSD over SMPP keyed by number and code, or
                # a session number the centre gave again): it starts afresh, and the one before (cut
                # off, as the new dial says) may be offered back (it is the latest).
                earlier = session if probe is not None else None
                loaded = (None, session.caller, view, earlier)
                if not request.restart and session.closed == "end" and session.expires_at > self.clock.now():
                    # Nothing tells the dial again, within the idle time, from the aggregator resending
                    # the request we ended: the old dialogue's id, so an identical top-up replays.
                    dialogue = session.dialogue
            elif stopped:
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
        self, step: _Step, msisdn: str, deadline: float, loaded: _Loaded | None = None,
    ) -> tuple[Reply, str]:
        sid = step.session_id
        if loaded is None:
            loaded = await self._load(sid, msisdn, self._probe(step.service_code, step.answers))
        session, caller, fresh_view, earlier = loaded
        now = self.clock.now()
        if session is not None and session.msisdn != msisdn:
            return self.engine.expired(caller.language, step.service_code), "expired"
        if session is not None and (session.expires_at <= now or session.closed in _LEFT):
            return self.engine.expired(session.caller.language, step.service_code), "expired"
        tree = self.engine.tree_for(step.service_code)
        if tree is None:
            return self.engine.unknown_code(caller.language, step.service_code), "unknown_code"
        step = dataclasses.replace(
            step, dialogue=session.dialogue if session is not None else step.dialogue or sessions.new_dialogue())
        answers = step.answers
        if session is None and earlier is not None and not answers:
            offered = self._resumable(earlier, caller, tree, now)
            if offered is not None:
                return await self._offer(offered, step, caller, now, deadline)
        elif session is not None and session.resume is not None:
            answers, chosen = _resumed(session.resume, answers)
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
            result = await self._run(walked.call, fresh_view, deadline)
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

    def _prepare(
        self, sid: str, msisdn: str, probe: str | None,
    ) -> tuple[SessionRow | None, Caller, BalanceView | None, SessionRow | None]:
        """The session row and the caller's own line, on the read connection; with ``probe`` (a first
        request of that code) and no row, also the caller's latest dialogue of the code.

        One read transaction for all: each statement in autocommit takes and
        drops the WAL read lock (two ``fcntl`` system calls) on its own.
        """
        with self.read_services.snapshot():
            if probe:
                row, earlier = self.read_services.load_session_and_latest(sid, msisdn, probe)
                if row is not None:
                    earlier = None  # not a first request after all
            else:
                row, earlier = self.read_services.load_session(sid), None
            try:
                view = self.read_services.check_balance(msisdn)
            except LineLost as exc:
                return row, Caller(msisdn, self.read_services.subscriber_language(msisdn), exc), None, earlier
            except GatewayError as exc:  # unknown or recycled: the menus still answer
                return row, Caller(msisdn, self.profile.default_language, exc), None, earlier
        return row, Caller(msisdn, view.language), view, earlier

    # --- resume after a timeout ------------------------------------------------------------

    def _resumable(
        self, old: sessions.Session, caller: Caller, tree: str, now: datetime,
    ) -> tuple[sessions.Session, tuple[Answer, ...]] | None:
        """The caller's earlier dialogue and the path to offer back, if it may be.

        Offered when it stopped without our END and without the subscriber
        leaving (a network timeout, ``close(TIMEOUT)``, or no answer until it
        went idle; a released or cancelled dialogue was the subscriber's
        choice), ``ussd_resume_seconds`` ago at most (from its last step or its
        close), on a menu, input or confirmation that is not secret and whose
        path holds no secret, and not on the start screen (nothing to resume).
        """
        if caller.refusal is not None:
            return None  # a lost, unknown or recycled line: the menus say so from the start
        if old.closed in ("end", Close.ABANDONED.value) or old.secret or not old.keep:
            return None
        if now - (old.updated_at or old.created_at) > self.resume:
            return None
        path = old.resume if old.screen == RESUME_SCREEN and old.resume is not None else old.path
        if not path or old.screen == f"{tree}:{self.engine.menus.trees[tree].start}":
            return None
        return old, path

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
        await self._store(session, now, self._db(deadline))
        log.info("ussd_resume_offered", session_id=step.session_id, msisdn=caller.msisdn,
                 earlier=old.session_id, screen=old.screen)
        return reply, "resume_offered"

    async def _run(self, call: ActionCall, fresh_view: BalanceView | None, deadline: float) -> object:
        """A read-only action, inline on the read connection."""
        if call.name == "check_balance" and fresh_view is not None:
            return fresh_view  # read a moment ago, in this same request
        spec = ACTION_TABLE[call.name]
        try:
            return await self.batcher.read(spec.invoke, self.read_services, call.msisdn, call.args,
                                          call.request_key)
        except GatewayError as exc:
            return exc
        except StoreBusy:
            raise  # nothing was done: the busy screen, not "unavailable"
        except Exception as exc:
            log.exception("ussd_action_failed", action=call.name)
            return exc

    async def _act(
        self, pending: Pending, session: sessions.Session | None, step: _Step, caller: Caller,
        deadline: float,
    ) -> tuple[Reply, str]:
        """A written action and its session row: one job, one transaction, one commit.

        The result is rendered inside the job so that the row holding it
        (what a resent request is answered from) commits with the action
        itself, instead of in a second transaction after it.
        """
        sid = step.session_id
        now = self.clock.now()
        # The job writes the whole row: a pending lazy save of it would be stale.
        self._unsaved.pop(sid, None)
        if session is not None:
            draft = dataclasses.replace(session, results=dict(session.results))
        else:
            draft = self._new_session(step, caller, now)
        try:
            result, reply, saved = await self.batcher.write(
                self._act_job, pending, draft, step, now, budget=self._db(deadline))
        except StoreBusy:
            raise  # nothing was done: the busy screen, not "unavailable"
        except Exception as exc:  # the action failed, or its group's commit did
            log.exception("ussd_action_failed", action=pending.call.name)
            result, reply, saved = exc, self.engine.complete(pending, exc), False
        if pending.call.name == "top_up":
            self._count_topup(result)
        if reply.save is not None:
            # The job applied the reply to the draft: it is the session now (kept in memory even if
            # its row was not written, so that a resend replays the result).
            self.cache.put(draft)
            if saved:
                draft.stored_until = draft.expires_at
            else:
                self._save_later(draft)
        else:
            await self._remember(session, reply, step, caller, deadline)
        return reply, _label(reply, result)

    def _act_job(
        self, pending: Pending, draft: sessions.Session, step: _Step, now: datetime,
    ) -> tuple[object, Reply, bool]:
        """Inside a group (on the loop or a lane, as the batcher runs it): the action, its screen and the row."""
        call = pending.call
        try:
            result: object = ACTION_TABLE[call.name].invoke(self.services, call.msisdn, call.args,
                                                            call.request_key)
        except GatewayError as exc:  # a refusal (recorded, if it counts, in its own savepoint)
            result = exc
        reply = self.engine.complete(pending, result)
        if reply.save is None:
            return result, reply, False
        draft.wrong_pins += isinstance(result, WrongPin)
        self._apply(draft, reply, step, now)
        try:
            self.services.save_sessions([sessions.state_row(draft, now)])
        except Exception as exc:  # noqa: BLE001 - the action went through: its result counts more
            log.warning("ussd_session_not_saved", session_id=draft.session_id, reason=str(exc))
            return result, reply, False
        return result, reply, True

    def _count_topup(self, result: object) -> None:
        if isinstance(result, BaseException):
            label = type(result).__name__ if isinstance(result, GatewayError) else "failed"
        else:
            label = "replayed" if getattr(result, "replayed", False) else "credited"
        self.metrics.topups.labels(label).inc()

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
        if reply.save:
            self._unsaved.pop(session.session_id, None)
            await self.batcher.write(self.services.save_sessions, [sessions.state_row(session, now)],
                                     durable=False, budget=self._db(deadline))
            session.stored_until = session.expires_at
        else:
            await self._store(session, now, self._db(deadline), last=reply.end and not step.latest)

    def _new_session(self, step: _Step, caller: Caller, now: datetime, **kept: Any) -> sessions.Session:
        """The session of a dialogue that had none: its first screen worth keeping is being shown."""
        return sessions.Session(step.session_id, caller.msisdn, step.service_code, caller, created_at=now,
                                expires_at=now + self.idle, dialogue=step.dialogue, **kept)

    def _apply(self, session: sessions.Session, reply: Reply, step: _Step, now: datetime) -> None:
        """The dialogue moved to ``reply``: its idle deadline, kept path, screen and last reply."""
        session.expires_at, session.updated_at = now + self.idle, now
        if reply.save:
            session.results[reply.save[0]] = reply.save[1]
        session.path = reply.kept
        session.screen, session.secret, session.keep = reply.screen, reply.secret, reply.keep
        if reply.end:
            session.closed = "end"
        if step.latest:
            session.last = (step.sequence, reply.text, reply.end)
            if reply.screen != RESUME_SCREEN:
                session.resume = None  # chosen: the kept path is the resumed one from now on

    async def _store(self, session: sessions.Session, now: datetime, budget: float, *,
                     last: bool = False) -> None:
        """A row that only says where the dialogue stands (nothing was done): behind the reply.

        Shared, before it: the next step may reach another process before a
        lazy write lands, and a late lazy write of an older step would undo
        the other process's newer one. ``last``: no step follows (our END on
        /ussd, whose resend replays from ``text`` wherever it lands), so
        behind the reply there too.
        """
        if not self.shared or last:
            self._save_later(session)
            return
        self._unsaved.pop(session.session_id, None)
        await self.batcher.write(self.services.save_sessions, [sessions.state_row(session, now)],
                                 durable=False, budget=budget)
        session.stored_until = session.expires_at

    def _forget(self, sid: str) -> None:
        """An ended dialogue leaves the cache once its row is in the database.

        After an END only a resend can come (the aggregator retrying the last
        request), and the row answers it as it does after a restart: the saved
        results replay, nothing is done twice. Keeping ended dialogues in memory
        for their idle time grew ``serve`` by ~750 bytes each (176 MB after a
        minute and a half at c=256); the cache now holds the dialogues still
        going. A row still waiting for its lazy write leaves when it is written
        (``_flushed``); one that could not be written stays, to answer a resend.
        """
        session = self.cache.get(sid)
        if session is None:
            return
        if sid in self._unsaved:
            session.ended = True
        elif session.stored_until is not None:
            self.cache.drop(sid)

    # --- lazy session rows --------------------------------------------------------------

    def _save_later(self, session: sessions.Session) -> None:
        """Write the row of ``session`` with the next group, not before the reply.

        Nothing was done in such a step (a written action's row commits with
        it). For Africa's Talking, which resends the whole path in ``text``, a
        request that finds an older row (after a crash within the few
        milliseconds before the flush) replays the dialogue exactly as the
        cached session would; what the row adds is the idle expiry across a
        restart and where the dialogue stood (resume, the journal). A dialect
        that sends only the latest answer would, after such a crash, append to
        the step before: a wrong screen, never a second side effect. The row is
        written at the end of this loop iteration, with every other session of
        the iteration, in one statement and without an fsync
        (``durable=False``); several steps of one session in between cost one
        write. A graceful shutdown writes what is still pending (``save_pending``).
        """
        self._unsaved[session.session_id] = session
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._unsaved:
            return
        batch = list(self._unsaved.values())
        now = self.clock.now()
        rows = [sessions.state_row(s, now) for s in batch]
        try:
            future = self.batcher.write_nowait(self.services.save_sessions, rows, durable=False)
        except RuntimeError:  # closing: ``save_pending`` writes them
            return
        self._unsaved.clear()
        for s in batch:
            s.stored_until = s.expires_at  # (written, as far as the next step can tell)
        self._writing.add(future)
        future.add_done_callback(lambda f: self._flushed(batch, f))

    async def settle(self) -> None:
        """Wait until every row kept behind a reply so far is written (or failed, to be retried).

        For whatever reads the table itself next (a test, ``ussd report`` in the same process).
        """
        self._flush()
        while self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)
        await self.journal.settle()

    def _flushed(self, batch: list[sessions.Session], future: asyncio.Future[None]) -> None:
        self._writing.discard(future)
        exc = None if future.cancelled() else future.exception()
        if not future.cancelled() and exc is None:
            for s in batch:  # written: an ended one needs no memory any more (``_forget``)
                if s.ended and s.session_id not in self._unsaved and self.cache.get(s.session_id) is s:
                    self.cache.drop(s.session_id)
            return
        log.warning("ussd_sessions_not_saved", count=len(batch), reason=str(exc))
        for s in batch:  # retried with the next flush, in a second at the latest
            s.stored_until = None
            self._unsaved.setdefault(s.session_id, s)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(1.0, self._flush)

    def save_pending(self) -> None:
        """Write the rows still waiting for a flush, on the caller's thread (the batcher has stopped)."""
        if self._unsaved:
            now = self.clock.now()
            self.services.save_sessions([sessions.state_row(s, now) for s in self._unsaved.values()])
            self._unsaved.clear()

    async def sweep(self) -> tuple[int, int, int]:
        """Journal the dialogues that timed out, then forget expired sessions: from memory now, from the
        database after ``RETENTION``. Returns (journaled, dropped, deleted)."""
        now = self.clock.now()
        journaled = await self.journal.sweep(now)
        dropped = self.cache.drop_expired(now)
        self.limiter.prune()
        deleted = await self.batcher.call(self.services.sweep_sessions, now - sessions.RETENTION)
        return journaled, dropped, deleted
