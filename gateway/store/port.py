"""The store port: what the services need from a database, as Protocols.

A unit of work (``UnitOfWork``) exposes one repository per kind of data;
``Database`` opens it for writing (one transaction, all or nothing: commit
on success, rollback on an exception, a savepoint inside a group of jobs) or
for reading. Repository methods are named for what the services do, take
and return domain and value types, and never expose SQL or driver rows.

The SQLite adapter is ``gateway.store.sqlite_uow`` (its SQL lives in the
modules beside it); a second adapter implements the same Protocols.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from gateway.domain.account import Account, Bucket, LedgerEntry
from gateway.domain.attempts import AttemptState
from gateway.domain.money import Currency
from gateway.domain.policy import AttemptLimit
from gateway.domain.postpaid import Bill, PostpaidAccount
from gateway.domain.vouchers import Voucher

# --- value types ------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriberRecord:
    subscriber_id: int
    msisdn: str
    type: str
    language: str
    id_hash: str | None
    created_at: datetime
    marketing_opt_in: bool
    account: Account
    lost_reference: str | None
    lost_reported_at: datetime | None
    #: ``live``, or ``recycled`` for the kept history of a number given up.
    status: str = "live"
    #: When the number was given up: recycled, or (``status`` ``expired``) not reissued in time.
    recycled_at: datetime | None = None
    #: A postpaid line's deposit, dues, unbilled usage and notice (None on a prepaid line).
    postpaid: PostpaidAccount | None = None
    #: When activity was first noted on its local day (None: none since the line was added).
    last_active_at: datetime | None = None
    #: When the line was deactivated for inactivity (None: it is not).
    deactivated_at: datetime | None = None

    @property
    def active_since(self) -> datetime:
        """What the inactivity rule counts from: the last activity, else the day the line was added."""
        return self.last_active_at if self.last_active_at is not None else self.created_at


@dataclass(frozen=True)
class LineSummary:
    """What a gift needs to know about its target before deciding to credit it."""

    type: str
    main_expires_at: datetime | None
    live: bool  # False: the newest row on the number was recycled


@dataclass(frozen=True)
class StoredTopUp:
    """A top-up as recorded (what a resent request is answered from)."""

    topup_id: int
    msisdn: str  # the credited number
    requester: str
    credited_minor: int
    restored_minor: int
    balance_minor: int
    expires_at: datetime
    serial: str


@dataclass(frozen=True)
class OutgoingSms:
    """A message for the outbox (the SMPP sender takes it from there)."""

    destination: str
    text: str
    source: str
    kind: str  # reply | notification | reminder | marketing
    dedupe_key: str | None = None
    #: The campaign a marketing message belongs to (``Outbox.add_campaign``).
    campaign_id: int | None = None


@dataclass(frozen=True)
class SessionRow:
    """A USSD session as stored; ``state`` is its JSON text."""

    session_id: str
    msisdn: str
    service_code: str
    state: str | None
    created_at: datetime
    expires_at: datetime
    #: When the row was last written: the dialogue's last step, or its close.
    updated_at: datetime | None = None


#: A session row to write: (session_id, msisdn, service_code, state, created_at, updated_at, expires_at).
SessionState = tuple[str, str, str, str, datetime, datetime, datetime]


# --- the dialogue journal and the aggregators' end-of-session reports (``ussd report``) --

#: Who decided a journal row's outcome, lowest rank first: a row replaces a stored one of a lower
#: rank only (the session sweep guesses, an aggregator's report knows more, our own END knows best).
JOURNAL_SOURCES = ("sweep", "report", "gateway")


@dataclass(frozen=True)
class DialogueRecord:
    """One USSD dialogue as the journal keeps it (``gateway.domain.funnel`` names the outcomes)."""

    session_id: str
    #: The dialect or path it came by (``africastalking``, ``hubtel``, ``smpp``, …).
    path: str
    service_code: str
    msisdn: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    #: The last screen shown, ``tree:screen`` (``""``: none of a tree).
    screen: str
    #: Answers the dialogue took.
    steps: int
    #: How it ended in the gateway's words (``end``, ``busy``, ``abandoned`` …).
    detail: str | None
    #: One of ``JOURNAL_SOURCES``.
    source: str


@dataclass(frozen=True)
class SessionReport:
    """An aggregator's end-of-session report as stored: nothing of the answers but how many there were."""

    session_id: str
    service_code: str
    msisdn: str
    network_code: str | None
    #: ``Success``, ``Incomplete`` or ``Failed`` (``gateway.domain.funnel.Reported``).
    status: str
    answers: int
    duration_ms: int | None
    hops: int | None
    #: The aggregator saw our last reply end the session (None: it did not say).
    app_ended: bool | None
    error_message: str | None
    cost: str | None
    received_at: datetime


