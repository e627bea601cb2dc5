"""DbRunner with inline writes: the work on the loop, the commit on a thread.

What a caller relies on: a grouped job's result is handed back only after
its group committed (a reply never reports a write that is not durable);
jobs that arrive together share one commit; the loop is never the one that
waits for another writer (the group goes to the DB thread instead); a job
that could not start within its budget never runs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from gateway.services.runner import DbRunner
from gateway.store import Store, StoreBusy, open_store


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(tmp_path / "runner.db", busy_timeout_ms=3000)
    store.conn.execute("CREATE TABLE t (v INTEGER NOT NULL UNIQUE, thread INTEGER)")
    yield store
    store.close()


def _commits(store: Store) -> list[tuple[str, int]]:
    """Records (statement, thread) for every COMMIT on the store's connection."""
    seen: list[tuple[str, int]] = []

    def trace(statement: str) -> None:
        if statement.strip().upper().startswith("COMMIT"):
            seen.append((statement, threading.get_ident()))

    store.conn.set_trace_callback(trace)
    return seen


def insert(store: Store, value: int) -> int:
    with store.write() as conn:
        conn.execute("INSERT INTO t (v, thread) VALUES (?, ?)", (value, threading.get_ident()))
    return value


def committed(path: str) -> list[int]:
    """What another connection (another process, after a crash) sees."""
    conn = sqlite3.connect(path)
    try:
        return [v for (v,) in conn.execute("SELECT v FROM t ORDER BY v")]
    finally:
        conn.close()


async def test_jobs_that_arrive_together_run_on_the_loop_and_share_one_commit_on_another_thread(store):
    commits = _commits(store)
    runner = DbRunner(store, inline_writes=True)
    try:
        loop_thread = threading.get_ident()
        results = await asyncio.gather(*(runner.grouped(insert, store, v) for v in range(10)))
        assert results == list(range(10))
        assert committed(store.path) == list(range(10))  # durable when handed back
        threads = {t for (t,) in store.conn.execute("SELECT DISTINCT thread FROM t")}
        assert threads == {loop_thread}  # the work ran inline
        assert len(commits) == 1 and commits[0][1] != loop_thread  # one fsync, off the loop
    finally:
        runner.close()


async def test_a_failing_job_is_rolled_back_alone(store):
    runner = DbRunner(store, inline_writes=True)
    try:
        outcomes = await asyncio.gather(runner.grouped(insert, store, 1), runner.grouped(insert, store, 1),
                                        runner.grouped(insert, store, 2), return_exceptions=True)
        assert outcomes[0] == 1 and outcomes[2] == 2
        assert isinstance(outcomes[1], sqlite3.IntegrityError)
        assert committed(store.path) == [1, 2]
    finally:
        runner.close()


async def test_a_job_waits_for_another_writer_on_the_db_thread_not_on_the_loop(store):
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    runner = DbRunner(store, inline_writes=True)
    try:
        job = asyncio.ensure_future(runner.grouped(insert, store, 7, budget=3.0))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the job waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not job.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(job, 5) == 7
        (thread,) = store.conn.execute("SELECT thread FROM t WHERE v = 7").fetchone()
        assert thread != threading.get_ident()
        assert committed(store.path) == [7]
    finally:
        other.close()
        runner.close()


async def test_a_job_that_cannot_start_within_its_budget_never_runs(store):
    store.conn.execute(f"PRAGMA busy_timeout = {3000}")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    runner = DbRunner(store, inline_writes=True)
    try:
        blocker = asyncio.ensure_future(runner.grouped(insert, store, 1, budget=5.0))  # waits on the lock
        await asyncio.sleep(0.05)
        with pytest.raises(StoreBusy):  # queued behind it, gives up after its budget
            await runner.grouped(insert, store, 2, budget=0.1)
        other.execute("COMMIT")
        assert await asyncio.wait_for(blocker, 5) == 1
        await asyncio.sleep(0.1)
        assert committed(store.path) == [1]  # 2 was withdrawn: it never ran
    finally:
        other.close()
        runner.close()


async def test_non_durable_groups_commit_inline(store):
    commits = _commits(store)
    runner = DbRunner(store, inline_writes=True)
    try:
        await asyncio.gather(*(runner.grouped(insert, store, v, durable=False) for v in range(3)))
        assert committed(store.path) == [0, 1, 2]
        assert [t for _, t in commits] == [threading.get_ident()]
    finally:
        runner.close()


async def test_the_connection_is_not_used_on_the_loop_while_it_commits(store):
    disk = threading.Event()  # a slow fsync: the first COMMIT waits for it

    def slow_commit(statement: str) -> None:
        if statement.strip().upper().startswith("COMMIT") and threading.get_ident() != loop_thread:
            disk.wait(5)

    loop_thread = threading.get_ident()
    store.conn.set_trace_callback(slow_commit)
    runner = DbRunner(store, inline_writes=True)
    try:
        first = asyncio.ensure_future(runner.grouped(insert, store, 1))
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert store.handed_off and not first.done()  # reported only once committed
        assert committed(store.path) == []
        with pytest.raises(RuntimeError):
            insert(store, 99)
        # Jobs that arrive meanwhile form the next group, after that commit.
        second = asyncio.ensure_future(runner.grouped(insert, store, 2))
        await asyncio.sleep(0.05)
        assert not second.done()
        disk.set()
        assert await asyncio.gather(first, second) == [1, 2]
        assert committed(store.path) == [1, 2]
    finally:
        runner.close()


async def test_close_runs_what_is_still_waiting(store):
    runner = DbRunner(store, inline_writes=True)
    future = runner.grouped_nowait(insert, store, 5)
    runner.close()  # before the loop ran the group: the DB thread runs it
    assert committed(store.path) == [5]
    await asyncio.sleep(0.05)
    assert future.done()
