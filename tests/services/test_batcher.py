"""The write batcher on both backends: group commit, savepoints, bounded waits, durability, close.

What a caller relies on: a write's result is handed back only after its
group committed (a reply never reports a write that is not durable); writes
that arrive together share one transaction and one commit, each still all
or nothing; a failed commit fails every job of its group; a job that could
not start within its budget never runs, one that started is awaited; the
event loop never waits for another writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from gateway.services.batcher import Batcher
from gateway.store import StoreBusy
from tests.support.backends import BACKENDS, Backend, open_backend, reopen


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path):
    backend = open_backend(request, tmp_path)
    _sql(backend, "CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    _sql(backend, "CREATE TABLE t (v INTEGER NOT NULL UNIQUE, thread BIGINT, xact BIGINT, "
                  "parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
    yield backend
    backend.store.close()


def _sql(db: Backend, statement: str) -> None:
    if db.name == "sqlite":
        db.store.conn.execute(statement)
    else:
        with db.store.pool.connection() as conn:
            conn.execute(statement)


def insert(db: Backend, value: int, parent: int | None = None, gate: threading.Event | None = None) -> int:
    """One business operation: a row of ``t`` (``parent``: one that may not exist, found at COMMIT)."""
    if db.name == "sqlite":
        with db.store.write() as conn:
            conn.execute("INSERT INTO t (v, thread, parent) VALUES (?, ?, ?)", (value, threading.get_ident(), parent))
        return value
    with db.store.write_uow() as uow:
        if gate is not None:
            gate.wait(5)
        # With the transaction's id: one id, one transaction, one commit.
        uow.sql.execute("INSERT INTO t (v, thread, xact, parent) VALUES (%s, %s, txid_current(), %s)",
                        (value, threading.get_ident(), parent))
    return value


def insert_one(db: Backend, value: int) -> int:
    """A business operation of one statement (``write_uow(single_statement=True)``: no savepoint needed)."""
    with db.store.write_uow(single_statement=True) as uow:
        if db.name == "sqlite":
            db.store.conn.execute("INSERT INTO t (v, thread) VALUES (?, ?)", (value, threading.get_ident()))
        else:
            uow.sql.execute("INSERT INTO t (v, thread, xact) VALUES (%s, %s, txid_current())",
                            (value, threading.get_ident()))
    return value


def synchronous(db: Backend) -> str:
    """The durability the job's transaction commits with: SQLite's ``synchronous``, PG's ``synchronous_commit``."""
    if db.name == "sqlite":
        with db.store.write() as conn:
            return {0: "off", 1: "normal", 2: "full"}[conn.execute("PRAGMA synchronous").fetchone()[0]]
    with db.store.write_uow() as uow:
        return str(uow.sql.scalar("SELECT current_setting('synchronous_commit')"))


def committed(db: Backend, column: str = "v") -> list[Any]:
    """What another connection (another process, or the same after a crash) sees."""
    if db.name == "sqlite":
        conn = sqlite3.connect(db.where)
        try:
            return [v for (v,) in conn.execute(f"SELECT {column} FROM t ORDER BY v")]
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(db.where) as conn:
        return [v for (v,) in conn.execute(f"SELECT {column} FROM t ORDER BY v")]


def count_commits(db: Backend) -> list[int]:
    """SQLite: the threads that sent a COMMIT on the writer's connection (PG: see ``transactions``)."""
    seen: list[int] = []
    if db.name == "sqlite":
        db.store.conn.set_trace_callback(
            lambda s: seen.append(threading.get_ident()) if s.strip().upper().startswith("COMMIT") else None)
    return seen


def transactions(db: Backend, seen: list[int]) -> int:
    return len(seen) if db.name == "sqlite" else len(set(committed(db, "xact")))


async def occupy_lanes(batcher: Batcher, db: Backend, gate: threading.Event) -> list[asyncio.Future[Any]]:
    """Every lane busy with a job alone that waits for ``gate``."""
    jobs = [asyncio.ensure_future(batcher.call(gate.wait, 5)) for _ in range(db.store.lanes)]
    await asyncio.sleep(0.05)
    return jobs


