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
group.

One thread means one queue: while another process holds the write lock, a
job waits up to ``busy_timeout`` on it and every job behind it waits too.
``call_within`` and ``grouped(..., budget=)`` bound the wait in the queue: a
job that has not *started* when its budget runs out is withdrawn (it never
runs) and ``StoreBusy`` is raised, so the caller can answer "busy, try
again" truthfully. A job that has started is always awaited to its end: its
outcome (a committed top-up) is never thrown away.

The runner owns WAL checkpoints of its connection (``checkpoint_every``
seconds, on the DB thread, after a group, ``PASSIVE``), so that no commit
waits for a checkpoint's writes and fsyncs.

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

from gateway.store import Store, StoreBusy

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
    #: queued -> started (by the DB thread) or withdrawn (by the caller), under ``_STATE``.
    state: int = 0


_QUEUED, _STARTED, _WITHDRAWN = 0, 1, 2
_STATE = threading.Lock()


def _start(job: _Job) -> bool:
    with _STATE:
        if job.state == _WITHDRAWN:
            return False
        job.state = _STARTED
        return True


def _withdraw(job: _Job) -> bool:
    with _STATE:
        if job.state == _STARTED:
            return False
        job.state = _WITHDRAWN
        return True


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

    async def call_within(self, budget: float, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``call``, withdrawn with ``StoreBusy`` if it has not started after ``budget`` seconds.

        Raises:
            StoreBusy: the call never ran (or ``fn`` itself found the database busy).
        """
        job = self._job(lambda: fn(*args, **kwargs), grouped=False, durable=True)
        return await self._await(job, budget)  # type: ignore[no-any-return]

    async def grouped(self, fn: Callable[..., T], /, *args: Any, durable: bool = True,
                      budget: float | None = None) -> T:
        """Run ``fn(*args)`` on the DB thread, sharing one commit with the jobs waiting with it.

        ``durable=False``: the job writes nothing that must survive a power cut
        (a group of only such jobs commits without an fsync). ``budget``: as
        ``call_within``.

        Raises:
            StoreBusy: the job never ran (or found the database busy).
        """
        job = self._job(lambda: fn(*args), grouped=self._store is not None, durable=durable)
        return await self._await(job, budget)  # type: ignore[no-any-return]

    def grouped_nowait(self, fn: Callable[..., T], /, *args: Any, durable: bool = True) -> asyncio.Future[T]:
        """``grouped`` without waiting: the future of ``fn(*args)``, settled after its group's commit.

        Raises:
            RuntimeError: the runner is closed.
        """
        return self._job(lambda: fn(*args), grouped=self._store is not None, durable=durable).future

    def _submit(self, fn: Callable[[], Any], *, grouped: bool, durable: bool) -> asyncio.Future[Any]:
        return self._job(fn, grouped=grouped, durable=durable).future

    def _job(self, fn: Callable[[], Any], *, grouped: bool, durable: bool) -> _Job:
        if self._closed:
            raise RuntimeError("DbRunner is closed")
        loop = asyncio.get_running_loop()
        job = _Job(fn, loop.create_future(), loop, grouped, durable)
        self._queue.put(job)
        return job

    async def _await(self, job: _Job, budget: float | None) -> Any:
        if budget is None:
            return await job.future
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), max(budget, 0.0))
        except TimeoutError:
            if _withdraw(job):  # still queued: it will never run
                raise StoreBusy("the database thread is busy") from None
            return await job.future  # running: wait for its outcome

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
                if _start(job):
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
                    if _start(job):  # a job whose caller gave up while it waited is skipped
                        outcomes.append((job, *_run(job.fn)))
        except BaseException as exc:  # the commit failed: nothing of the group is saved
            outcomes = [(job, False, exc) for job in group if job.state != _WITHDRAWN]
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
