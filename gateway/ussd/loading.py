"""Where a USSD request starts: its session (memory, else its row) and the caller, in one read."""

from __future__ import annotations

from gateway.clock import Clock
from gateway.domain.errors import GatewayError, LineLost
from gateway.profile import OperatorProfile
from gateway.services import Services
from gateway.services.batcher import Batcher
from gateway.services.model import BalanceView
from gateway.services.sessions import SessionRow
from gateway.ussd import sessions
from gateway.ussd.resume import Resume
from gateway.ussd.rows import SessionRows
from menus.tree import Caller

#: A session (if any), the caller, the caller's balance when it was read with the row, and the
#: caller's latest earlier dialogue of the code when a first request looked for one (resume).
Loaded = tuple["sessions.Session | None", Caller, "BalanceView | None", "sessions.Session | None"]


class SessionLoader:
    def __init__(self, *, read_services: Services, batcher: Batcher, clock: Clock, profile: OperatorProfile,
                 cache: sessions.SessionCache, rows: SessionRows, resume: Resume, shared: bool) -> None:
        self.read_services = read_services
        self.batcher = batcher
        self.clock = clock
        self.profile = profile
        self.cache = cache
        self.rows = rows
        self.resume = resume
        #: Other processes serve the same sessions (``serve --workers N``): the next request of a
        #: dialogue may have gone to one of them, so the row, not the cache, says where it stands.
        self.shared = shared

    def stale(self, sid: str) -> bool:
        """Memory may be behind the row of ``sid`` (or holds none): read the row."""
        return self.cache.get(sid) is None or (self.shared and not self.rows.behind(sid))

    async def load(self, sid: str, msisdn: str, probe: str | None) -> Loaded:
        """The session (from memory, else its row) and the caller, with the caller's balance if read.

        ``probe`` (``Resume.probe``): without a row, also the caller's latest
        dialogue of that code, in the same read (resume).
        """
        session = self.cache.get(sid)
        if session is None or self.stale(sid):
            row, caller, fresh_view, earlier = await self.batcher.read(self._read, sid, msisdn, probe)
            if row is not None:
                session = sessions.from_row(row, caller)
                self.cache.put(session)
            elif session is not None:
                caller = session.caller  # its row could not be written: memory is all there is
            if earlier is not None and not self.resume.recent(earlier.updated_at, earlier.created_at,
                                                              self.clock.now()):
                earlier = None  # too long ago to offer: not worth decoding
            return session, caller, fresh_view, None if earlier is None else sessions.from_row(earlier, caller)
        return session, session.caller, None, None

    def _read(
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