class TestGroupCommit:
    async def test_writes_that_arrive_together_share_one_transaction_and_one_commit(self, db):
        """Ten writes at once: one commit, each result handed back once it is visible to others."""
        seen = count_commits(db)
        batcher = Batcher(db.store)
        try:
            results = await asyncio.gather(*(batcher.write(insert, db, v) for v in range(10)))
            assert results == list(range(10))
            assert committed(db) == list(range(10))
            assert transactions(db, seen) == 1
        finally:
            batcher.close()

    async def test_the_loop_never_runs_a_commit_and_on_a_server_no_job_either(self, db):
        """SQLite: the jobs run on the loop, the COMMIT on the lane; PostgreSQL: everything on a lane."""
        seen = count_commits(db)
        batcher = Batcher(db.store)
        loop_thread = threading.get_ident()
        try:
            await asyncio.gather(*(batcher.write(insert, db, v) for v in range(3)))
            threads = set(committed(db, "thread"))
            if db.name == "sqlite":
                assert threads == {loop_thread} and seen and loop_thread not in seen
            else:
                assert loop_thread not in threads
        finally:
            batcher.close()

    async def test_a_failing_job_is_rolled_back_alone(self, db):
        """Its savepoint is undone; the others of its group commit."""
        seen = count_commits(db)
        batcher = Batcher(db.store)
        try:
            outcomes = await asyncio.gather(batcher.write(insert, db, 1), batcher.write(insert, db, 1),
                                            batcher.write(insert, db, 2), return_exceptions=True)
            assert outcomes[0] == 1 and outcomes[2] == 2
            assert isinstance(outcomes[1], Exception) and "unique" in str(outcomes[1]).lower()
            assert committed(db) == [1, 2]
            assert transactions(db, seen) == 1
        finally:
            batcher.close()

    async def test_a_failing_one_statement_job_is_undone_alone_too(self, db):
        """Without a savepoint on SQLite: the failed statement is undone by itself, the group goes on."""
        seen = count_commits(db)
        batcher = Batcher(db.store)
        try:
            outcomes = await asyncio.gather(batcher.write(insert_one, db, 1), batcher.write(insert_one, db, 1),
                                            batcher.write(insert, db, 2), batcher.write(insert_one, db, 3),
                                            return_exceptions=True)
            assert outcomes[0] == 1 and outcomes[2:] == [2, 3]
            assert isinstance(outcomes[1], Exception) and "unique" in str(outcomes[1]).lower()
            assert committed(db) == [1, 2, 3]
            assert transactions(db, seen) == 1
        finally:
            batcher.close()

    async def test_when_the_commit_fails_every_job_of_the_group_gets_the_error(self, db):
        """A deferred constraint breaks at COMMIT: nothing of the group is saved, nobody is told otherwise,
        and the next group starts on a clean connection."""
        batcher = Batcher(db.store)
        try:
            outcomes = await asyncio.gather(batcher.write(insert, db, 1), batcher.write(insert, db, 2, 404),
                                            return_exceptions=True)
            assert all(isinstance(o, Exception) for o in outcomes), outcomes
            assert outcomes[0] is outcomes[1]
            assert committed(db) == []
            assert await batcher.write(insert, db, 3) == 3
            assert committed(db) == [3]
        finally:
            batcher.close()


    @pytest.mark.sqlite_only("SQLite's own rollback of a whole transaction (SQLITE_FULL, IOERR, NOMEM)")
    @pytest.mark.parametrize("later", [insert, insert_one])
    async def test_after_sqlite_rolled_back_the_group_no_later_job_commits_on_its_own(self, db, later):
        """SQLite may roll back the whole transaction itself on some errors (here a job does what it
        would do): a later job of the group must not start a transaction of its own and commit it
        while its caller is told the group failed."""
        def rolled_back_by_sqlite(db: Backend) -> None:
            with db.store.write():
                db.store.conn.execute("ROLLBACK")
                raise sqlite3.OperationalError("database or disk is full")

        batcher = Batcher(db.store)
        try:
            outcomes = await asyncio.gather(batcher.write(insert, db, 1), batcher.write(rolled_back_by_sqlite, db),
                                            batcher.write(later, db, 3), return_exceptions=True)
            assert all(isinstance(o, Exception) for o in outcomes), outcomes
            assert committed(db) == []
            assert await batcher.write(insert, db, 4) == 4
            assert committed(db) == [4]
        finally:
            batcher.close()

