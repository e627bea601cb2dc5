"""One USSD request: find the session, walk the menus, run the action, remember.

This is the I/O shell around ``menus.engine``: every database call goes
through ``DbRunner`` (one hop per request in the common case: the session
row and the caller's line are read together), the engine decides the screen.
Reads (the session row, the caller's line, read-only actions) run on the
read-only connection (``read_services``/``read_store``, inline: see
``DbRunner.read``), so they never wait behind a top-up's fsync; writes are
grouped (``DbRunner.grouped``: one commit for the writes waiting together).
Requests of one session are handled one at a time, so a resent request waits
for the first and then gets its saved answer.

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
import sqlite3
import time
from datetime import timedelta
from typing import Any

from gateway.clock import Clock
from gateway.domain.errors import GatewayError, LineLost, RateLimited, WrongPin
from gateway.logs import get_logger
from gateway.profile import OperatorProfile
from gateway.services import Services
from gateway.services.model import BalanceView
from gateway.services.ratelimit import RateLimiter
from gateway.services.runner import DbRunner
from gateway.store import Store, StoreBusy, StoreError
from gateway.ussd import sessions
from gateway.ussd.africastalking import UssdRequest
from gateway.ussd.metrics import UssdMetrics
from menus.actions import ACTION_TABLE
from menus.engine import Engine
from menus.model import ActionCall, Caller, Pending, Reply, Turn

log = get_logger("gateway.ussd")

#: Wrong PINs one USSD session may try; a genuine session tries one.
WRONG_PINS_PER_SESSION = 3


class Dialogues:
    def __init__(
        self, *, engine: Engine, services: Services, runner: DbRunner, store: Store, clock: Clock,
        profile: OperatorProfile, metrics: UssdMetrics, cache: sessions.SessionCache,
        limiter: RateLimiter | None = None, budget_seconds: float = 5.0,
        read_services: Services | None = None, read_store: Store | None = None,
    ) -> None:
        self.engine = engine
        self.services = services
        self.read_services = read_services or services
        self.read_store = read_store or store
        self.runner = runner
        self.store = store
        self.clock = clock
        self.profile = profile
        self.metrics = metrics
        self.cache = cache
        self.limiter = limiter if limiter is not None else RateLimiter(0)  # (an empty one is falsy)
        #: How long one request may wait for the database thread, in all.
        self.budget = budget_seconds
        self.idle = timedelta(seconds=profile.ussd_session_idle_seconds)
        #: Sessions with a request in progress, and the requests waiting behind it.
        self._active: dict[str, list[asyncio.Future[None]]] = {}
        self._known_codes = frozenset(engine.menus.by_code)

    async def handle(self, request: UssdRequest, msisdn: str) -> Reply:
        started = time.perf_counter()
        outcome = "error"
        try:
            wait = self.limiter.take(msisdn)
            if wait > 0:
                outcome = "rate_limited"
                return self._refusal(request, RateLimited(self.clock.now() + timedelta(seconds=wait)))
            try:
                await self._turn(request.session_id)
                try:
                    reply, outcome = await self._handle(request, msisdn, started + self.budget)
                finally:
                    self._hand_over(request.session_id)
            except StoreBusy:
                outcome = "busy"
                return Reply(self.engine.replies.busy(self._language(request)), end=True)
            except (StoreError, sqlite3.DatabaseError):
                # A damaged or unwritable file: a screen for the caller, the details for the operator.
                log.exception("ussd_database_failed", session_id=request.session_id)
                return self.engine.unavailable(self._language(request))
            return reply
        finally:
            elapsed = time.perf_counter() - started
            code = request.service_code if request.service_code in self._known_codes else "other"
            self.metrics.requests.labels(code, outcome).inc()
            self.metrics.step_seconds.observe(elapsed)
            log.info("ussd_turn", session_id=request.session_id, msisdn=msisdn, service_code=code,
                     step=len(request.answers), outcome=outcome, ms=round(elapsed * 1000, 2))

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

    def _language(self, request: UssdRequest) -> str:
        session = self.cache.get(request.session_id)
        return session.caller.language if session is not None else self.profile.default_language

    def _refusal(self, request: UssdRequest, exc: GatewayError) -> Reply:
        return Reply(self.engine.replies.error(exc, self._language(request)), end=True)

    def _db(self, deadline: float) -> float:
        """What is left of the request's budget for the next database hop."""
        return deadline - time.perf_counter()

    async def _handle(self, request: UssdRequest, msisdn: str, deadline: float) -> tuple[Reply, str]:
        sid = request.session_id
        session = self.cache.get(sid)
        fresh_view: BalanceView | None = None
        if session is None:
            row, caller, fresh_view = await self.runner.read(self._prepare, sid, msisdn)
            if row is not None:
                session = sessions.from_row(row, caller)
                self.cache.put(session)
        else:
            caller = session.caller
        now = self.clock.now()
        if session is not None and session.msisdn != msisdn:
            return self.engine.expired(caller.language, request.service_code), "expired"
        if session is not None and session.expires_at <= now:
            return self.engine.expired(session.caller.language, request.service_code), "expired"
        tree = self.engine.tree_for(request.service_code)
        if tree is None:
            return self.engine.unknown_code(caller.language, request.service_code), "unknown_code"

        turn = Turn(tree, request.answers, session.caller if session else caller, sid,
                    session.results if session else {})
        step = self.engine.step(turn)
        wrong_pin = False
        if isinstance(step, Pending):
            if (step.call.name == "top_up" and session is not None
                    and session.wrong_pins >= WRONG_PINS_PER_SESSION):
                until = now + self.idle
                return Reply(self.engine.replies.error(RateLimited(until), turn.caller.language), end=True), \
                    "rate_limited"
            result = await self._run(step.call, fresh_view, deadline)
            if step.call.name == "top_up":
                self._count_topup(result)
                wrong_pin = isinstance(result, WrongPin)
            reply = self.engine.complete(step, result)
        else:
            reply = step
        try:
            await self._remember(session, reply, request, turn.caller, deadline, wrong_pin)
        except StoreBusy:
            if reply.save is None:
                raise  # nothing was done: say busy
            # The action went through; its result counts more than the session row.
            log.warning("ussd_session_not_saved", session_id=sid, reason="database busy")
        return reply, "end" if reply.end else "continue"

    def _prepare(self, sid: str, msisdn: str) -> tuple[Any, Caller, BalanceView | None]:
        """The session row and the caller's own line, on the read connection."""
        row = sessions.load_row(self.read_store, sid)
        try:
            view = self.read_services.check_balance(msisdn)
        except LineLost as exc:
            return row, Caller(msisdn, self.read_services.subscriber_language(msisdn), exc), None
        except GatewayError as exc:  # unknown or recycled: the menus still answer
            return row, Caller(msisdn, self.profile.default_language, exc), None
        return row, Caller(msisdn, view.language), view

    async def _run(self, call: ActionCall, fresh_view: BalanceView | None, deadline: float) -> object:
        if call.name == "check_balance" and fresh_view is not None:
            return fresh_view  # read a moment ago, in this same request
        spec = ACTION_TABLE[call.name]
        try:
            if not spec.writes:
                return await self.runner.read(spec.invoke, self.read_services, call.msisdn, call.args,
                                              call.request_key)
            return await self.runner.grouped(spec.invoke, self.services, call.msisdn, call.args,
                                             call.request_key, budget=self._db(deadline))
        except GatewayError as exc:
            return exc
        except StoreBusy:
            raise  # nothing was done: the busy screen, not "unavailable"
        except Exception as exc:
            log.exception("ussd_action_failed", action=call.name)
            return exc

    def _count_topup(self, result: object) -> None:
        if isinstance(result, BaseException):
            label = type(result).__name__ if isinstance(result, GatewayError) else "failed"
        else:
            label = "replayed" if getattr(result, "replayed", False) else "credited"
        self.metrics.topups.labels(label).inc()

    async def _remember(
        self, session: sessions.Session | None, reply: Reply, request: UssdRequest, caller: Caller,
        deadline: float, wrong_pin: bool = False,
    ) -> None:
        now = self.clock.now()
        if session is None:
            if not (reply.keep or reply.save):
                return  # a one-step read, or result pages the text alone can replay
            session = sessions.Session(request.session_id, caller.msisdn, request.service_code, caller,
                                       created_at=now, expires_at=now + self.idle)
            if reply.save:
                session.results[reply.save[0]] = reply.save[1]
            session.wrong_pins += wrong_pin
            # Cached first: if the row cannot be written now, the result is still replayed.
            self.cache.put(session)
            await self.runner.grouped(sessions.save, self.store, session, now, durable=False,
                                      budget=self._db(deadline))
            session.stored_until = session.expires_at
            return
        session.expires_at = now + self.idle
        session.wrong_pins += wrong_pin
        if reply.save:
            session.results[reply.save[0]] = reply.save[1]
            await self.runner.grouped(sessions.save, self.store, session, now, durable=False,
                                      budget=self._db(deadline))
            session.stored_until = session.expires_at
        elif session.stored_until is None or session.stored_until - now < self.idle / 2:
            await self.runner.grouped(sessions.touch, self.store, session.session_id, session.expires_at, now,
                                      durable=False, budget=self._db(deadline))
            session.stored_until = session.expires_at

    async def sweep(self) -> tuple[int, int]:
        """Forget expired sessions: from memory now, from the database after ``RETENTION``."""
        now = self.clock.now()
        dropped = self.cache.drop_expired(now)
        self.limiter.prune()
        deleted = await self.runner.call(sessions.sweep, self.store, now)
        return dropped, deleted
