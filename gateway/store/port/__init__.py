"""The store port: what the services need from a database, as Protocols.

A unit of work (``UnitOfWork``) exposes one repository per kind of data;
``Database`` opens it for writing (one transaction, all or nothing: commit
on success, rollback on an exception, a savepoint inside a group of jobs) or
for reading. Repository methods are named for what the services do, take
and return domain and value types, and never expose SQL or driver rows.

The SQLite adapter is ``gateway.store.sqlite_uow``, the PostgreSQL one
``gateway.store.postgres.uow``. The Protocols and their value types live in one
module per concern (``accounts``, ``sms``, ``sessions``, ``care``, ``console``,
``database``); import them from here.
"""

from gateway.store.port.accounts import (
    LOCK_KINDS,
    Accounts,
    Activity,
    Consent,
    DuplicateBill,
    DuplicateNumber,
    DuplicatePayment,
    DuplicateUsage,
    LineSummary,
    Locks,
    LostReports,
    Postpaid,
    RatedUsage,
    RateLimits,
    StoredTopUp,
    SubscriberRecord,
    TopUps,
    Usage,
    UsageLine,
    Vouchers,
)
from gateway.store.port.care import Care, ComplaintRow, DisputeRow, NumberChangeRow, StatementRow
from gateway.store.port.console import (
    Audit,
    CampaignRow,
    ConsoleAction,
    LedgerRow,
    LostReportRow,
    OutboxMessage,
    OutboxPart,
    Reports,
    VoucherStock,
)
from gateway.store.port.database import DATABASE_ERRORS, Database, GroupCommit, StoreBusy, StoreError, UnitOfWork
from gateway.store.port.sessions import (
    JOURNAL_SOURCES,
    DialogueRecord,
    Journal,
    JournalCount,
    ReportCount,
    SessionReport,
    SessionRow,
    Sessions,
    SessionState,
)
from gateway.store.port.sms import (
    DEFAULT_LEASE,
    FINAL_STATES,
    INBOX_LEASE,
    LIVE_OUTBOX_STATES,
    OUTBOX_KINDS,
    OUTBOX_STATES,
    DeliveryReport,
    Event,
    InboundSms,
    Inbox,
    InboxMessage,
    Outbox,
    OutboxFigures,
    OutboxRow,
    OutgoingSms,
    Purged,
    SendFailed,
    Submitted,
    Unacknowledged,
    claimant,
    place_of,
)

__all__ = [
    "DATABASE_ERRORS", "Accounts", "Activity", "Audit", "CampaignRow", "Care", "ComplaintRow", "Consent",
    "ConsoleAction", "DEFAULT_LEASE", "Database", "DeliveryReport", "DialogueRecord", "DisputeRow", "DuplicateBill",
    "DuplicateNumber", "DuplicatePayment", "DuplicateUsage", "Event", "FINAL_STATES", "GroupCommit",
    "INBOX_LEASE", "InboundSms", "Inbox", "InboxMessage", "JOURNAL_SOURCES", "Journal", "JournalCount",
    "LIVE_OUTBOX_STATES", "LOCK_KINDS", "LedgerRow", "LineSummary", "Locks", "LostReportRow", "LostReports",
    "NumberChangeRow", "OUTBOX_KINDS", "OUTBOX_STATES", "Outbox", "OutboxFigures", "OutboxMessage",
    "OutboxPart", "OutboxRow", "OutgoingSms", "Postpaid", "Purged", "RateLimits", "RatedUsage", "ReportCount",
    "Reports", "SendFailed", "SessionReport", "SessionRow", "SessionState", "Sessions", "StatementRow",
    "StoreBusy", "StoreError", "StoredTopUp", "Submitted", "SubscriberRecord", "TopUps", "Unacknowledged",
    "UnitOfWork", "Usage", "UsageLine", "VoucherStock", "Vouchers", "claimant", "place_of",
]
