"""Running the synchronous services from asyncio.

SQLite calls block; a commit with ``synchronous=full`` waits for an fsync.
``DbRunner`` runs every service call on one dedicated thread, so the event
loop never blocks on the disk and the database sees one writer at a time
from this process (SQLite has a single writer anyway; a second thread would
only queue on its lock).

One thread means one queue: while another process holds the write lock, a
call waits up to ``busy_timeout`` on it and every call behind it waits too.
``call_within`` bounds the wait in the queue: a call that has not *started*
when its budget runs out is withdrawn (it never runs) and ``StoreBusy`` is
raised, so the caller can answer "busy, try again" truthfully. A call that
has started is always awaited to its end: its outcome (a committed top-up)
is never thrown away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from gateway.store import StoreBusy

P = ParamSpec("P")
T = TypeVar("T")


class DbRunner:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def call_within(self, budget: float, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``call``, withdrawn with ``StoreBusy`` if it has not started after ``budget`` seconds.

        Raises:
            StoreBusy: the call never ran (or ``fn`` itself found the database busy).
        """
        work = self._executor.submit(lambda: fn(*args, **kwargs))
        result = asyncio.wrap_future(work)
        try:
            return await asyncio.wait_for(asyncio.shield(result), max(budget, 0.0))
        except TimeoutError:
            if work.cancel():  # still queued: it will never run
                raise StoreBusy("the database thread is busy") from None
            return await result  # running: wait for its outcome

    def close(self) -> None:
        self._executor.shutdown(wait=True)
