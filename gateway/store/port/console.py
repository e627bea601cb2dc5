"""What the operator console reads (``Reports``) and records (``Audit``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

__all__ = [
    "Audit", "CampaignRow", "ConsoleAction", "LedgerRow", "LostReportRow", "OutboxMessage", "OutboxPart",
    "Reports", "VoucherStock"
]


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
