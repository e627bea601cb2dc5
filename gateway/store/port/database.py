"""The unit of work, where it comes from, and the write batcher's group commit; the store's errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from gateway.store.port.accounts import (
    Accounts,
    Activity,
    Consent,
    Locks,
    LostReports,
    Postpaid,
    RateLimits,
    TopUps,
    Usage,
    Vouchers,
)
from gateway.store.port.care import Care
from gateway.store.port.console import (
    Audit,
    Reports,
)
from gateway.store.port.sessions import (
    Journal,
    Sessions,
)
from gateway.store.port.sms import (
    Inbox,
    Outbox,
)

__all__ = [
    "DATABASE_ERRORS", "Database", "GroupCommit", "StoreBusy", "StoreError", "UnitOfWork"
]


class StoreError(Exception):
    """The database cannot be opened or used (corrupt, read-only, busy too long)."""


class StoreBusy(StoreError):
    """Another writer held the lock longer than ``busy_timeout``: nothing was done; try again."""


#: Every error the database in use may raise past the port: the store's own, and the embedded
#: driver's (a file damaged under a running gateway fails in the middle of a statement). The
#: server adapter turns its driver's failures into ``StoreError`` itself.
DATABASE_ERRORS: tuple[type[Exception], ...] = (StoreError, sqlite3.DatabaseError)


class UnitOfWork(Protocol):
    accounts: Accounts
    postpaid: Postpaid
    vouchers: Vouchers
    topups: TopUps
    locks: Locks
    rate_limits: RateLimits
    lost: LostReports
    consent: Consent
    sessions: Sessions
    outbox: Outbox
    inbox: Inbox
    usage: Usage
    activity: Activity
    care: Care
    journal: Journal
    reports: Reports
    audit: Audit


class Database(Protocol):
    """Where units of work come from (``gateway.store.db.Store`` for SQLite)."""

    def write_uow(self, *, durable: bool = True, single_statement: bool = False) -> AbstractContextManager[UnitOfWork]:
        """One all-or-nothing operation (a savepoint inside a group).

        ``durable=False``: its commit need not survive a power cut (an outbox
        claim: ``recover`` re-queues what a lost one had taken).
        ``single_statement``: the operation writes with one statement and
        raises nothing after it, so a database whose failed statement leaves
        its transaction usable (SQLite) needs no savepoint for it in a group.
        """
        ...

    def read_uow(self) -> UnitOfWork:
        """Reads, each statement consistent on its own."""
        ...

    def snapshot_uow(self) -> AbstractContextManager[UnitOfWork]:
        """Several reads that see one consistent state."""
        ...


class GroupCommit(Protocol):
    """What the write batcher (``gateway.services.batcher``) needs of the database it writes to.

    A group is one transaction around several jobs: between ``begin_group``
    and ``commit_group`` every ``write_uow`` is a savepoint (on SQLite a
    ``single_statement`` one needs none: SQLite undoes a failed statement by
    itself), so each job stays all or nothing and the group commits once.
    The same thread begins the group and runs its jobs; on an ``inline``
    database the commit may run on another thread (the one that waits for
    the disk), and nothing else uses the connection meanwhile.
    """

    @property
    def inline(self) -> bool:
        """Whether jobs may run on the event loop's thread (an embedded file: only a commit waits for the disk)."""
        ...

    @property
    def lanes(self) -> int:
        """How many transactions this process may run at once (SQLite: its one write connection)."""
        ...

    def begin_group(self, *, durable: bool = True, wait: bool = True) -> None:
        """Open a group's transaction (``durable=False``: it commits without waiting for the disk).

        Raises:
            StoreBusy: another writer holds the lock (at once with ``wait=False``, else after
                the busy timeout); nothing was begun.
            StoreError: the database cannot be written.
        """
        ...

    def commit_group(self) -> None:
        """Commit the group; on failure nothing of it is saved.

        Raises:
            StoreError: the commit failed (rolled back).
        """
        ...

    def rollback_group(self) -> None: ...

    def checkpointer(self) -> Callable[[], None] | None:
        """The write path's own checkpoints: commits stop doing them, and the function returned
        copies committed pages back without waiting for any writer; None when the server does it."""
        ...
