"""Running the synchronous services from asyncio, with group commit.

SQLite calls block; a commit with ``synchronous=full`` waits for an fsync
(0.3 to 2.5 ms on the benchmark machine). ``DbRunner`` runs every service
call on one dedicated thread, so the event loop never blocks on the disk and
the database sees one writer at a time from this process (SQLite has a
single writer anyway; a second thread would only queue on its lock).

``call`` runs a job on its own, in its own transactions, as before.
``grouped`` jobs that are waiting together run back to back in one
``BEGIN IMMEDIATE`` transaction (``Store.group``): each job's
``store.write()`` becomes a savepoint, so each business operation is still
all or nothing, and the group commits once — one fsync for all of them.
No job's result is handed back before that commit, so nothing is reported
done that is not durable; if the commit fails, every job of the group gets
the error. A group whose jobs all said ``durable=False`` (USSD session rows)
commits without the fsync. Results go back to the loop in one wake-up per
group. When the DB thread is not using the connection at that moment, a
``durable=False`` job runs at once on the loop's thread instead (no fsync,
tens of µs: less than the hop); otherwise it is queued like the others.

The runner owns WAL checkpoints of its connection (``checkpoint_every``
seconds, on the DB thread, after a group), so that no commit made on the
loop's thread ever runs a checkpoint and its fsyncs.

``read`` jobs (a balance check, the session row) run on the event loop's
own thread, on a read-only connection of their own: a WAL reader never waits
for the writer, so a balance check is not queued behind a group's fsync, and
an indexed read from a database in the page cache (~30 µs) costs less than
the two thread switches and the future of a hop to a DB thread — which, on
a gateway pinned to one core, is most of the cost. A read sees everything
committed before it started; since no write is reported before its commit, a
reply never shows a state older than one already reported.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from gateway.store import Store

P = ParamSpec("P")
T = TypeVar("T")

#: Most jobs in one group: bounds the wait of the first one (~15 ms of work).
MAX_GROUP = 64


@dataclass(slots=True)
class _Job:
    fn: Callable[[], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    grouped: bool
    durable: bool


class DbRunner:
    def __init__(self, store: Store | None = None, *, inline_reads: bool = False,
                 max_group: int = MAX_GROUP, checkpoint_every: float = 1.0) -> None:
        """``store``: enables ``grouped``; ``inline_reads``: ``read`` runs on the caller's thread."""
        self._store = store
        self._checkpoint_every = checkpoint_every
        self._last_checkpoint = time.monotonic()
        if store is not None:
            store.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="db", daemon=True)
        self._thread.start()
        self._inline_reads = inline_reads
        self._closed = False

    async def read(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run ``fn(*args)``, which only reads, inline (else on the DB thread, as ``call``).

        Inline, ``fn`` must use a connection of its own (``gateway.app`` binds a
        read-only ``Store`` for it), never the writer's.
        """
        if self._inline_reads:
            return fn(*args)
        result: T = await self._submit(lambda: fn(*args), grouped=False, durable=False)
        return result

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on the DB thread on its own; its transactions are its own."""
        result: T = await self._submit(lambda: fn(*args, **kwargs), grouped=False, durable=True)
        return result

    async def grouped(self, fn: Callable[..., T], /, *args: Any, durable: bool = True) -> T:
        """Run ``fn(*args)`` on the DB thread, sharing one commit with the jobs waiting with it.

        ``durable=False``: the job writes nothing that must survive a power cut
        (a group of only such jobs commits without an fsync).
        """
        store = self._store
        if not durable and store is not None and store.try_lock():
            try:  # the DB thread is not in a transaction: a short relaxed write, here
                with store.group(durable=False):
                    value: T = fn(*args)
                return value
            finally:
                store.unlock()
        result: T = await self._submit(lambda: fn(*args), grouped=store is not None, durable=durable)
        return result

    def _submit(self, fn: Callable[[], Any], *, grouped: bool, durable: bool) -> asyncio.Future[Any]:
        if self._closed:
            raise RuntimeError("DbRunner is closed")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Job(fn, future, loop, grouped, durable))
        return future

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    # --- the DB thread -------------------------------------------------------------

    def _work(self) -> None:
        pending: deque[_Job | None] = deque()  # taken from the queue, not yet run
        while True:
            job = pending.popleft() if pending else self._queue.get()
            if job is None:
                return
            if not job.grouped:
                _deliver([(job, *_run(job.fn))])
                continue
            group = [job]
            while len(group) < self._max_group and not pending:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is not None and nxt.grouped:
                    group.append(nxt)
                else:
                    pending.append(nxt)  # runs after this group, in order
            self._run_group(group)

    def _run_group(self, group: list[_Job]) -> None:
        assert self._store is not None
        outcomes: list[tuple[_Job, bool, Any]] = []
        try:
            with self._store.group(durable=any(j.durable for j in group)):
                for job in group:
                    outcomes.append((job, *_run(job.fn)))
        except BaseException as exc:  # the commit failed: nothing of the group is saved
            outcomes = [(job, False, exc) for job in group]
        _deliver(outcomes)
        now = time.monotonic()
        if now - self._last_checkpoint >= self._checkpoint_every:
            self._last_checkpoint = now
            try:
                self._store.checkpoint()
            except Exception:  # noqa: BLE001 - retried after the next group; SQLite stays consistent
                pass


def _run(fn: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, fn()
    except BaseException as exc:
        return False, exc


def _deliver(outcomes: list[tuple[_Job, bool, Any]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, bool, Any]]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, items)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass


def _settle(items: list[tuple[_Job, bool, Any]]) -> None:
    for job, ok, value in items:
        if job.future.done():
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)
