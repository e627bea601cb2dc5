"""The session rows of ``Dialogues``: written behind the reply, grouped with the loop iteration's others.

A step that only shows a screen did nothing worth an fsync: its row is
written at the end of this loop iteration, with every other session's, in
one statement and without an fsync (``durable=False``); several steps of
one session in between cost one write. For Africa's Talking, which resends
the whole path in ``text``, a request that finds an older row (after a
crash before the flush) replays the dialogue exactly; a dialect that sends
only the latest answer would append to the step before: a wrong screen,
never a second side effect. With several processes on one database the row
is written before the reply instead (``store``): the next step may reach
another process first. A graceful shutdown writes what is still pending
(``save_pending``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from gateway.clock import Clock
from gateway.logs import get_logger
from gateway.services import Services
from gateway.services.batcher import Batcher
from gateway.ussd import sessions

log = get_logger("gateway.ussd")


class SessionRows:
    def __init__(self, *, services: Services, batcher: Batcher, clock: Clock, cache: sessions.SessionCache,
                 shared: bool) -> None:
        self.services = services
        self.batcher = batcher
        self.clock = clock
        self.cache = cache
        self.shared = shared
        #: Sessions whose row is behind memory (``later``), and whether a flush is due.
        self._unsaved: dict[str, sessions.Session] = {}
        self._flush_scheduled = False
        #: Their writes on the way (``settle``).
        self._writing: set[asyncio.Future[None]] = set()

    def behind(self, sid: str) -> bool:
        """The row of ``sid`` waits for a flush: memory, not the row, says where the dialogue stands."""
        return sid in self._unsaved

    def discard(self, sid: str) -> None:
        """The row is about to be written whole (a written action's job): a pending flush of it would be stale."""
        self._unsaved.pop(sid, None)

    async def now(self, session: sessions.Session, now: datetime, budget: float) -> None:
        """Write the row before the reply (its result was shown, or another process may serve the next step)."""
        self._unsaved.pop(session.session_id, None)
        await self.batcher.write(self.services.save_sessions, [sessions.state_row(session, now)],
                                 durable=False, budget=budget)
        session.stored_until = session.expires_at

    async def store(self, session: sessions.Session, now: datetime, budget: float, *, last: bool = False) -> None:
        """A row that only says where the dialogue stands (nothing was done): behind the reply.

        Shared, before it: a late lazy write of an older step would undo
        another process's newer one. ``last``: no step follows (our END on
        /ussd, whose resend replays from ``text`` wherever it lands), so
        behind the reply there too.
        """
        if not self.shared or last:
            self.later(session)
        else:
            await self.now(session, now, budget)

    def later(self, session: sessions.Session) -> None:
        """Write the row of ``session`` with the next flush, at the end of this loop iteration."""
        self._unsaved[session.session_id] = session
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def forget(self, sid: str) -> None:
        """An ended dialogue leaves the cache once its row is in the database.

        After an END only a resend can come (the aggregator retrying the last
        request), and the row answers it as it does after a restart: the saved
        results replay, nothing is done twice; so the cache holds only the
        dialogues still going. A row still waiting for its lazy write leaves
        when it is written (``SessionRows``); one that could not be written
        stays, to answer a resend.
        """
        session = self.cache.get(sid)
        if session is None:
            return
        if sid in self._unsaved:
            session.ended = True
        elif session.stored_until is not None:
            self.cache.drop(sid)

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

    def _flushed(self, batch: list[sessions.Session], future: asyncio.Future[None]) -> None:
        self._writing.discard(future)
        exc = None if future.cancelled() else future.exception()
        if not future.cancelled() and exc is None:
            for s in batch:  # written: an ended one needs no memory any more (``forget``)
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

    async def settle(self) -> None:
        """Wait until every row kept behind a reply so far is written (or failed, to be retried)."""
        self._flush()
        while self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)

    def save_pending(self) -> None:
        """Write the rows still waiting for a flush, on the caller's thread (the batcher has stopped)."""
        if self._unsaved:
            now = self.clock.now()
            self.services.save_sessions([sessions.state_row(s, now) for s in self._unsaved.values()])
            self._unsaved.clear()
