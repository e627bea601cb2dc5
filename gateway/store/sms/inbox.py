"""The ``Inbox`` repository on either database: a batch of SMPP events in, the inbox rows to answer out.

``apply`` writes a whole batch in the caller's transaction, in arrival order,
so one commit covers hundreds of PDUs and a receipt is never applied before
the message id it names was recorded. A new row is its storing process's to
answer until ``INBOX_LEASE`` has passed; ``adopt`` then gives it to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from gateway.store.port import (
    DeliveryReport,
    Event,
    InboxMessage,
    Purged,
    SendFailed,
    Submitted,
    Unacknowledged,
    place_of,
)
from gateway.store.sms.mo import ASSEMBLY_WINDOW, Decode, MoSql
from gateway.store.sms.outcomes import EARLY_RECEIPT_TTL, OutcomesSql


class InboxSql(MoSql, OutcomesSql):
    """``port.Inbox`` in the SQLite flavour; ``PgFlavour`` mixed in before it makes the PostgreSQL one."""

    __slots__ = ()

    def apply(self, events: Sequence[Event], now: datetime, *, decode: Decode, dedupe_window: timedelta,
              part_key: bytes, senders: dict[int, str] | None = None,
              redeliveries: list[tuple[int, int]] | None = None, identity: str | None = None) -> list[int]:
        """Write a batch of events (inside the caller's transaction); returns new inbox ids to answer.

        ``identity``: the process that will answer the new rows (``claimant``);
        None leaves them to whichever process looks next (``adopt``).

        ``senders``, when given, receives each new inbox id's source address;
        ``redeliveries`` (inbox id, id of the row it repeats) for each MO saved as
        the SMSC's redelivery (not returned: it is not answered again).
        ``dedupe_window``: how long after its link dropped an unacknowledged MO
        is expected again. ``part_key`` (``sms_delivery.part_key(secret)``) seals the parts
        of a concatenated MO while they wait for the others.
        """
        stamp = self._instant(now)
        since = self._instant(now - dedupe_window)
        inbox_ids: list[int] = []
        redeliveries = [] if redeliveries is None else redeliveries
        known = len(redeliveries)
        for event in events:
            if isinstance(event, Submitted):
                self._submitted(event, stamp, now)
            elif isinstance(event, SendFailed):
                self._send_failed(event, stamp)
            elif isinstance(event, DeliveryReport):
                self._receipt(event, stamp)
            elif isinstance(event, Unacknowledged):
                self._unacknowledged(event, stamp, since)
            else:
                if event.reference is not None:
                    made = self._segment(event, stamp, since, now, decode, part_key)
                else:
                    new_id = self._whole(event.source, event.destination, decode(event.data, event.data_coding),
                                         event.data_coding, event.digest, stamp, since, redeliveries)
                    made = [] if new_id is None else [new_id]
                inbox_ids.extend(made)
                if senders is not None:
                    senders.update(dict.fromkeys(made, event.source))
        # A redelivery is not answered; it is named too, so that only its own place expects it again.
        self._answer_by(inbox_ids + [inbox_id for inbox_id, _ in redeliveries[known:]], identity, now)
        return inbox_ids

    def purge(self, now: datetime, *, decode: Decode, part_key: bytes, identity: str | None) -> Purged:
        """End MO assemblies older than ``ASSEMBLY_WINDOW`` and drop unclaimed early receipts.

        An assembly that never completed becomes an inbox row marked incomplete,
        to be answered like any new row (returned in ``Purged.inbox``), by ``identity``;
        ``decode`` and ``part_key`` as for ``apply``.
        """
        since = self._instant(now)  # a given-up assembly's digest is its own: nothing to de-duplicate
        stale = self._run("SELECT DISTINCT assembly, source FROM sms_segments WHERE received_at < ?",
                          (self._instant(now - ASSEMBLY_WINDOW),)).fetchall()
        segments = 0
        made: dict[int, str] = {}
        for row in stale:
            segments += int(self._scalar("SELECT count(*) FROM sms_segments WHERE assembly = ?",
                                         (row["assembly"],)))
            for inbox_id in self._give_up(row["assembly"], since, decode, part_key):
                made[inbox_id] = row["source"]
        receipts = self._run("DELETE FROM sms_receipts_early WHERE received_at < ?",
                             (self._instant(now - EARLY_RECEIPT_TTL),)).rowcount
        self._answer_by(list(made), identity, now)
        return Purged(segments, receipts, made)

    def purge_texts(self, now: datetime, retention: timedelta) -> int:
        """Empty the text of MO answered more than ``retention`` ago; returns how many.

        The row stays: it is the record that a message came and was answered.
        A row still ``received`` keeps its text whatever its age (it is still to
        be answered). The condition matches the partial index of migration 6.
        """
        return int(self._run(
            "UPDATE sms_inbox SET text = '' WHERE text <> '' AND status <> 'received' AND handled_at < ?",
            (self._instant(now - retention),),
        ).rowcount)

    # --- the router's side --------------------------------------------------------

    def unhandled(self, limit: int) -> list[int]:
        return [r["id"] for r in self._run(
            "SELECT id FROM sms_inbox WHERE status = 'received' ORDER BY id LIMIT ?", (limit,)).fetchall()]

    def adopt(self, now: datetime, identity: str | None, limit: int, *, starting: bool) -> list[int]:
        """Unanswered rows no live process is answering, now ``identity``'s to answer; their ids.

        Those are rows nobody was named for, rows whose claim has passed and,
        when ``starting``, rows an earlier run in ``identity``'s place stored
        (it died before answering them). Without ``identity`` (a process alone
        on its database) every unanswered row is taken at start. Rows another
        process is adopting meanwhile are passed over (``_claiming``).
        """
        if identity is None:
            return self.unhandled(limit) if starting else []
        earlier, params = "", [self._instant(now), limit]
        if starting:
            earlier = f" OR ({self._starts_with('received_by')} AND received_by <> ?)"
            params = [self._instant(now), place_of(identity) + "#", identity, limit]
        ids = [r["id"] for r in self._run(
            "SELECT id FROM sms_inbox WHERE status = 'received' AND (received_by IS NULL OR lease_until <= ?"
            + earlier + ") ORDER BY id LIMIT ?" + self._claiming, params,
        ).fetchall()]
        self._answer_by(ids, identity, now)
        return ids

    def messages(self, inbox_ids: Sequence[int]) -> dict[int, InboxMessage]:
        """Inbox rows by id, a few statements for any batch."""
        found: dict[int, InboxMessage] = {}
        for among, ids in self._among(inbox_ids):
            for row in self._run("SELECT id, source, destination, text, status, digest, incomplete FROM sms_inbox "
                                 f"WHERE id {among}", ids).fetchall():
                found[row["id"]] = InboxMessage(row["id"], row["source"], row["destination"], row["text"],
                                                row["status"], row["digest"], bool(row["incomplete"]))
        return found

    def mark_many(self, outcomes: Sequence[tuple[int, str, str | None]], now: datetime) -> None:
        """Rows answered: (inbox id, status, error) each."""
        stamp = self._instant(now)
        self._many("UPDATE sms_inbox SET status = ?, handled_at = ?, error = ? WHERE id = ?",
                   [(status, stamp, error, inbox_id) for inbox_id, status, error in outcomes])
