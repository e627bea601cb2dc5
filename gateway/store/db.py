"""The database connection and its transactions.

- WAL mode, foreign keys on, a busy timeout: readers never block the writer
  and a second process (a CLI command next to ``serve``) waits its turn.
- ``Store.write()`` is one ``BEGIN IMMEDIATE`` transaction: the write lock is
  taken up front, so two top-ups of the same voucher from two processes are
  serialised and the second sees the voucher used. Anything raised inside
  rolls everything back.
- A group (``begin_group`` … ``commit_group``, the write batcher's) is one
  transaction around several operations: inside it ``write()`` is a
  savepoint (each operation still all or nothing) and the group commits
  once, so several operations share one fsync. With ``durable=False`` it
  commits without the fsync (``synchronous = OFF`` for that commit).
- ``Store.read()`` runs plain reads in autocommit mode (one consistent
  snapshot per statement; use ``snapshot()`` for several).
- ``write_uow()``, ``read_uow()`` and ``snapshot_uow()`` are the same with the
  store port's unit of work (``gateway.store.port``) instead of the raw
  connection: what the services use.
- Times are stored as text (``gateway.store.times``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from gateway.store.port import StoreBusy as StoreBusy
from gateway.store.port import StoreError as StoreError
from gateway.store.sqlite_uow import SqliteUnitOfWork

T = TypeVar("T")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    #: Jobs may run on the event loop's thread; one write connection, one transaction at a time
    #: (``gateway.store.port.GroupCommit``).
    inline = True
    lanes = 1

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.db = sqlite_utils.Database(conn)
        # One connection may be used by a worker thread and the loop thread
        # (``check_same_thread=False``); transactions must not interleave.
        self._lock = threading.RLock()
        self._synchronous = "FULL"
        #: Inside a group (``begin_group``): ``write()`` is a savepoint of its transaction.
        self._grouping = False
        #: The group commits without the fsync (``synchronous`` is put back after it).
        self._relaxed = False
        self.busy_timeout_ms = 5000
        self._checkpoints: sqlite3.Connection | None = None
        #: The store port on this connection (``gateway.store.port``), made once.
        self.uow = SqliteUnitOfWork(conn)

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One all-or-nothing business operation under the write lock (the raw connection)."""
        return self._transaction(self.conn)

    def write_uow(self, *, durable: bool = True,
                  single_statement: bool = False) -> AbstractContextManager[SqliteUnitOfWork]:
        """``write()`` for the services: the port's unit of work on this connection.

        ``durable=False`` outside a group: its commit does not wait for the fsync.
        ``single_statement``: inside a group, no savepoint (SQLite undoes a failed
        statement by itself, and the group's transaction goes on).
        """
        if single_statement and self._grouping:
            self._check_group()
            return nullcontext(self.uow)
        return self._transaction(self.uow, durable=durable)

    def read_uow(self) -> SqliteUnitOfWork:
        return self.uow

    def snapshot_uow(self) -> AbstractContextManager[SqliteUnitOfWork]:
        return self._snapshot(self.uow)

    @contextmanager
    def _transaction(self, value: T, *, durable: bool = True) -> Iterator[T]:
        if self._grouping:  # the group's thread, inside its transaction
            with self._savepoint():
                yield value
            return
        with self._lock:
            relaxed = not durable and self._relax()
            try:
                self._begin()
                try:
                    yield value
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self._commit()
            finally:
                if relaxed:
                    self._unrelax()

    def _relax(self) -> bool:
        if self._synchronous == "OFF":
            return False
        self.conn.execute("PRAGMA synchronous = OFF")
        return True

    def _unrelax(self) -> None:
        self.conn.execute(f"PRAGMA synchronous = {self._synchronous}")

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``: take the write lock now, or say why not.

        Raises:
            StoreBusy: another writer held the lock past the busy timeout.
            StoreError: the database cannot be written at all.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusy(f"database busy: {exc}") from exc
            raise StoreError(f"database unwritable: {exc}") from exc

    def _commit(self) -> None:
        """``COMMIT``, or roll back and say why (nothing of the transaction is saved)."""
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:  # (a deferred constraint fails here too, and leaves it open)
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                raise StoreBusy(f"commit failed, database busy: {exc}") from exc
            raise StoreError(f"commit failed: {exc}") from exc

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self._check_group()
        self.conn.execute("SAVEPOINT op")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # (else SQLite rolled the whole group back itself)
                self.conn.execute("ROLLBACK TO op")
                self.conn.execute("RELEASE op")
            raise
        else:
            self.conn.execute("RELEASE op")

    def _check_group(self) -> None:
        """The group's transaction is still open. On some errors (disk full, I/O, memory) SQLite
        rolls the whole transaction back by itself; a later job's SAVEPOINT or statement would
        then run, and commit, on its own while its caller is told the group failed.

        Raises:
            StoreError: the group is gone; no later job of it may run.
        """
        if not self.conn.in_transaction:
            raise StoreError("the group's transaction was rolled back by SQLite")

    # --- groups (``gateway.store.port.GroupCommit``) ---------------------------------------
    # The batcher is the connection's only user while a group is open: it may
    # run the jobs on the loop's thread and the COMMIT on another.

    def begin_group(self, *, durable: bool = True, wait: bool = True) -> None:
        """``BEGIN IMMEDIATE`` for several jobs; ``wait=False``: busy at once if another process writes.

        Raises:
            StoreBusy, StoreError: the write lock could not be taken (nothing begun).
        """
        if self._grouping:
            raise RuntimeError("groups do not nest")
        self._relaxed = not durable and self._relax()
        try:
            if wait:
                self._begin()
            else:
                self.conn.execute("PRAGMA busy_timeout = 0")
                try:
                    self._begin()
                finally:
                    self.conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        except BaseException:
            self._end_group()
            raise
        self._grouping = True

    def commit_group(self) -> None:
        try:
            self._check_group()
            self._commit()
        finally:
            self._end_group()

    def rollback_group(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        finally:
            self._end_group()

    def _end_group(self) -> None:
        self._grouping = False
        if self._relaxed:
            self._relaxed = False
            self._unrelax()

    def checkpointer(self) -> Callable[[], None] | None:
        """Commits stop checkpointing; the function returned runs a ``PASSIVE`` checkpoint on a
        connection of its own (it takes no write lock, so groups go on while it copies pages)."""
        if self.path in ("", ":memory:"):
            return None
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        return self._checkpoint

    def _checkpoint(self) -> None:
        try:
            if self._checkpoints is None:
                self._checkpoints = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._checkpoints.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpoints.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:  # retried at the next one; SQLite stays consistent
            pass

    def snapshot(self) -> AbstractContextManager[sqlite3.Connection]:
        """Several reads that must see one consistent state."""
        return self._snapshot(self.conn)

    @contextmanager
    def _snapshot(self, value: T) -> Iterator[T]:
        if self._grouping:  # the group's transaction is one consistent state
            yield value
            return
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                yield value
            finally:
                self.conn.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        return self.conn

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.close()
        self.conn.close()


def readable(path: str | Path, timeout_ms: int = 1000) -> str | None:
    """Why the database at ``path`` cannot be read right now, or ``None`` when it can.

    For readiness: a connection of its own (read-only, never creating the
    file) reads the schema page, so a file that was moved, replaced, locked
    for longer than ``timeout_ms`` or is not a database is noticed, even
    while the gateway's long-lived connections still hold the old one open.
    """
    try:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=timeout_ms / 1000, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None


def open_store(
    path: str | Path, *, busy_timeout_ms: int = 5000, synchronous: str = "full", migrate: bool = False,
    read_only: bool = False, create: bool = True,
) -> Store:
    """Open (creating the folder and file if needed) and optionally migrate.

    ``read_only``: a connection that refuses writes (``PRAGMA query_only``),
    for a reader thread next to the writer. ``create=False``: refuse a file
    that does not exist rather than start an empty gateway on a mistyped path.

    Raises:
        StoreError: the file cannot be opened, is not a database, or is corrupt.
    """
    path = Path(path)
    if path.is_dir():
        # sqlite3 would only say "unable to open database file".
        raise StoreError(f"{path}: is a directory, not a database file")
    if not create and str(path) != ":memory:" and not path.exists():
        raise StoreError(f"{path}: no database here; run 'ussd-gateway db migrate' first "
                         "(or check database.path)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA foreign_keys = ON")
        # Deleted or overwritten content is zeroed, not left in free space (purged MO texts).
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
        if read_only:
            conn.execute("PRAGMA query_only = ON")
        if mode.lower() != "wal" and str(path) != ":memory:":
            raise StoreError(f"{path}: cannot switch to WAL mode (read-only?)")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: {exc}") from None
    except OSError as exc:
        raise StoreError(f"{path}: {exc.strerror or exc}") from None
    store = Store(conn, str(path))
    store._synchronous = "FULL" if synchronous == "full" else "NORMAL"
    store.busy_timeout_ms = int(busy_timeout_ms)
    if migrate:
        from gateway.store.migrations import migrate as run_migrations

        run_migrations(store)
    return store