@dataclass(frozen=True)
class JournalCount:
    """Journal rows of one kind since a moment, with the status of their report (None: none came)."""

    service_code: str
    outcome: str
    screen: str
    status: str | None
    dialogues: int


@dataclass(frozen=True)
class ReportCount:
    """Reports since a moment for sessions the journal has no row of."""

    service_code: str
    status: str
    reports: int


@dataclass(frozen=True)
class InboxMessage:
    """One MO waiting to be answered (``text`` as stored: its secrets sealed)."""

    inbox_id: int
    source: str
    destination: str
    text: str
    status: str
    digest: str | None
    incomplete: bool


# --- SMS delivery: what the SMPP adapters record, and what the sender claims ----------

#: Receipt ``stat`` → the outbox state it ends a message in.
FINAL_STATES = {"DELIVRD": "delivered", "EXPIRED": "expired", "UNDELIV": "undeliverable",
                "REJECTD": "undeliverable", "DELETED": "undeliverable"}

#: Kinds of outbox message, in the order the sender takes them.
OUTBOX_KINDS = ("reply", "notification", "reminder", "marketing")
#: Outbox states a message is still moving through (it ends in one of the others).
LIVE_OUTBOX_STATES = ("queued", "sending", "submitted")
#: Every outbox state (see ``gateway.store.sms`` for how a message moves between them).
OUTBOX_STATES = (*LIVE_OUTBOX_STATES, "delivered", "undeliverable", "expired", "failed", "skipped")
#: Kinds of earned lockout (``gateway.store.locks``): wrong voucher PINs by the calling number,
#: lost-SIM mismatches by the reporting phone, and by the number a report names.
LOCK_KINDS = ("topup", "lost", "lost-number")


@dataclass(frozen=True)
class OutboxFigures:
    """What the outbox holds at one moment, for the dashboards (``Outbox.figures``).

    Every figure is an indexed count or minimum, so it can be read every few
    seconds whatever the size of the table's history.
    """

    #: Messages not in a final state, by (kind, status): queued, sending, submitted.
    live: Mapping[tuple[str, str], int]
    #: By kind: the earliest time a queued message became due (queued, or due for its next try).
    oldest_due: Mapping[str, datetime]
    #: By kind: messages submitted before the cut-off that no final receipt has ended yet.
    receipts_overdue: Mapping[str, int]
    #: Marketing (campaign) messages by status, every status.
    marketing: Mapping[str, int]


# --- several processes on one outbox and inbox -----------------------------------------

#: The lease of a claim when the caller names none (``SmppSettings.outbox_lease``).
DEFAULT_LEASE = timedelta(seconds=120)

#: How long a new inbox row is its storing process's alone to answer. A live
#: process answers within seconds (its router takes batches of a thousand and
#: retries a failing row for a few seconds before giving up on it); after
#: this long the row is taken for a dead process's, and another answers it.
INBOX_LEASE = timedelta(minutes=5)


def claimant(place: str) -> str:
    """A process identity for claims: ``place#random``, new at every start.

    ``place`` names where the process runs (host, port, worker index): at
    most one live process holds a place, so at start the rows claimed by an
    earlier holder of it are known to be orphaned (``recover``).
    """
    return f"{place}#{secrets.token_hex(6)}"


def place_of(identity: str) -> str:
    return identity.rpartition("#")[0]


@dataclass(frozen=True)
class OutboxRow:
    id: int
    source: str
    destination: str
    text: str
    kind: str
    attempts: int
    #: Who claimed it (``claimant``): its outcome is recorded only while that claim holds.
    claim: str | None = None
    #: Until when the claim holds: a row not yet submitted by then is no longer the claimant's to send.
    lease_until: datetime | None = None


