"""SMS delivery on either database: outbox claims and outcomes, inbox, receipts.

The SMPP adapters collect what happened on the wire (an MO arrived, a submit
was answered, a receipt came back) and ``Inbox.apply`` writes a whole batch in
one transaction, in arrival order, so one commit covers hundreds of PDUs and a
receipt is never applied before the message id it names was recorded. Each
repository is written once (``gateway.store.portable``): ``OutboxSql`` and
``InboxSql`` are the SQLite flavour, ``gateway.store.postgres.sms`` the other.

Outbox states::

    queued ──claim──▶ sending ──submit_sm_resp OK──▶ submitted ──receipt──▶ delivered
       ▲                 │                                     ├──────────▶ undeliverable
       └──retry/release──┤                                     └──────────▶ expired
                         └──permanent error / too many tries──▶ failed
    queued (marketing, number opted out when claimed) ─────────▶ skipped

Several processes share one outbox (``serve --workers N``, or several
gateways on one database): a claim marks a row ``sending`` with the
claimant's identity (``claimed_by``, see ``claimant``) and ``lease_until``
(now + the lease, ``[smpp] outbox_lease``). Until then the row is the
claimant's alone; a ``sending`` row whose lease has passed is due again for
any process (its claimant died), and ``recover`` at start requeues only
such rows and those of an earlier holder of the process's own place. A
submit result or a failure is applied only while the row is still claimed
by the process that reports it: a late result for a row another process has
taken over is dropped (that process sends it and records its own outcome),
and a claimed row whose lease passed before it was submitted is not sent
by its claimant (``OutboxBroker.lapsed``). A message whose submit was on the
wire when the lease passed is then sent twice, which is why the lease must
outlast any live sender's worst case (``SmppSettings.outbox_lease``).

The inbox is shared the same way: a new row is the storing process's to
answer (``received_by``) until ``INBOX_LEASE`` has passed; ``Inbox.adopt``
gives another process the rows still unanswered after that (and, at start,
those of an earlier run in its own place), so the MO a dead process had
stored are answered once, by someone else.

Inbox states: ``received`` → ``handled`` | ``failed``; ``redelivered`` (the
SMSC's second copy of an unacknowledged PDU, ``redelivery_of`` the first row:
stored, never answered; see ``gateway.store.sms.mo``).
"""

from gateway.store.port import (
    DEFAULT_LEASE,
    INBOX_LEASE,
    DeliveryReport,
    Event,
    InboundSms,
    Purged,
    SendFailed,
    Submitted,
    Unacknowledged,
    claimant,
)
from gateway.store.sms.inbox import InboxSql
from gateway.store.sms.mo import ASSEMBLY_WINDOW, digest
from gateway.store.sms.outbox import OutboxSql
from gateway.store.sms.outcomes import EARLY_RECEIPT_MATCH, EARLY_RECEIPT_TTL

__all__ = [
    "ASSEMBLY_WINDOW", "DEFAULT_LEASE", "EARLY_RECEIPT_MATCH", "EARLY_RECEIPT_TTL", "INBOX_LEASE", "DeliveryReport",
    "Event", "InboundSms", "InboxSql", "OutboxSql", "Purged", "SendFailed", "Submitted", "Unacknowledged",
    "claimant", "digest",
]
