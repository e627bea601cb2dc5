"""Written requests to customer care (004): statements, disputes, complaints, number changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

__all__ = [
    "Care", "ComplaintRow", "DisputeRow", "NumberChangeRow", "StatementRow"
]


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