@dataclass(frozen=True)
class InboundSms:
    """One whole MO, or one part of a concatenated MO (``reference`` set)."""

    source: str
    destination: str
    data: bytes
    data_coding: int
    digest: str
    reference: int | None = None
    total: int = 1
    seq: int = 1


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery receipt; ``smsc`` names the SMSC it came from (``smsc_identity``)."""

    message_id: str
    stat: str
    smsc: str = ""


@dataclass(frozen=True)
class Submitted:
    """The SMSC accepted every part; its ids are unique on that SMSC only, and only until it restarts."""

    outbox_id: int
    message_ids: tuple[str, ...]
    smsc: str = ""
    #: The claim it was sent under (``OutboxRow.claim``); None: applied whoever claimed the row.
    claim: str | None = None


@dataclass(frozen=True)
class SendFailed:
    """``retry_at`` None: a permanent failure; otherwise queue again at that time."""

    outbox_id: int
    error: str
    retry_at: datetime | None
    count_attempt: bool = True
    #: The claim it was tried under (``OutboxRow.claim``); None: applied whoever claimed the row.
    claim: str | None = None


@dataclass(frozen=True)
class Unacknowledged:
    """MO (by digest) received on a link that dropped before their deliver_sm_resp was written.

    The SMSC will deliver them again; recorded after the MO themselves, so
    their inbox rows exist when this is applied.
    """

    digests: tuple[str, ...]


Event = InboundSms | DeliveryReport | Submitted | SendFailed | Unacknowledged


@dataclass(frozen=True)
class Purged:
    """What ``purge`` did: MO parts and early receipts dropped, inbox rows made (id → sender)."""

    segments: int
    receipts: int
    inbox: dict[int, str]


@dataclass(frozen=True)
class DisputeRow:
    """A bill dispute as recorded (004 clauses 3(B).4, 9.3); the bill's period and amount as disputed."""

    dispute_id: int
    reference: str
    subscriber_id: int
    msisdn: str
    language: str
    bill_id: int
    period_start: date
    period_end: date
    amount_minor: int
    reason: str
    channel: str
    raised_at: datetime
    due_at: datetime
    status: str  # open | upheld | rejected
    other_provider: bool | None = None
    credit_minor: int | None = None
    final_minor: int | None = None
    late: bool | None = None
    note: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class ComplaintRow:
    """A written complaint as recorded (004 clauses 9.1, 10.1)."""

    complaint_id: int
    reference: str
    subscriber_id: int
    msisdn: str
    language: str
    text: str
    channel: str
    received_at: datetime
    status: str  # open | closed
    note: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class StatementRow:
    """A detailed statement given for a bill (004 clause 7.6)."""

    reference: str
    bill_id: int
    charge_minor: int
    lines: int
    asked_at: datetime


@dataclass(frozen=True)
class NumberChangeRow:
    """A number change request accepted (004 clause 5.1)."""

    reference: str
    requested_at: datetime
    status: str  # open


# --- what the operator console reads (``Reports``) and records (``Audit``) ----------------


@dataclass(frozen=True)
class LedgerRow:
    """One ledger row of a line: a balance change, signed, on one bucket."""

    entry_id: int
    bucket: str
    delta_minor: int
    kind: str
    #: When it took effect, and when it was written.
    at: datetime
    recorded_at: datetime
    reference: str | None
    channel: str | None


@dataclass(frozen=True)
class LostReportRow:
    """A lost-SIM report of a line, open or resolved."""

    reference: str
    reported_at: datetime
    reporter: str
    channel: str
    resolved_at: datetime | None


@dataclass(frozen=True)
class OutboxPart:
    """One part of a multi-part SMS: its SMSC message id and its own receipt."""

    part: int
    smsc_message_id: str
    smsc: str | None
    status: str
    receipt_stat: str | None
    receipt_at: datetime | None


@dataclass(frozen=True)
class OutboxMessage:
    """An outbox row as the console shows it (``parts`` only from ``Reports.outbox_message``)."""

    outbox_id: int
    source: str
    destination: str
    text: str
    kind: str
    status: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    smsc: str | None
    smsc_message_id: str | None
    error: str | None
    campaign_id: int | None
    receipt_stat: str | None
    receipt_at: datetime | None
    parts: tuple[OutboxPart, ...] = ()


@dataclass(frozen=True)
class CampaignRow:
    """A campaign and its messages counted by outbox state."""

    campaign_id: int
    text: str
    created_at: datetime
    channel: str
    #: Outbox state → messages in it (states with none are left out).
    counts: Mapping[str, int]


