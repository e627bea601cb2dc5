"""Lines and their money: subscribers, vouchers and top-ups, lockouts, usage, postpaid bills, consent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from gateway.domain.account import Account, Bucket, LedgerEntry
from gateway.domain.attempts import AttemptState
from gateway.domain.money import Currency
from gateway.domain.policy import AttemptLimit
from gateway.domain.postpaid import Bill, PostpaidAccount
from gateway.domain.vouchers import Voucher

__all__ = [
    "LOCK_KINDS", "Accounts", "Activity", "Consent", "DuplicateBill", "DuplicateNumber", "DuplicatePayment",
    "DuplicateUsage", "LineSummary", "Locks", "LostReports", "Postpaid", "RatedUsage", "RateLimits",
    "StoredTopUp", "SubscriberRecord", "TopUps", "Usage", "UsageLine", "Vouchers"
]


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


#: Kinds of earned lockout (``gateway.store.locks``): wrong voucher PINs by the calling number,
#: lost-SIM mismatches by the reporting phone, and by the number a report names.
LOCK_KINDS = ("topup", "lost", "lost-number")


class DuplicateNumber(Exception):
    """A bulk insert met a number that is already live (nothing of its batch went in)."""


class DuplicateUsage(Exception):
    """A bulk insert met a usage record whose identity is already stored."""


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


@dataclass(frozen=True)
class RatedUsage:
    """One usage record as rated and charged (``usage import``): the line a statement will list, and the
    subscriber and number it is charged to; ``line.record_id`` is assigned by the import."""

    subscriber_id: int
    msisdn: str
    line: UsageLine


class DuplicateBill(Exception):
    """A bill for the same line and period is already stored (nothing was written)."""


class DuplicatePayment(Exception):
    """A payment with this reference is stored already, or is being stored by a transaction that
    committed meanwhile (two imports at once: the unique index decides; nothing was written)."""


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
    """Requests spent per calling number by every process (``gateway.ratelimit``).

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
