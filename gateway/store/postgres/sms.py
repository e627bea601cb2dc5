"""``Outbox`` and ``Inbox`` on PostgreSQL: ``gateway.store.sms`` in the PostgreSQL flavour.

The rules and the SQL are those of ``gateway.store.sms``; here claimed rows are
taken ``FOR UPDATE SKIP LOCKED`` (``PgFlavour._claiming``), so claimants on
other processes or hosts each get rows of their own.
"""

from __future__ import annotations

from gateway.store.postgres.portable import PgFlavour
from gateway.store.sms import InboxSql, OutboxSql


class PgOutbox(PgFlavour, OutboxSql):
    __slots__ = ()


class PgInbox(PgFlavour, InboxSql):
    __slots__ = ()
