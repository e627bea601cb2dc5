"""One request of a USSD session at a time: a resent request waits for the first, then gets its answer."""

from __future__ import annotations

import asyncio


class Turns:
    """The sessions with a request in progress, and the requests waiting behind each."""

    def __init__(self) -> None:
        self._active: dict[str, list[asyncio.Future[None]]] = {}

    async def take(self, sid: str) -> None:
        """Wait for the request of ``sid`` in progress, if any; ``done`` must follow."""
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
                self.done(sid)  # it was our turn: pass it on
            else:
                waiters.remove(turn)
            raise

    def done(self, sid: str) -> None:
        """The request of ``sid`` in progress is done: wake the next one, if any."""
        waiters = self._active[sid]
        while waiters:
            turn = waiters.pop(0)
            if not turn.done():
                turn.set_result(None)
                return
        del self._active[sid]