class TestBoundedWaits:
    async def test_a_write_not_started_within_its_budget_is_withdrawn_and_never_runs(self, db):
        """Every lane busy: the write raises StoreBusy after its budget, and never runs later."""
        gate = threading.Event()
        batcher = Batcher(db.store)
        try:
            blockers = await occupy_lanes(batcher, db, gate)
            with pytest.raises(StoreBusy):
                await batcher.write(insert, db, 2, budget=0.05)
            gate.set()
            await asyncio.gather(*blockers)
            assert await batcher.write(insert, db, 3) == 3  # the queue moved on past it
            assert committed(db) == [3]
        finally:
            gate.set()
            batcher.close()

    async def test_a_started_write_is_awaited_past_its_budget(self, db):
        """Once a job runs, its outcome is never thrown away: the result comes, committed."""
        gate = threading.Event()
        batcher = Batcher(db.store)
        loop_thread = threading.get_ident()
        if db.name == "sqlite":  # the job runs inline: hold its COMMIT on the lane instead
            db.store.conn.set_trace_callback(
                lambda s: gate.wait(5) if s.startswith("COMMIT") and threading.get_ident() != loop_thread else None)
            job = asyncio.ensure_future(batcher.write(insert, db, 7, budget=0.05))
        else:
            job = asyncio.ensure_future(batcher.write(insert, db, 7, None, gate, budget=0.05))
        try:
            await asyncio.sleep(0.2)
            assert not job.done()
            gate.set()
            assert await job == 7
            assert committed(db) == [7]
        finally:
            gate.set()
            batcher.close()

    @pytest.mark.sqlite_only("another process holding SQLite's single write lock")
    async def test_a_write_waits_for_another_process_on_the_lane_not_on_the_loop(self, db):
        """The loop keeps serving while the group waits for the lock; then it commits."""
        other = sqlite3.connect(db.where, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        batcher = Batcher(db.store)
        try:
            job = asyncio.ensure_future(batcher.write(insert, db, 7, budget=3.0))
            ticks = 0
            for _ in range(20):
                await asyncio.sleep(0.01)
                ticks += 1
            assert ticks == 20 and not job.done()
            other.execute("COMMIT")
            assert await asyncio.wait_for(job, 10) == 7
            assert committed(db, "thread") != [threading.get_ident()]
            assert committed(db) == [7]
        finally:
            other.close()
            batcher.close()


class TestDurability:
    async def test_a_group_of_only_non_durable_jobs_commits_without_waiting_for_the_disk(self, db):
        """SQLite ``synchronous = OFF`` / PostgreSQL ``synchronous_commit = off`` for that group only."""
        if db.name == "postgres":  # the test cluster runs with it off: make durable the default again
            name = db.where.rsplit("/", 1)[1]
            _sql(db, f"ALTER DATABASE {name} SET synchronous_commit = on")
            db.store.close()
            db.store = reopen(db)
        batcher = Batcher(db.store)
        try:
            relaxed = await asyncio.gather(*(batcher.write(synchronous, db, durable=False) for _ in range(3)))
            mixed = await asyncio.gather(batcher.write(synchronous, db, durable=False),
                                         batcher.write(synchronous, db))
            after = await batcher.write(synchronous, db)
            assert set(relaxed) == {"off"}
            durable = "on" if db.name == "postgres" else "normal"  # (the test store: ``synchronous = normal``)
            assert mixed == [durable, durable] and after == durable
        finally:
            batcher.close()


class TestLanes:
    @pytest.mark.sqlite_only("SQLite has one write connection, so one lane")
    async def test_sqlite_runs_one_unit_at_a_time(self, db):
        """A group waits while a job alone holds the one connection, then runs."""
        gate = threading.Event()
        batcher = Batcher(db.store)
        try:
            blockers = await occupy_lanes(batcher, db, gate)
            job = asyncio.ensure_future(batcher.write(insert, db, 1))
            await asyncio.sleep(0.05)
            assert not job.done() and committed(db) == []
            gate.set()
            assert await job == 1
            await asyncio.gather(*blockers)
        finally:
            gate.set()
            batcher.close()

    async def test_on_postgresql_groups_and_reads_overlap_on_several_lanes(self, db):
        """A lane held up by a slow job does not hold up the next write or read."""
        if db.name != "postgres":
            pytest.skip("SQLite has one lane (see test_sqlite_runs_one_unit_at_a_time)")
        assert db.store.lanes > 1
        gate = threading.Event()
        batcher = Batcher(db.store)
        try:
            slow = asyncio.ensure_future(batcher.write(insert, db, 1, None, gate))
            await asyncio.sleep(0.05)
            assert await asyncio.wait_for(batcher.write(insert, db, 2), 5) == 2
            assert await asyncio.wait_for(batcher.read(committed, db), 5) == [2]
            assert not slow.done()
            gate.set()
            assert await slow == 1
            assert committed(db) == [1, 2]
        finally:
            gate.set()
            batcher.close()


class TestClose:
    async def test_close_runs_what_is_still_queued(self, db):
        """Writes still queued run before close returns; their futures settle on the loop."""
        batcher = Batcher(db.store)
        first = batcher.write_nowait(insert, db, 5)
        second = batcher.write_nowait(insert, db, 6, durable=False)
        batcher.close()  # before the loop handed them out
        assert committed(db) == [5, 6]
        assert await asyncio.wait_for(asyncio.gather(first, second), 5) == [5, 6]
        with pytest.raises(RuntimeError):
            batcher.write_nowait(insert, db, 7)
