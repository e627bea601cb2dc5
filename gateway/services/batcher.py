"""The one write path: every database job of a channel goes through a ``Batcher``.

The services are synchronous; a commit waits for the disk (an fsync) and on
PostgreSQL every statement is a network round trip. The batcher runs them so
that the event loop never waits for either, and so that writes share commits:

- ``write`` jobs that arrive during one loop iteration form a *group*: one
  transaction (``GroupCommit.begin_group``) in which each job's
  ``write_uow`` is a savepoint (each business operation stays all or
  nothing; a failing job does not undo the others; on SQLite a
  ``single_statement`` one needs none), and one commit. No
  job's result is handed back before that commit; if it fails, every job of
  the group gets the error. A group whose jobs all said ``durable=False``
  commits without waiting for the disk. Jobs that arrive while a group is
  out form the next one, so groups grow with the load.
- ``call`` runs a job alone, in its own transactions (the SMS side's
  batches, housekeeping); ``read`` runs a job that only reads.
- A job waits in the queue at most its ``budget``: one not started by then
  is withdrawn (it never runs) and raises ``StoreBusy``, so the caller can
  answer "busy, try again" truthfully. A started job is always awaited to
  its end: its outcome (a committed top-up) is never thrown away.

Where the work runs is the database's (``GroupCommit``): ``lanes`` threads,
each running one unit of work (a group, or one job alone) at a time, on a
connection of its own. On PostgreSQL (``inline`` false) every job runs on a
lane, several groups and reads overlapping on pooled connections (row locks
keep the semantics). SQLite has one writer and so one lane; there a group's
jobs run on the loop's own thread, back to back, and only its COMMIT (the
fsync, with the GIL released) goes to the lane: one thread hop per group,
and no job's Python waits for the GIL behind the loop's. If another process
holds the write lock, the group runs on the lane instead, where it may wait
for it; reads run inline on a read-only connection (a WAL reader never
waits). The write path owns SQLite's WAL checkpoints (``checkpointer``),
about once a second on a thread of their own, so no commit waits for one.

All of the batcher's state lives on the event loop's thread; the lanes only
run units and hand each one's outcomes back in one loop wake-up.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from gateway.store.port import GroupCommit, StoreBusy

P = ParamSpec("P")
T = TypeVar("T")

#: Most jobs in one group: bounds the wait of the first one (~15 ms of work).
MAX_GROUP = 64
#: Seconds between two WAL checkpoints (SQLite).
CHECKPOINT_EVERY = 1.0

_QUEUED, _STARTED, _WITHDRAWN = 0, 1, 2

Outcome = tuple["_Job", bool, Any]


@dataclass(slots=True)
class _Job:
    fn: Callable[[], Any]
    future: asyncio.Future[Any]
    #: Arrival order across both queues.
    seq: int
    durable: bool
    state: int = _QUEUED


class Batcher:
    """One process's write path over ``db`` (see the module docstring); ``close()`` drains it."""

    def __init__(self, db: GroupCommit, *, max_group: int = MAX_GROUP,
                 checkpoint_every: float = CHECKPOINT_EVERY) -> None:
        self._db = db
        self._inline = db.inline
        self._max_group = max_group
        self._lanes = ThreadPoolExecutor(max_workers=db.lanes, thread_name_prefix="db")
        #: Lanes not running a unit (only the loop's thread changes it).
        self._free = db.lanes
        self._writes: deque[_Job] = deque()
        self._alone: deque[_Job] = deque()
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_scheduled = False
        self._draining = False
        self._closed = False
        self._checkpoint = db.checkpointer()
        self._checkpoint_every = checkpoint_every
        self._last_checkpoint = time.monotonic()
        self._chores = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-checkpoint") \
            if self._checkpoint is not None else None
        self._chore: Any = None  # the checkpoint under way (a concurrent future)

    # --- what the channels call -------------------------------------------------------

    async def read(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run ``fn(*args)``, which only reads: inline on SQLite, on a lane on a server database.

        Inline, ``fn`` must use a connection of its own (``gateway.app`` binds a
        read-only ``Store`` for it), never the writer's.
        """
        if self._inline:
            return fn(*args)
        result: T = await self._submit(self._alone, lambda: fn(*args), True, None)
        return result

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` alone on a lane; its transactions are its own."""
        result: T = await self._submit(self._alone, lambda: fn(*args, **kwargs), True, None)
        return result

    async def write(self, fn: Callable[..., T], /, *args: Any, durable: bool = True,
                    budget: float | None = None) -> T:
        """Run ``fn(*args)`` in a group with the jobs waiting with it; its result once the group committed.

        ``durable=False``: the job writes nothing that must survive a power cut
        (a group of only such jobs commits without an fsync). ``budget``:
        seconds it may wait to start.

        Raises:
            StoreBusy: the job never ran (or found the database busy).
        """
        result: T = await self._submit(self._writes, lambda: fn(*args), durable, budget)
        return result

    def write_nowait(self, fn: Callable[..., T], /, *args: Any, durable: bool = True) -> asyncio.Future[T]:
        """``write`` without waiting: the future of ``fn(*args)``, settled after its group's commit.

        Raises:
            RuntimeError: the batcher is closed.
        """
        return self._job(self._writes, lambda: fn(*args), durable).future

    def close(self) -> None:
        """Run what is still queued (on the lanes), wait for every unit, stop the threads."""
        if self._closed:
            return
        self._closed = True
        while self._writes or self._alone:
            unit = self._next_unit()
            if unit is not None:
                self._dispatch(*unit, inline=False)
        self._lanes.shutdown(wait=True)
        if self._chores is not None:
            self._chores.shutdown(wait=True)

    # --- queueing (the loop's thread) ---------------------------------------------------

    async def _submit(self, queue: deque[_Job], fn: Callable[[], Any], durable: bool,
                      budget: float | None) -> Any:
        job = self._job(queue, fn, durable)
        if budget is None:
            return await job.future
        # One timer, not ``wait_for(shield(...))``: when it fires, a job still queued is withdrawn.
        timer = asyncio.get_running_loop().call_later(max(budget, 0.0), _expire, job)
        try:
            return await job.future
        finally:
            timer.cancel()

    def _job(self, queue: deque[_Job], fn: Callable[[], Any], durable: bool) -> _Job:
        if self._closed:
            raise RuntimeError("the batcher is closed")
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None and self._free != self._db.lanes:
                raise RuntimeError("the batcher is busy on another event loop")
            self._loop = loop
        job = _Job(fn, loop.create_future(), next(self._seq), durable)
        queue.append(job)
        if not self._drain_scheduled and self._free:
            self._drain_scheduled = True
            loop.call_soon(self._drain)
        return job

    def _drain(self) -> None:
        """Hand out the queued work to the free lanes, oldest first."""
        self._drain_scheduled = False
        if self._draining:  # (a unit settled while handing out: the loop below goes on)
            return
        self._draining = True
        try:
            while self._free and not self._closed:
                unit = self._next_unit()
                if unit is None:
                    return
                self._dispatch(*unit, inline=self._inline)
        finally:
            self._draining = False

    def _next_unit(self) -> tuple[bool, list[_Job]] | None:
        """The oldest waiting work: (True, a group of writes) or (False, one job alone); None: nothing."""
        writes, alone = self._writes, self._alone
        while writes or alone:
            if writes and (not alone or writes[0].seq < alone[0].seq):
                group: list[_Job] = []
                while writes and len(group) < self._max_group:
                    job = writes.popleft()
                    if job.state == _QUEUED:  # (a withdrawn one is skipped)
                        group.append(job)
                if group:
                    return True, group
            else:
                job = alone.popleft()
                if job.state == _QUEUED:
                    return False, [job]
        return None

    def _dispatch(self, grouped: bool, unit: list[_Job], *, inline: bool) -> None:
        for job in unit:
            job.state = _STARTED
        self._free -= 1
        if not grouped:
            self._lanes.submit(self._run_alone, unit[0])
        elif not (inline and self._inline_group(unit)):
            self._lanes.submit(self._run_group, unit)

    # --- running units -------------------------------------------------------------------

    def _inline_group(self, group: list[_Job]) -> bool:
        """Run a group's jobs here on the loop and its commit on the lane; False: run it all on the lane."""
        durable = any(job.durable for job in group)
        try:
            self._db.begin_group(durable=durable, wait=False)
        except StoreBusy:  # another process is writing: wait for it on the lane, not here
            return False
        except BaseException as exc:  # unwritable: every job gets the error
            self._done([(job, False, exc) for job in group])
            return True
        outcomes = [(job, *_run(job.fn)) for job in group]
        if durable:
            self._lanes.submit(self._commit, outcomes)
        else:  # no fsync to wait for: commit here
            self._done(self._committed(outcomes))
        return True

    def _commit(self, outcomes: list[Outcome]) -> None:
        """On the lane: the COMMIT of a group whose jobs ran on the loop."""
        self._deliver(self._committed(outcomes))

    def _committed(self, outcomes: list[Outcome]) -> list[Outcome]:
        try:
            self._db.commit_group()
        except BaseException as exc:  # nothing of the group is saved: whatever each job returned
            return [(job, False, exc) for job, _, _ in outcomes]
        return outcomes

    def _run_group(self, group: list[_Job]) -> None:
        """On a lane: a whole group, from its BEGIN to its COMMIT."""
        try:
            self._db.begin_group(durable=any(job.durable for job in group), wait=True)
        except BaseException as exc:
            self._deliver([(job, False, exc) for job in group])
            return
        self._deliver(self._committed([(job, *_run(job.fn)) for job in group]))

    def _run_alone(self, job: _Job) -> None:
        self._deliver([(job, *_run(job.fn))])

    def _deliver(self, outcomes: list[Outcome]) -> None:
        """From a lane: the unit is done; its outcomes go back to the loop in one wake-up."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._done, outcomes)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    def _done(self, outcomes: list[Outcome]) -> None:
        """On the loop: a lane is free again; settle the unit's jobs and hand out what waits."""
        self._free += 1
        for job, ok, value in outcomes:
            if not job.future.done():
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)
        self._checkpoint_if_due()
        if self._writes or self._alone:
            self._drain()

    def _checkpoint_if_due(self) -> None:
        if self._chores is None or self._checkpoint is None or self._closed:
            return
        now = time.monotonic()
        if now - self._last_checkpoint >= self._checkpoint_every and (self._chore is None or self._chore.done()):
            self._last_checkpoint = now
            self._chore = self._chores.submit(self._checkpoint)


def _expire(job: _Job) -> None:
    """A job's budget ran out: if it has not started, it never will (``StoreBusy``)."""
    if job.state == _QUEUED:
        job.state = _WITHDRAWN
        if not job.future.done():
            job.future.set_exception(StoreBusy("the database is busy"))


def _run(fn: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, fn()
    except BaseException as exc:
        return False, exc
