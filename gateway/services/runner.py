"""Running the synchronous services from asyncio.

SQLite calls block; a commit with ``synchronous=full`` waits for an fsync.
``DbRunner`` runs every service call on one dedicated thread, so the event
loop never blocks on the disk and the database sees one writer at a time
from this process (SQLite has a single writer anyway; a second thread would
only queue on its lock).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class DbRunner:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
