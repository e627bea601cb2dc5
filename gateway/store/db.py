"""The database connection and its transactions.

- WAL mode, foreign keys on, a busy timeout: readers never block the writer
  and a second process (a CLI command next to ``serve``) waits its turn.
- ``Store.write()`` is one ``BEGIN IMMEDIATE`` transaction: the write lock is
  taken up front, so two top-ups of the same voucher from two processes are
  serialised and the second sees the voucher used. Anything raised inside
  rolls everything back.
- ``Store.read()`` runs plain reads in autocommit mode (one consistent
  snapshot per statement; use ``snapshot()`` for several).
- Times are stored as ISO-8601 text in UTC with microseconds and ``+00:00``,
  a fixed width that sorts as it reads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import sqlite_utils


class StoreError(Exception):
    """The database cannot be opened or used (corrupt, read-only, busy too long)."""


class StoreBusy(StoreError):
    """Another writer held the lock longer than ``busy_timeout``: nothing was done; try again."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def date_from_iso(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


class Store:
    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.db = sqlite_utils.Database(conn)
        # One connection may be shared by a worker thread and the loop thread
        # (``check_same_thread=False``); transactions must not interleave.
        self._lock = threading.RLock()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One all-or-nothing business operation under the write lock."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    raise StoreBusy(f"database busy: {exc}") from exc
                raise StoreError(f"database unwritable: {exc}") from exc
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    self.conn.execute("ROLLBACK")
                    if _is_busy(exc):
                        raise StoreBusy(f"commit failed, database busy: {exc}") from exc
                    raise StoreError(f"commit failed: {exc}") from exc

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Several reads that must see one consistent state."""
        with self._lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        return self.conn

    def close(self) -> None:
        self.conn.close()


def open_store(
    path: str | Path, *, busy_timeout_ms: int = 5000, synchronous: str = "full", migrate: bool = False
) -> Store:
    """Open (creating the folder and file if needed) and optionally migrate.

    Raises:
        StoreError: the file cannot be opened, is not a database, or is corrupt.
    """
    path = Path(path)
    if path.is_dir():
        # sqlite3 would only say "unable to open database file".
        raise StoreError(f"{path}: is a directory, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
        if mode.lower() != "wal" and str(path) != ":memory:":
            raise StoreError(f"{path}: cannot switch to WAL mode (read-only?)")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: {exc}") from None
    except OSError as exc:
        raise StoreError(f"{path}: {exc.strerror or exc}") from None
    store = Store(conn, str(path))
    if migrate:
        from gateway.store.migrations import migrate as run_migrations

        run_migrations(store)
    return store