@dataclass(frozen=True)
class VoucherStock:
    """Vouchers of one batch and face value in one state (``active``, ``used`` or ``expired``). No PIN."""

    batch: str
    amount_minor: int
    state: str
    count: int
    first_created_at: datetime
    #: Of the batch's vouchers with a last day, the earliest (None: none has one).
    expires_on: date | None


@dataclass(frozen=True)
class ConsoleAction:
    """An action taken in the operator console, done or refused."""

    action_id: int
    at: datetime
    #: ``operator`` or ``viewer``; ``actor`` names the token or session (``gateway.console.auth``), never it.
    role: str
    actor: str
    action: str
    target: str
    outcome: str  # done | refused
    detail: str | None


class StoreError(Exception):
    """The database cannot be opened or used (corrupt, read-only, busy too long)."""


class StoreBusy(StoreError):
    """Another writer held the lock longer than ``busy_timeout``: nothing was done; try again."""


class DuplicateNumber(Exception):
    """A bulk insert met a number that is already live (nothing of its batch went in)."""


class DuplicateUsage(Exception):
    """A bulk insert met a usage record whose identity is already stored."""


@dataclass(frozen=True)
class RatedUsage:
    """One usage record as rated and charged (``usage import``); ``record_id`` is assigned by the import."""

    record_id: int
    subscriber_id: int
    msisdn: str
    started_at: datetime
    kind: str
    quantity: int
    units: int
    charge_minor: int
    charged_minor: int
    outcome: str


@dataclass(frozen=True)
class UsageLine:
    """A stored usage record, as a statement lists it."""

    record_id: int
    started_at: datetime
    kind: str
    quantity: int
    units: int
    charge_minor: int
    charged_minor: int
    outcome: str


class DuplicateBill(Exception):
    """A bill for the same line and period is already stored (nothing was written)."""


class DuplicatePayment(Exception):
    """A payment with this reference is stored already, or is being stored by a transaction that
    committed meanwhile (two imports at once: the unique index decides; nothing was written)."""


# --- repositories -----------------------------------------------------------------


class Accounts(Protocol):
    """Subscribers, their buckets and the ledger (every balance change is ledger rows)."""

    def load_live(self, msisdn: str, currency: Currency) -> SubscriberRecord | None: ...
    def load_latest(self, msisdn: str, currency: Currency) -> SubscriberRecord | None: ...
    def line_summary(self, msisdn: str) -> LineSummary | None: ...
    def is_lost(self, msisdn: str) -> bool: ...
    def was_recycled(self, msisdn: str) -> bool: ...
    def language(self, msisdn: str) -> str | None: ...
    def marketing_opt_in(self, msisdn: str) -> bool | None: ...
    def insert(self, *, msisdn: str, type_: str, language: str, id_hash: str | None, now: datetime) -> int:
        """Raises: DuplicateNumber: the number is live already (added meanwhile by another process)."""
        ...

    def save_account(self, subscriber_id: int, account: Account, entries: list[LedgerEntry], *,
                     now: datetime, reference: str | None = None, channel: str | None = None) -> Account: ...
    def ledger_totals(self, subscriber_id: int) -> dict[Bucket, int]: ...
    def set_language(self, subscriber_id: int, language: str) -> None: ...
    def mark_recycled(self, subscriber_id: int, at: datetime) -> None: ...
    def due_for_lifecycle(self, now: datetime, recycle_cutoff: datetime) -> list[str]: ...
    def due_for_reminder(self, kind: str, after: datetime, until: datetime) -> list[str]: ...
    def mark_reminded(self, subscriber_id: int, kind: str, cycle: datetime | None, now: datetime) -> bool: ...
    def next_id(self) -> int: ...
    def insert_many(self, subscribers: list[tuple[Any, ...]], ledger: list[tuple[Any, ...]]) -> None: ...
    def live_id(self, msisdn: str) -> int | None: ...


class Usage(Protocol):
    """Rated usage records (their identity is unique) and the bulk writes of ``usage import``."""

    def next_id(self) -> int: ...
    def load_live_many(self, msisdns: Sequence[str], currency: Currency) -> dict[str, SubscriberRecord]: ...
    def record_many(self, records: Sequence[RatedUsage], now: datetime) -> None: ...
    def seen(self, msisdn: str, started_at: datetime, kind: str, quantity: int) -> tuple[int, datetime] | None: ...
    def save_accounts(self, changes: Sequence[tuple[int, Account, list[LedgerEntry]]], *, now: datetime,
                      channel: str) -> None: ...
    def note_used(self, used: Sequence[tuple[int, datetime]]) -> None: ...
    def lines(self, subscriber_id: int, start: datetime, end: datetime) -> list[UsageLine]: ...
    def bill_records(self, subscriber_id: int, bill_id: int, until: datetime) -> int:
        """Put the line's records added to unbilled usage, started before ``until`` and on no bill yet,
        on ``bill_id``; returns what they added to unbilled usage (minor units)."""
        ...


