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

The runner owns WAL checkpoints (``checkpoint_every`` seconds after a group,
``PASSIVE``, on the DB thread with a connection of its own), so that no
commit waits for a checkpoint's writes and fsyncs.

With ``inline_writes`` (what ``serve`` uses), ``grouped`` jobs run on the
event loop's own thread instead, and only the commit goes to a thread:
the jobs that arrived during one loop iteration run back to back in one
``BEGIN IMMEDIATE`` transaction (a savepoint each, as above), then the
``COMMIT`` (its fsync, with the GIL released) runs on the commit thread
while the loop goes on serving; jobs that arrive meanwhile wait for it and
then form the next group. One thread hop per group instead of one per job,
and no job's Python waits for the GIL behind the loop's (on a gateway pinned
to one core, those switches cost more than the work). The loop never waits
for the disk or another process: if the write lock is taken (another process
writing, or the DB thread running a ``call`` that holds the connection), the
group goes to the DB thread as before, where it may wait ``busy_timeout``.
A group of only ``durable=False`` jobs commits inline (no fsync to wait for).

``read`` jobs (a balance check, the session row) run on the event loop's
own thread, on a read-only connection of their own: a WAL reader never waits
for the writer, so a balance check is not queued behind a group's fsync, and
an indexed read from a database in the page cache (~30 µs) costs less than
the two thread switches and the future of a hop to a DB thread — which, on
a gateway pinned to one core, is most of the cost. A read sees everything
committed before it started; since no write is reported before its commit, a
reply never shows a state older than one already reported.

