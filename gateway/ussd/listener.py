"""The HTTP listener of ``serve``: who may connect, how many at once.

aiohttp's ``TCPSite`` hands every accepted socket straight to a request
handler. ``GuardedSite`` puts a ``_Guarded`` protocol in front of each one:

- a connection from outside the configured networks is closed in
  ``connection_made``, before a byte of it is read;
- at most ``max_connections`` stay open. At the cap a new connection closes
  the one that has been quiet longest and is not being answered (what nginx
  does with idle keep-alive connections when it runs out), so a flood of idle
  or slowly trickling connections cannot lock a real caller out; when every
  open connection is being answered, the new one is closed instead.

The cap is what keeps ``accept()`` from failing for want of file descriptors:
asyncio accepts up to the listen backlog in one go before any of them reaches
``connection_made``, and a connection closed there gives its descriptor back
only on a later loop turn, by when the next backlog may have been accepted;
so ``fit_cap`` keeps the cap two backlogs and a reserve (the database, the
SMPP link, logs) under the soft ``RLIMIT_NOFILE``, which
``raise_file_limit`` lifts to the hard limit at start. Timeouts are aiohttp's
(``keepalive_timeout``) and the view's (``body_timeout``), see ``HttpSettings``.
"""

from __future__ import annotations

import asyncio
import resource
from collections import OrderedDict
from collections.abc import Callable
from typing import cast

from aiohttp import web

from gateway.logs import get_logger
from gateway.ussd.access import Access

log = get_logger("gateway.http")

#: Listen backlog, and so the most sockets asyncio accepts before they are counted.
BACKLOG = 128
#: Descriptors kept free for everything but HTTP connections.
RESERVE = 64
#: Seconds an unread request body is drained after the answer, so the caller reads it before the close.
LINGER_SECONDS = 1.0
#: Seconds between two log lines about connections closed at the cap.
_CAP_LOG_SECONDS = 60.0


def raise_file_limit() -> tuple[int, int, int]:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; (soft before, soft now, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft, soft, hard
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard


def fit_cap(max_connections: int, soft_limit: int) -> int:
    """``max_connections``, lowered when the file limit could not hold that many plus two backlogs."""
    if soft_limit == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft_limit - 2 * BACKLOG - RESERVE))


class ConnectionGuard:
    """The open connections, quietest first, and the rule for admitting one more."""

    def __init__(self, *, access: Access, max_connections: int) -> None:
        self.access = access
        self.max_connections = max_connections
        self.open: OrderedDict[_Guarded, None] = OrderedDict()
        self.evicted = 0
        self.refused = 0
        self._logged_at = -_CAP_LOG_SECONDS

    def admit(self, conn: _Guarded, host: str | None) -> bool:
        if not self.access.allows_network(host):
            return False
        if len(self.open) >= self.max_connections:
            victim = next((c for c in self.open if not c.busy), None)
            if victim is None:
                self.refused += 1
                self._at_cap()
                return False
            del self.open[victim]
            victim.abort()
            self.evicted += 1
            self._at_cap()
        self.open[conn] = None
        return True

    def touch(self, conn: _Guarded) -> None:
        if conn in self.open:
            self.open.move_to_end(conn)

    def forget(self, conn: _Guarded) -> None:
        self.open.pop(conn, None)

    def _at_cap(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._logged_at >= _CAP_LOG_SECONDS:
            self._logged_at = now
            log.warning("http_connections_at_cap", max_connections=self.max_connections,
                        closed_idle=self.evicted, refused=self.refused)


class _Guarded(asyncio.Protocol):
    """One accepted connection: admitted by the guard, then handed to aiohttp's handler."""

    __slots__ = ("_guard", "_factory", "_inner", "_transport")

    def __init__(self, guard: ConnectionGuard, factory: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._factory = factory
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None

    @property
    def busy(self) -> bool:
        """A request on this connection is being answered (aiohttp's own flag; idle if it ever goes)."""
        return bool(getattr(self._inner, "_request_in_progress", False))

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tcp = cast(asyncio.Transport, transport)
        peer = tcp.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else None
        if not self._guard.admit(self, host):
            tcp.abort()
            return
        self._transport = tcp
        self._inner = self._factory()
        self._inner.connection_made(tcp)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._guard.touch(self)
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.forget(self)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class GuardedSite(web.BaseSite):
    """``web.TCPSite`` with every accepted connection passed through a ``ConnectionGuard``."""

    __slots__ = ("_host", "_port", "_guard", "_reuse_port")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, guard: ConnectionGuard,
                 reuse_port: bool = False) -> None:
        super().__init__(runner, backlog=BACKLOG)
        self._host, self._port, self._guard = host, port, guard
        #: ``SO_REUSEPORT``: the workers of ``serve --workers N`` each listen on the same port and
        #: the kernel spreads new connections among them.
        self._reuse_port = reuse_port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        handlers = self._runner.server
        assert handlers is not None  # BaseSite refuses a runner that is not set up
        guard = self._guard
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guarded(guard, handlers), self._host, self._port, backlog=self._backlog,
            reuse_port=self._reuse_port or None)
