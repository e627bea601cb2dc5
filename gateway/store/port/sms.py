"""SMS delivery: what the SMPP adapters record, what the sender claims, and the outbox and inbox."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

__all__ = [
    "DEFAULT_LEASE", "FINAL_STATES", "INBOX_LEASE", "LIVE_OUTBOX_STATES", "OUTBOX_KINDS", "OUTBOX_STATES",
    "DeliveryReport", "Event", "InboundSms", "Inbox", "InboxMessage", "Outbox", "OutboxFigures", "OutboxRow",
    "OutgoingSms", "Purged", "SendFailed", "Submitted", "Unacknowledged", "claimant", "place_of"
]


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
class InboxMessage:
    """One MO waiting to be answered (``text`` as stored: its secrets sealed)."""

    inbox_id: int
    source: str
    destination: str
    text: str
    status: str
    digest: str | None
    incomplete: bool


#: Receipt ``stat`` → the outbox state it ends a message in.
FINAL_STATES = {"DELIVRD": "delivered", "EXPIRED": "expired", "UNDELIV": "undeliverable",
                "REJECTD": "undeliverable", "DELETED": "undeliverable"}


#: Kinds of outbox message, in the order the sender takes them.
OUTBOX_KINDS = ("reply", "notification", "reminder", "marketing")


#: Outbox states a message is still moving through (it ends in one of the others).
LIVE_OUTBOX_STATES = ("queued", "sending", "submitted")


#: Every outbox state (see ``gateway.store.sms`` for how a message moves between them).
OUTBOX_STATES = (*LIVE_OUTBOX_STATES, "delivered", "undeliverable", "expired", "failed", "skipped")


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


class Outbox(Protocol):
    def enqueue(self, sms: OutgoingSms, now: datetime) -> int | None: ...
    def enqueue_many(self, messages: Sequence[OutgoingSms], now: datetime) -> int:
        """Queue ``messages`` together (a ``dedupe_key`` queued before is passed over); how many were new."""
        ...
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