On a server database (``GroupingStore``: PostgreSQL's ``PgDatabase``) every
job runs on the DB thread, grouped jobs in one ``group()`` transaction as
above; there are no inline writes and no checkpoints (the server does both).
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

from gateway.store import Store, StoreBusy

P = ParamSpec("P")
T = TypeVar("T")

class GroupingStore(Protocol):
    """A database whose ``group()`` makes the ``write_uow`` of several jobs savepoints of one commit."""

    def group(self, *, durable: bool = True) -> AbstractContextManager[None]: ...


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


@dataclass(slots=True)
class _Chore:
    """Housekeeping for the DB thread (a checkpoint): nobody waits for it."""
    fn: Callable[[], None]


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
    def __init__(self, store: Store | GroupingStore | None = None, *, inline_reads: bool = False, inline_writes: bool = False,
                 max_group: int = MAX_GROUP, checkpoint_every: float = 1.0) -> None:
        """``store``: enables ``grouped``; ``inline_reads``: ``read`` runs on the caller's thread;
        ``inline_writes``: ``grouped`` jobs run on the loop's thread, their commit on a thread."""
        self._store = store
        #: The SQLite store (inline writes and checkpoints); None on a server database.
        self._sqlite = store if isinstance(store, Store) else None
        self._checkpoint_every = checkpoint_every
        self._last_checkpoint = time.monotonic()
        if self._sqlite is not None:
            self._sqlite.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Job | _Chore | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="db", daemon=True)
        self._thread.start()
        self._inline_reads = inline_reads
        self._closed = False
        # --- inline writes (loop thread) ---
        self._inline_writes = inline_writes and self._sqlite is not None
        #: Grouped jobs waiting for the next inline group, in order.
        self._waiting: deque[_Job] = deque()
        self._drain_scheduled = False
        #: A group's COMMIT is on the commit thread (the loop holds ``store.lock`` until it is done).
        self._committing = False
        self._commits: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._committer: threading.Thread | None = None
        self._commit_token = 0
        self._checkpointer: sqlite3.Connection | None = None
        if self._inline_writes:
            self._committer = threading.Thread(target=self._commit_work, name="db-commit", daemon=True)
            self._committer.start()

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
        if grouped and self._inline_writes:
            self._waiting.append(job)
            if not self._drain_scheduled and not self._committing:
                self._drain_scheduled = True
                loop.call_soon(self._drain)
        else:
            self._queue.put(job)
        return job

    async def _await(self, job: _Job, budget: float | None) -> Any:
        if budget is None:
            return await job.future
        # One timer, not ``wait_for(shield(...))`` (a task, a waiter and two
        # callbacks per job): when it fires, a job still queued is withdrawn.
        timer = job.loop.call_later(max(budget, 0.0), _expire, job)
        try:
            return await job.future
        finally:
            timer.cancel()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._committer is not None:
                self._commits.put(None)
                self._committer.join()  # a commit in flight ends first
                if self._committing:  # its callback has not run: take the connection back now
                    try:
                        self._hand_back()
                    except RuntimeError:  # closed from another thread than the loop's
                        pass
            # Jobs still waiting for an inline group run on the DB thread before it stops.
            while self._waiting:
                self._queue.put(self._waiting.popleft())
            self._queue.put(None)
            self._thread.join()

    # --- inline writes (the loop thread) -------------------------------------------

    def _drain(self) -> None:
        """Run the waiting grouped jobs as one group on this (the loop's) thread."""
        self._drain_scheduled = False
        if self._committing or not self._waiting or self._closed:
            return
        store = self._sqlite
        assert store is not None
        group: list[_Job] = []
        while self._waiting and len(group) < self._max_group:
            group.append(self._waiting.popleft())
        if self._waiting:
            self._schedule_drain()
        durable = any(j.durable for j in group)
        if not store.lock.acquire(blocking=False):  # the DB thread is using the connection
            self._to_thread(group)
            return
        try:
            store.open_group(durable=durable, begin=True, wait=False)
        except StoreBusy:  # another process is writing: wait for it on the DB thread, not here
            store.lock.release()
            self._to_thread(group)
            return
        except BaseException as exc:  # unwritable: every job gets the error
            store.lock.release()
            _settle([(job, False, exc) for job in group if _start(job)])
            return
        outcomes = [(job, *_run(job.fn)) for job in group if _start(job)]
        if not durable:  # no fsync to wait for: commit here
            try:
                store.commit_group()
            except BaseException as exc:
                outcomes = _all_failed(outcomes, exc)
            finally:
                store.lock.release()
            _settle(outcomes)
            self._checkpoint_if_due()
            return
        self._committing = True
        store.handed_off = True  # until ``_hand_back``: nothing on this thread may use the connection
        loop, token = group[0].loop, self._commit_token
        self._commits.put(lambda: self._commit_group(loop, token, outcomes))

    def _hand_back(self) -> None:
        """The commit is done: the connection is the loop thread's again, then free."""
        assert self._sqlite is not None
        self._committing = False
        self._commit_token += 1
        self._sqlite.handed_off = False
        self._sqlite.lock.release()

    def _commit_group(self, loop: asyncio.AbstractEventLoop, token: int,
                      outcomes: list[tuple[_Job, bool, Any]]) -> None:
        """On the commit thread: COMMIT (the fsync), then hand the outcomes back to the loop."""
        assert self._sqlite is not None
        try:
            self._sqlite.commit_group()  # the loop thread holds the lock and waits for this
        except BaseException as exc:  # nothing of the group is saved
            outcomes = _all_failed(outcomes, exc)
        try:
            loop.call_soon_threadsafe(self._committed, token, outcomes)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    def _committed(self, token: int, outcomes: list[tuple[_Job, bool, Any]]) -> None:
        if token == self._commit_token:  # (else ``close`` has already taken the connection back)
            self._hand_back()
        _settle(outcomes)
        if self._waiting:
            self._schedule_drain()
        self._checkpoint_if_due()

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _to_thread(self, group: list[_Job]) -> None:
        for job in group:
            self._queue.put(job)

    def _checkpoint_if_due(self) -> None:
        if self._sqlite is None:
            return
        now = time.monotonic()
        if now - self._last_checkpoint >= self._checkpoint_every:
            self._last_checkpoint = now
            self._queue.put(_Chore(self._checkpoint))

    def _checkpoint(self) -> None:
        """On the DB thread, on a connection of its own: a PASSIVE checkpoint needs
        no write lock, so inline groups go on while it copies pages."""
        assert self._sqlite is not None
        try:
            if self._checkpointer is None:
                if self._sqlite.path in ("", ":memory:"):
                    return
                self._checkpointer = sqlite3.connect(self._sqlite.path, isolation_level=None,
                                                     check_same_thread=False)
                self._checkpointer.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception:  # noqa: BLE001 - retried later; SQLite stays consistent
            pass

    def _commit_work(self) -> None:
        while True:
            task = self._commits.get()
            if task is None:
                return
            task()

    # --- the DB thread -------------------------------------------------------------

    def _work(self) -> None:
        pending: deque[_Job | _Chore | None] = deque()  # taken from the queue, not yet run
        while True:
            job = pending.popleft() if pending else self._queue.get()
            if job is None:
                if self._checkpointer is not None:
                    self._checkpointer.close()
                return
            if isinstance(job, _Chore):
                job.fn()
                continue
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
                if isinstance(nxt, _Job) and nxt.grouped:
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
        self._checkpoint_if_due()


def _all_failed(outcomes: list[tuple[_Job, bool, Any]], exc: BaseException) -> list[tuple[_Job, bool, Any]]:
    """The group's commit failed: whatever each job returned, it gets ``exc``."""
    return [(job, False, exc) for job, _, _ in outcomes]


def _expire(job: _Job) -> None:
    """A job's budget ran out: if it has not started, it never will (``StoreBusy``)."""
    if _withdraw(job) and not job.future.done():
        job.future.set_exception(StoreBusy("the database thread is busy"))


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
