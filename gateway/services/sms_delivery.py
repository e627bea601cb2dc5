"""SMS delivery: the SMPP adapters' only way to the inbox, the outbox and the receipts.

The hook records what happened on the wire in batches (``save_events``: one
unit of work for hundreds of PDUs), the broker claims due messages
(``claim_outbox``), and the runtime answers the backlog and keeps the tables
small. Each function is one unit of work on ``db``, the database the
gateway was built with (``Context.store``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from gateway.domain.secrets import derive_key, keyed_hash
from gateway.store.port import Database
from gateway.store.port import sms as values
from gateway.store.port.sms import *  # noqa: F403  (the SMS values the SMPP link speaks, for the channels)

__all__ = [
    "Database", "adopt_inbox", "answer_inbox", "claim_outbox", "expect_unsettled", "give_up_inbox", "inbox_messages",
    "part_key", "pdu_digest", "purge", "purge_texts", "recover_outbox", "save_events", "unhandled_inbox",
]
__all__ += values.__all__

#: ``keyed_hash`` purpose of an MO PDU's identity.
MO_PURPOSE = "sms-mo"
#: ``derive_key`` purpose of the key that seals waiting parts of a concatenated MO.
PART_PURPOSE = "sms-mo-part"


def part_key(secret: str) -> bytes:
    """The key that seals the parts of a concatenated MO while they wait (``sms_segments.data``)."""
    return derive_key(secret, PART_PURPOSE)


def pdu_digest(secret: str, *parts: bytes | str | int) -> str:
    """The identity of an MO PDU, keyed: the PDU of ``TOP <PIN>`` must not be guessable from it."""
    return keyed_hash(secret, MO_PURPOSE,
                      "\x1f".join(p.hex() if isinstance(p, bytes) else str(p) for p in parts))


def save_events(
    db: Database, events: Sequence[values.Event], settled: Sequence[int], now: datetime, *,
    decode: Callable[[bytes, int], str], dedupe_window: timedelta, part_key: bytes,
    senders: dict[int, str] | None = None, redeliveries: list[tuple[int, int]] | None = None,
    identity: str | None = None,
) -> list[int]:
    """Mark ``settled`` rows acknowledged and write ``events`` in arrival order; returns new inbox ids.

    See ``Inbox.apply`` for ``senders``, ``redeliveries`` and ``dedupe_window``.
    """
    with db.write_uow() as uow:
        uow.inbox.settle(settled)
        return uow.inbox.apply(events, now, decode=decode, dedupe_window=dedupe_window, part_key=part_key,
                               senders=senders, redeliveries=redeliveries, identity=identity)


def expect_unsettled(db: Database, now: datetime, identity: str | None = None) -> int:
    """At start: MO a stopped gateway (in ``identity``'s place) may not have acknowledged are
    expected again; how many."""
    with db.write_uow() as uow:
        return uow.inbox.expect_unsettled(now, identity)


def recover_outbox(db: Database, now: datetime, identity: str | None = None) -> int:
    """Messages a stopped gateway had claimed (expired claims, or an earlier run in ``identity``'s
    place) go back to the queue; how many."""
    with db.write_uow() as uow:
        return uow.outbox.recover(now, identity)


def claim_outbox(db: Database, now: datetime, limit: int, *, identity: str | None = None,
                 lease: timedelta = values.DEFAULT_LEASE) -> list[values.OutboxRow]:
    """Up to ``limit`` due messages, marked ``sending`` for ``identity`` until ``now + lease``
    (committed without an fsync: see the broker)."""
    with db.write_uow(durable=False) as uow:
        return uow.outbox.claim_due(now, limit, identity=identity, lease=lease)


def adopt_inbox(db: Database, now: datetime, identity: str | None, limit: int, *, starting: bool) -> list[int]:
    """Unanswered MO this process takes over: at start, and later those of a process that died."""
    with db.write_uow() as uow:
        return uow.inbox.adopt(now, identity, limit, starting=starting)


def purge(db: Database, now: datetime, *, decode: Callable[[bytes, int], str], part_key: bytes,
          identity: str | None = None) -> values.Purged:
    """End stale MO assemblies (an incomplete one becomes an inbox row, ``identity``'s to answer)
    and drop unclaimed receipts."""
    with db.write_uow() as uow:
        return uow.inbox.purge(now, decode=decode, part_key=part_key, identity=identity)


def purge_texts(db: Database, now: datetime, retention: timedelta) -> int:
    """Empty the texts of MO answered longer than ``retention`` ago; how many."""
    with db.write_uow() as uow:
        return uow.inbox.purge_texts(now, retention)


def outbox_depth(db: Database, now: datetime) -> dict[str, int]:
    """Messages not in a final state, by status (queued, sending, submitted), every kind together."""
    depth: dict[str, int] = {}
    for (_, status), count in db.read_uow().outbox.figures(now).live.items():
        depth[status] = depth.get(status, 0) + count
    return depth


def unhandled_inbox(db: Database, limit: int) -> list[int]:
    return db.read_uow().inbox.unhandled(limit)


# --- the keyword router's side ------------------------------------------------------

def inbox_messages(db: Database, inbox_ids: Sequence[int]) -> dict[int, values.InboxMessage]:
    """The inbox rows of ``inbox_ids`` by id (a few statements for any batch)."""
    return db.read_uow().inbox.messages(inbox_ids)


def answer_inbox(db: Database, replies: list[values.OutgoingSms], outcomes: Sequence[tuple[int, str, str | None]],
                 now: datetime) -> int:
    """Queue ``replies`` and mark the rows answered ((inbox id, status, error) each), together;
    returns how many replies were new."""
    with db.write_uow() as uow:
        queued = uow.outbox.enqueue_many(replies, now)
        uow.inbox.mark_many(outcomes, now)
    return queued


def give_up_inbox(db: Database, inbox_id: int, reply: values.OutgoingSms | None, error: str, now: datetime) -> None:
    """Mark a row ``failed`` with ``error``, queueing ``reply`` (if any) with it."""
    with db.write_uow() as uow:
        if reply is not None:
            uow.outbox.enqueue(reply, now)
        uow.inbox.mark_many([(inbox_id, "failed", error)], now)