class Activity(Protocol):
    """When lines were last used, and the inactivity life cycle (``seeds/004_*`` 3(B).12)."""

    def note(self, msisdns: Sequence[str], now: datetime, day_start: datetime) -> int: ...
    def due_for_deactivation(self, before: datetime) -> list[str]: ...
    def due_for_release(self, before: datetime) -> list[str]: ...
    def due_for_deactivation_reminder(self, kind: str, before: datetime) -> list[str]: ...
    def due_for_release_reminder(self, kind: str, before: datetime) -> list[str]: ...
    def deactivate(self, subscriber_id: int, at: datetime) -> None: ...
    def reactivate(self, subscriber_id: int, now: datetime) -> None: ...
    def release(self, subscriber_id: int, at: datetime) -> None: ...


class Postpaid(Protocol):
    """Postpaid lines (``gateway.domain.postpaid``): the buckets and notice on the subscriber row, bills, payments.

    ``save`` is the only writer of ``deposit``, ``dues`` and ``unbilled``, and it
    writes their ledger rows with them: for each, ``sum(ledger) == column``.
    """

    def save(self, subscriber_id: int, account: PostpaidAccount, entries: list[LedgerEntry], *,
             now: datetime, reference: str | None = None, channel: str | None = None) -> None: ...
    def bills(self, subscriber_id: int, currency: Currency) -> list[Bill]:
        """Every bill of the line, oldest due first."""
        ...
    def add_bill(self, subscriber_id: int, bill: Bill, now: datetime) -> int:
        """Raises: DuplicateBill: the line has a bill for that period already."""
        ...
    def update_bills(self, bills: Sequence[Bill]) -> None:
        """Store ``paid``, ``penalty`` and ``penalty_months`` of saved bills (``bill_id`` set)."""
        ...
    def payment_exists(self, reference: str) -> bool: ...
    def add_payment(self, subscriber_id: int, amount_minor: int, paid_at: datetime, reference: str,
                    now: datetime) -> int:
        """Raises: DuplicatePayment: the reference is taken (``payment_exists`` may not have seen it yet)."""
        ...
    def due_for_review(self) -> list[str]:
        """Live postpaid numbers with a bill not settled, or a notice standing."""
        ...


class Vouchers(Protocol):
    def by_pin_hash(self, pin_hash: str, currency: Currency) -> Voucher | None: ...
    def take(self, voucher_id: int, now: datetime, subscriber_id: int) -> bool: ...
    def pin_hash_exists(self, pin_hash: str) -> bool: ...
    def serial_exists(self, serial: str) -> bool: ...
    def next_id(self) -> int: ...
    def insert_many(self, rows: list[tuple[str, str, int, int, date | str | None, str, datetime]]) -> None: ...


class TopUps(Protocol):
    """Top-ups made and attempts refused (the latter count towards the lockout)."""

    def replay_and_lock(self, request_key: str | None, lock_kind: str,
                        lock_key: str) -> tuple[StoredTopUp | None, datetime | None]:
        """The top-up made before under ``request_key`` (None: none, or no key) and
        ``lock_key``'s lock of ``lock_kind`` (as ``Locks.get``): what every top-up reads first."""
        ...

    def record(self, *, request_key: str | None, requester: str, subscriber_id: int, voucher_id: int,
               credited_minor: int, restored_minor: int, balance_minor: int, expires_at: datetime,
               now: datetime, channel: str) -> int: ...
    def record_attempt(self, msisdn: str, now: datetime, outcome: str, channel: str) -> None: ...


class Locks(Protocol):
    def get(self, kind: str, key: str) -> datetime | None: ...
    def register_failure(self, kind: str, key: str, last_lock: datetime | None, now: datetime,
                         limit: AttemptLimit) -> AttemptState: ...
    def reset(self, kind: str, key: str, now: datetime) -> datetime | None: ...
    def in_force(self, now: datetime) -> dict[str, int]:
        """Keys locked out at ``now``, by kind (every kind of ``LOCK_KINDS``, 0 when none)."""
        ...


