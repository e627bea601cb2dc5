"""The PostgreSQL adapter of the store port (``gateway.store.port``).

``PgDatabase`` hands out units of work over a psycopg pool: ``write_uow`` is
one transaction on a pooled connection (a savepoint when the thread already
runs one, so grouped jobs keep each their all-or-nothing), ``snapshot_uow``
one REPEATABLE READ transaction, ``read_uow`` statements that each borrow a
connection and commit at once. The repositories are in the modules beside
this one: most are the portable ones in the PostgreSQL flavour (``portable``),
the rest (``accounts``, ``topups``, ``usage``, ``postpaid``) PostgreSQL SQL
over ``sql.Sql``.

Concurrency comes from the database, never from a process lock. A write
transaction reads the subscriber and the voucher it changes ``FOR UPDATE``,
so a concurrent writer waits and then sees the committed state (as SQLite's
single writer would have it), and the voucher is taken by a conditional
UPDATE; a failure count and a resent request are serialised per key by
transaction-scoped advisory locks; outbox and inbox claims take rows
``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import psycopg
from psycopg_pool import ConnectionPool

from gateway.store import port
from gateway.store.postgres.accounts import PgAccounts
from gateway.store.postgres.connection import Connection
from gateway.store.postgres.sql import Sql, _errors
from gateway.store.postgres.topups import PgLocks, PgRateLimits, PgTopUps, PgVouchers


class PgUnitOfWork:
    """Every repository of the port over one ``Sql`` (a transaction's connection, or the pool)."""

    __slots__ = ("sql", "accounts", "postpaid", "vouchers", "topups", "locks", "rate_limits", "lost", "consent",
                 "sessions", "outbox", "inbox", "usage", "activity", "care", "journal", "reports", "audit")

    def __init__(self, sql: Sql) -> None:
        from gateway.store.postgres.care import PgCare
        from gateway.store.postgres.console import PgAudit, PgReports
        from gateway.store.postgres.journal import PgJournal
        from gateway.store.postgres.line_events import PgConsent, PgLostReports
        from gateway.store.postgres.postpaid import PgPostpaid
        from gateway.store.postgres.sessions import PgSessions
        from gateway.store.postgres.sms import PgInbox, PgOutbox
        from gateway.store.postgres.usage import PgActivity, PgUsage

        self.sql = sql
        self.accounts: port.Accounts = PgAccounts(sql)
        self.postpaid: port.Postpaid = PgPostpaid(sql)
        self.vouchers: port.Vouchers = PgVouchers(sql)
        self.topups: port.TopUps = PgTopUps(sql)
        self.locks: port.Locks = PgLocks(sql)
        self.rate_limits: port.RateLimits = PgRateLimits(sql)
        self.lost: port.LostReports = PgLostReports(sql)
        self.consent: port.Consent = PgConsent(sql)
        self.sessions: port.Sessions = PgSessions(sql)
        self.outbox: port.Outbox = PgOutbox(sql)
        self.inbox: port.Inbox = PgInbox(sql)
        self.usage: port.Usage = PgUsage(sql)
        self.activity: port.Activity = PgActivity(sql)
        self.care: port.Care = PgCare(sql)
        self.journal: port.Journal = PgJournal(sql)
        self.reports: port.Reports = PgReports(sql)
        self.audit: port.Audit = PgAudit(sql)


@dataclass
class _Running:
    conn: Connection
    uow: PgUnitOfWork
    #: What ends the transaction and gives the connection back to the pool.
    exit: ExitStack


#: Transactions one process runs at once by default (the batcher's lanes); the pool has room
#: for them and for the reads that borrow a connection per statement beside them.
LANES = 4


class PgDatabase:
    """The store port on a PostgreSQL pool (``open_pool``); one per process, shared by its threads.

    A thread's transaction is its own: a ``write_uow`` opened while the same
    thread runs one is a savepoint inside it (``begin_group`` opens one for
    several jobs that then commit together). Jobs never run on the event
    loop (``inline``: every statement is a network round trip); ``lanes``
    threads of the batcher run groups at once, on connections of their own.
    """

    inline = False

    def __init__(self, pool: ConnectionPool, *, lanes: int = LANES) -> None:
        self.pool = pool
        self.lanes = max(1, min(lanes, pool.max_size))
        self._local = threading.local()
        self._reads = PgUnitOfWork(Sql(None, pool))

    def _running(self) -> _Running | None:
        running: _Running | None = getattr(self._local, "running", None)
        return running

    @contextmanager
    def write_uow(self, *, durable: bool = True, single_statement: bool = False) -> Iterator[PgUnitOfWork]:
        """(``single_statement`` changes nothing here: a failed statement aborts PostgreSQL's
        whole transaction, so inside a group each operation keeps its savepoint.)"""
        running = self._running()
        if running is not None:
            with _errors(self.pool), running.conn.transaction():  # a savepoint
                yield running.uow
            return
        with self._transaction(durable=durable) as uow:
            yield uow

    def begin_group(self, *, durable: bool = True, wait: bool = True) -> None:
        """One transaction for several jobs on this thread (``wait`` is SQLite's: a server always queues).

        Raises:
            StoreBusy: no pooled connection came free in time.
            StoreError: the server is unusable.
        """
        if self._running() is not None:
            raise RuntimeError("groups do not nest")
        stack = ExitStack()
        try:
            with _errors(self.pool):
                conn = stack.enter_context(self.pool.connection())
                stack.enter_context(conn.transaction())
                if not durable:
                    conn.execute("SET LOCAL synchronous_commit = off")
        except BaseException:
            stack.close()
            raise
        self._local.running = _Running(conn, PgUnitOfWork(Sql(conn, self.pool, lock=True)), stack)

    def commit_group(self) -> None:
        running = self._end_group()
        with _errors(self.pool):
            running.exit.close()  # COMMIT (a failed one rolls back), the connection back to the pool

    def rollback_group(self) -> None:
        running = self._end_group()
        running.exit.__exit__(psycopg.Rollback, psycopg.Rollback(), None)

    def _end_group(self) -> _Running:
        running = self._running()
        if running is None:
            raise RuntimeError("no group is open on this thread")
        self._local.running = None
        return running

    def checkpointer(self) -> None:
        """The server checkpoints on its own."""
        return None

    @contextmanager
    def _transaction(self, *, durable: bool, snapshot: bool = False) -> Iterator[PgUnitOfWork]:
        with _errors(self.pool), self.pool.connection() as conn, conn.transaction():
            if snapshot:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            elif not durable:
                conn.execute("SET LOCAL synchronous_commit = off")
            running = _Running(conn, PgUnitOfWork(Sql(conn, self.pool, lock=not snapshot)), ExitStack())
            self._local.running = running
            try:
                yield running.uow
            finally:
                self._local.running = None

    def read_uow(self) -> PgUnitOfWork:
        running = self._running()
        return self._reads if running is None else running.uow

    @contextmanager
    def snapshot_uow(self) -> Iterator[PgUnitOfWork]:
        running = self._running()
        if running is not None:  # the running transaction is one consistent state
            yield running.uow
            return
        with self._transaction(durable=True, snapshot=True) as uow:
            yield uow

    def close(self) -> None:
        self.pool.close()


def open_database(url: str, *, max_size: int = 8, timeout: float = 5.0, migrate: bool = False,
                  lanes: int = LANES) -> PgDatabase:
    """The store port on the PostgreSQL database at ``url`` (``migrate``: bring its schema up to date first).

    Raises:
        StoreError: the server cannot be reached, refuses us, or a migration failed.
    """
    from gateway.store.postgres.connection import open_pool
    from gateway.store.postgres.migrations import migrate as run_migrations

    pool = open_pool(url, max_size=max_size, timeout=timeout)
    if migrate:
        try:
            run_migrations(pool)
        except BaseException:
            pool.close()
            raise
    return PgDatabase(pool, lanes=lanes)