class RateLimits(Protocol):
    """Requests spent per calling number by every process (``gateway.services.ratelimit``).

    A number's token bucket is one instant, unix seconds: when it is full
    again. Spending ``cost`` seconds of refill moves it to
    ``max(full_at, now) + cost``, so processes add their spend without
    reading it first, in any order; no row is a full bucket.
    """

    def spend(self, costs: Mapping[str, float], now: float) -> None: ...
    def full_at(self, keys: Sequence[str]) -> dict[str, float]: ...
    def forget_full(self, now: float) -> int: ...


class LostReports(Protocol):
    def record_attempt(self, reporter: str, target: str, now: datetime, outcome: str, channel: str) -> None: ...
    def reference_taken(self, reference: str) -> bool: ...
    def open(self, subscriber_id: int, reference: str, now: datetime, reporter: str, channel: str) -> None: ...
    def resolve(self, subscriber_id: int, now: datetime) -> None: ...


class Consent(Protocol):
    def set_opt_in(self, subscriber_id: int, opt_in: bool, now: datetime, channel: str) -> None: ...
    def last_change(self, subscriber_id: int) -> tuple[datetime, str] | None: ...
    def history(self, subscriber_id: int) -> list[tuple[bool, str, datetime]]: ...


class Sessions(Protocol):
    """USSD sessions (see ``gateway.ussd.sessions`` for when a row is written)."""

    def load(self, session_id: str) -> SessionRow | None: ...
    def latest(self, msisdn: str, service_code: str) -> SessionRow | None:
        """The number's newest session of ``service_code`` (resume after a timeout)."""
        ...
    def load_and_latest(
        self, session_id: str, msisdn: str, service_code: str,
    ) -> tuple[SessionRow | None, SessionRow | None]:
        """``load(session_id)`` and ``latest(msisdn, service_code)`` in one statement (one round trip)."""
        ...
    def save(self, rows: list[SessionState]) -> None: ...
    def touch(self, session_id: str, expires_at: datetime, now: datetime) -> None: ...
    def sweep(self, before: datetime) -> int: ...


class Journal(Protocol):
    """The dialogue journal and the aggregators' end-of-session reports (see ``JOURNAL_SOURCES``)."""

    def record(self, rows: Sequence[DialogueRecord]) -> None:
        """Insert, or replace a stored row of the same session whose source ranks lower."""
        ...

    def add_report(self, report: SessionReport) -> bool:
        """False: a report of that session was stored before (it is kept as it was)."""
        ...

    def counts(self, since: datetime | None) -> list[JournalCount]:
        """Dialogues started at or after ``since`` (None: all), grouped with their report's status."""
        ...

    def unmatched_reports(self, since: datetime | None) -> list[ReportCount]:
        """Reports received at or after ``since`` for sessions with no journal row."""
        ...

    def unrecorded_sessions(self, after: datetime, until: datetime, limit: int) -> list[SessionRow]:
        """Session rows that expired in (``after``, ``until``] and have no journal row, by expiry."""
        ...


class Outbox(Protocol):
    def enqueue(self, sms: OutgoingSms, now: datetime) -> int | None: ...
    def skipped(self, sms: OutgoingSms, now: datetime, reason: str) -> None: ...
    def claim_due(self, now: datetime, limit: int, *, identity: str | None,
                  lease: timedelta) -> list[OutboxRow]: ...
    def recover(self, now: datetime, identity: str | None) -> int: ...
    def figures(self, receipts_before: datetime) -> OutboxFigures:
        """Depth, waiting time, overdue receipts and campaign progress (``OutboxFigures``);
        a receipt is overdue for a message submitted before ``receipts_before``."""
    def add_campaign(self, text: str, now: datetime, channel: str) -> int:
        """A new campaign's id; its messages carry it (``OutgoingSms.campaign_id``)."""
        ...


class Inbox(Protocol):
    """MO, receipts and submit outcomes as the SMPP adapters record them, and the inbox rows to answer."""

    def apply(self, events: Sequence[Event], now: datetime, *, decode: Callable[[bytes, int], str],
              dedupe_window: timedelta, part_key: bytes, senders: dict[int, str] | None = None,
              redeliveries: list[tuple[int, int]] | None = None, identity: str | None = None) -> list[int]: ...
    def settle(self, inbox_ids: Sequence[int]) -> None: ...
    def expect_unsettled(self, now: datetime, identity: str | None) -> int: ...
    def purge(self, now: datetime, *, decode: Callable[[bytes, int], str], part_key: bytes,
              identity: str | None) -> Purged: ...
    def purge_texts(self, now: datetime, retention: timedelta) -> int: ...
    def unhandled(self, limit: int) -> list[int]: ...
    def adopt(self, now: datetime, identity: str | None, limit: int, *, starting: bool) -> list[int]: ...
    def messages(self, inbox_ids: Sequence[int]) -> dict[int, InboxMessage]: ...
    def mark_many(self, outcomes: Sequence[tuple[int, str, str | None]], now: datetime) -> None: ...


class Care(Protocol):
    """Written requests to customer care: statements, disputes, complaints, number changes (004).

    Each write that changes a case's status is conditional on its status
    (``resolve_dispute``, ``close_complaint`` return False when it was not
    open), so two operators cannot settle one case twice.
    """

    def reference_taken(self, reference: str) -> bool: ...
    def statement_of_bill(self, bill_id: int) -> StatementRow | None: ...
    def pending_statement_charges(self, subscriber_id: int) -> int:
        """The line's statement charges on no bill yet (minor units)."""
        ...
    def bill_statement_charges(self, subscriber_id: int, bill_id: int) -> None:
        """Put those charges on ``bill_id`` (in the transaction that read ``pending_statement_charges``)."""
        ...
    def add_statement(self, *, reference: str, subscriber_id: int, bill_id: int, charge_minor: int,
                      lines: int, channel: str, now: datetime) -> None: ...
    def dispute_of_bill(self, bill_id: int) -> DisputeRow | None: ...
    def add_dispute(self, *, reference: str, subscriber_id: int, bill_id: int, period_start: date,
                    period_end: date, amount_minor: int, reason: str, channel: str, now: datetime,
                    due_at: datetime) -> None: ...
    def dispute(self, reference: str) -> DisputeRow | None: ...
    def disputes(self, *, open_only: bool, subscriber_id: int | None = None) -> list[DisputeRow]: ...
    def resolve_dispute(self, dispute_id: int, *, status: str, other_provider: bool, credit_minor: int,
                        final_minor: int, late: bool, note: str | None, now: datetime) -> bool: ...
    def add_complaint(self, *, reference: str, subscriber_id: int, text: str, channel: str,
                      now: datetime) -> None: ...
    def complaint(self, reference: str) -> ComplaintRow | None: ...
    def complaints(self, *, open_only: bool, subscriber_id: int | None = None) -> list[ComplaintRow]: ...
    def close_complaint(self, complaint_id: int, note: str, now: datetime) -> bool: ...
    def open_number_change(self, subscriber_id: int) -> NumberChangeRow | None: ...
    def add_number_change(self, *, reference: str, subscriber_id: int, channel: str, now: datetime) -> None: ...


class Reports(Protocol):
    """What the operator console reads: a line's history, the outbox, campaigns, the voucher stock.

    Reads only, bounded by ``limit`` (newest first, ``before`` an id for the
    next page); nothing here returns a PIN, an ID number or a hash of one.
    """

    def ledger(self, subscriber_id: int, *, limit: int, before: int | None = None) -> list[LedgerRow]: ...
    def lost_reports(self, subscriber_id: int) -> list[LostReportRow]: ...
    def outbox(self, *, destination: str | None, status: str | None, kind: str | None, campaign_id: int | None,
               limit: int, before: int | None = None) -> list[OutboxMessage]: ...
    def outbox_message(self, outbox_id: int) -> OutboxMessage | None:
        """The message with its parts (oldest part first)."""
        ...
    def campaigns(self, *, limit: int, before: int | None = None) -> list[CampaignRow]: ...
    def campaign(self, campaign_id: int) -> CampaignRow | None: ...
    def voucher_stock(self, today: date) -> list[VoucherStock]:
        """Every batch by face value and state; ``expired``: active with a last day before ``today``."""
        ...


class Audit(Protocol):
    """The trail of the operator console's actions (migration 18)."""

    def record(self, *, at: datetime, role: str, actor: str, action: str, target: str, outcome: str,
               detail: str | None) -> None: ...
    def recent(self, *, limit: int, before: int | None = None) -> list[ConsoleAction]: ...


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
