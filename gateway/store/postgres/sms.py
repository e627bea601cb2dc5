"""SMS delivery on PostgreSQL: the outbox and inbox repositories of the port.

The same rules as ``gateway.store.sms`` (read its docstring for the states,
leases and redeliveries); only the SQL differs. Where SQLite's single
writer makes a select and its update one step, here the rows are taken
``FOR UPDATE SKIP LOCKED``: concurrent claimants on other processes or
hosts each get rows of their own, and never wait for each other.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from gateway.domain.secrets import keystream_xor
from gateway.store.port import (
    FINAL_STATES,
    INBOX_LEASE,
    OUTBOX_KINDS,
    OUTBOX_STATES,
    DeliveryReport,
    Event,
    InboundSms,
    InboxMessage,
    OutboxFigures,
    OutboxRow,
    OutgoingSms,
    Purged,
    SendFailed,
    Submitted,
    Unacknowledged,
    place_of,
)
from gateway.store.postgres.uow import Row, Sql, _Bound
from gateway.store.sms import (
    ASSEMBLY_WINDOW,
    EARLY_RECEIPT_MATCH,
    EARLY_RECEIPT_TTL,
    KIND_PRIORITY,
    LIVE_STATES,
    digest,
)

_ENQUEUE = (
    "INSERT INTO sms_outbox (source, destination, text, kind, status, attempts, next_attempt_at, created_at, "
    "updated_at, dedupe_key, campaign_id) VALUES (%s, %s, %s, %s, 'queued', 0, %s, %s, %s, %s, %s) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
)


class PgOutbox(_Bound):
    __slots__ = ()

    def enqueue(self, sms: OutgoingSms, now: datetime) -> int | None:
        found = self._sql.scalar(_ENQUEUE, (sms.source, sms.destination, sms.text, sms.kind, now, now, now,
                                            sms.dedupe_key, sms.campaign_id))
        return None if found is None else int(found)

    def enqueue_many(self, messages: list[OutgoingSms], now: datetime) -> int:
        """Queue ``messages`` in one statement; how many were new."""
        if not messages:
            return 0
        return self._sql.execute(
            "INSERT INTO sms_outbox (source, destination, text, kind, status, attempts, next_attempt_at, "
            "created_at, updated_at, dedupe_key, campaign_id) SELECT m.source, m.destination, m.text, m.kind, "
            "'queued', 0, %(now)s, %(now)s, %(now)s, m.dedupe_key, m.campaign_id FROM unnest(%(source)s::text[], "
            "%(destination)s::text[], %(text)s::text[], %(kind)s::text[], %(dedupe)s::text[], "
            "%(campaign)s::bigint[]) AS m(source, destination, text, kind, dedupe_key, campaign_id) "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            {"now": now, "source": [m.source for m in messages], "destination": [m.destination for m in messages],
             "text": [m.text for m in messages], "kind": [m.kind for m in messages],
             "dedupe": [m.dedupe_key for m in messages], "campaign": [m.campaign_id for m in messages]},
        ).rowcount

    def skipped(self, sms: OutgoingSms, now: datetime, reason: str) -> None:
        self._sql.execute(
            "INSERT INTO sms_outbox (source, destination, text, kind, status, attempts, next_attempt_at, "
            "created_at, updated_at, error, campaign_id) VALUES (%s, %s, %s, %s, 'skipped', 0, %s, %s, %s, %s, %s)",
            (sms.source, sms.destination, sms.text, sms.kind, now, now, now, reason, sms.campaign_id),
        )

    def claim_due(self, now: datetime, limit: int, *, identity: str | None,
                  lease: timedelta) -> list[OutboxRow]:
        """As ``gateway.store.sms.claim_due``; rows another claimant holds are passed over."""
        until = now + lease
        claimed: list[OutboxRow] = []
        skipped: list[int] = []
        for r in self._sql.execute(
            "SELECT id, source, destination, text, kind, attempts FROM sms_outbox WHERE status = 'sending' "
            "AND (lease_until IS NULL OR lease_until <= %s) ORDER BY lease_until NULLS FIRST LIMIT %s "
            "FOR UPDATE SKIP LOCKED", (now, limit),
        ):
            claimed.append(_row(r, identity, until))
        for kind in KIND_PRIORITY:
            room = limit - len(claimed)
            if room <= 0:
                break
            for r in self._sql.execute(
                "SELECT id, source, destination, text, kind, attempts FROM sms_outbox "
                "WHERE status = 'queued' AND kind = %s AND next_attempt_at <= %s "
                "ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED", (kind, now, room),
            ):
                if kind == "marketing" and not self._opted_in(r["destination"]):
                    skipped.append(r["id"])
                    continue
                claimed.append(_row(r, identity, until))
        if claimed:
            self._sql.execute(
                "UPDATE sms_outbox SET status = 'sending', claimed_by = %s, lease_until = %s, updated_at = %s "
                "WHERE id = ANY(%s)", (identity, until, now, [row.id for row in claimed]),
            )
        if skipped:
            self._sql.execute("UPDATE sms_outbox SET status = 'skipped', error = 'opted out', updated_at = %s "
                              "WHERE id = ANY(%s)", (now, skipped))
        return claimed

    def _opted_in(self, msisdn: str) -> bool:
        return bool(self._sql.scalar(
            "SELECT marketing_opt_in FROM subscribers WHERE msisdn = %s AND status = 'live'", (msisdn,)
        ))

    def recover(self, now: datetime, identity: str | None) -> int:
        if identity is None:
            return self._sql.execute("UPDATE sms_outbox SET status = 'queued', claimed_by = NULL, "
                                     "lease_until = NULL WHERE status = 'sending'").rowcount
        return self._sql.execute(
            "UPDATE sms_outbox SET status = 'queued', claimed_by = NULL, lease_until = NULL "
            "WHERE status = 'sending' AND (lease_until IS NULL OR lease_until <= %s "
            "OR (starts_with(claimed_by, %s) AND claimed_by <> %s))",
            (now, place_of(identity) + "#", identity),
        ).rowcount

    def add_campaign(self, text: str, now: datetime, channel: str) -> int:
        return int(self._sql.scalar("INSERT INTO campaigns (text, created_at, channel) VALUES (%s, %s, %s) "
                                    "RETURNING id", (text, now, channel)))

    def figures(self, receipts_before: datetime) -> OutboxFigures:
        """As ``gateway.store.sms.outbox_figures``, on the same (status, kind, next_attempt_at) index."""
        live = {(kind, status): 0 for kind in OUTBOX_KINDS for status in LIVE_STATES}
        for row in self._sql.execute("SELECT kind, status, count(*) AS n FROM sms_outbox WHERE status = ANY(%s) "
                                     "GROUP BY status, kind", (list(LIVE_STATES),)):
            live[row["kind"], row["status"]] = int(row["n"])
        oldest: dict[str, datetime] = {}
        for kind in {kind for kind, status in live if status == "queued" and live[kind, status]}:
            first = self._sql.scalar("SELECT min(next_attempt_at) FROM sms_outbox WHERE status = 'queued' "
                                     "AND kind = %s", (kind,))
            if isinstance(first, datetime):
                oldest[kind] = first
        overdue = dict.fromkeys(OUTBOX_KINDS, 0)
        for row in self._sql.execute("SELECT kind, count(*) AS n FROM sms_outbox WHERE status = 'submitted' "
                                     "AND submitted_at < %s GROUP BY kind", (receipts_before,)):
            overdue[row["kind"]] = int(row["n"])
        marketing = dict.fromkeys(OUTBOX_STATES, 0)
        for row in self._sql.execute("SELECT status, count(*) AS n FROM sms_outbox WHERE status = ANY(%s) "
                                     "AND kind = 'marketing' GROUP BY status", (list(OUTBOX_STATES),)):
            marketing[row["status"]] = int(row["n"])
        return OutboxFigures(live, oldest, overdue, marketing)


def _row(r: Row, identity: str | None, until: datetime) -> OutboxRow:
    return OutboxRow(r["id"], r["source"], r["destination"], r["text"], r["kind"], r["attempts"], identity, until)


class PgInbox(_Bound):
    __slots__ = ()

    def apply(self, events: Sequence[Event], now: datetime, *, decode: Callable[[bytes, int], str],
              dedupe_window: timedelta, part_key: bytes, senders: dict[int, str] | None = None,
              redeliveries: list[tuple[int, int]] | None = None, identity: str | None = None) -> list[int]:
        """As ``gateway.store.sms.apply``: a batch of events in arrival order, in the caller's transaction."""
        sql = self._sql
        since = now - dedupe_window
        inbox_ids: list[int] = []
        redeliveries = [] if redeliveries is None else redeliveries
        known = len(redeliveries)
        for event in events:
            if isinstance(event, Submitted):
                _submitted(sql, event, now)
            elif isinstance(event, SendFailed):
                _send_failed(sql, event, now)
            elif isinstance(event, DeliveryReport):
                _receipt(sql, event, now)
            elif isinstance(event, Unacknowledged):
                _unacknowledged(sql, event, now, since)
            elif event.reference is None:
                new_id = _inbound(sql, event.source, event.destination, decode(event.data, event.data_coding),
                                  event.data_coding, event.digest, now, since, redeliveries)
                if new_id is not None:
                    inbox_ids.append(new_id)
                    if senders is not None:
                        senders[new_id] = event.source
            else:
                for new_id in _segment(sql, event, now, since, decode, part_key):
                    inbox_ids.append(new_id)
                    if senders is not None:
                        senders[new_id] = event.source
        _answer_by(sql, inbox_ids + [inbox_id for inbox_id, _ in redeliveries[known:]], identity, now)
        return inbox_ids

    def settle(self, inbox_ids: Sequence[int]) -> None:
        _settle(self._sql, inbox_ids)

    def expect_unsettled(self, now: datetime, identity: str | None) -> int:
        query = ("SELECT id, digest, COALESCE(redelivery_of, id) AS first FROM sms_inbox "
                 "WHERE pending_ack IS NOT NULL")
        if identity is None:
            rows = self._sql.execute(query).fetchall()
        else:
            rows = self._sql.execute(query + " AND (received_by IS NULL OR starts_with(received_by, %s))",
                                     (place_of(identity) + "#",)).fetchall()
        _expect(self._sql, [(r["digest"], r["first"]) for r in rows if r["digest"] is not None], now)
        _settle(self._sql, [r["id"] for r in rows])
        return len(rows)

    def purge(self, now: datetime, *, decode: Callable[[bytes, int], str], part_key: bytes,
              identity: str | None) -> Purged:
        sql = self._sql
        stale = sql.execute("SELECT DISTINCT assembly, source FROM sms_segments WHERE received_at < %s",
                            (now - ASSEMBLY_WINDOW,)).fetchall()
        segments = 0
        made: dict[int, str] = {}
        for row in stale:
            segments += int(sql.scalar("SELECT count(*) FROM sms_segments WHERE assembly = %s",
                                       (row["assembly"],)))
            for inbox_id in _give_up(sql, row["assembly"], now, decode, part_key):
                made[inbox_id] = row["source"]
        receipts = sql.execute("DELETE FROM sms_receipts_early WHERE received_at < %s",
                               (now - EARLY_RECEIPT_TTL,)).rowcount
        _answer_by(sql, list(made), identity, now)
        return Purged(segments, receipts, made)

    def purge_texts(self, now: datetime, retention: timedelta) -> int:
        return self._sql.execute(
            "UPDATE sms_inbox SET text = '' WHERE text <> '' AND status <> 'received' AND handled_at < %s",
            (now - retention,),
        ).rowcount

    def unhandled(self, limit: int) -> list[int]:
        return [r["id"] for r in self._sql.execute(
            "SELECT id FROM sms_inbox WHERE status = 'received' ORDER BY id LIMIT %s", (limit,))]

    def adopt(self, now: datetime, identity: str | None, limit: int, *, starting: bool) -> list[int]:
        """As ``gateway.store.sms.adopt_inbox``; rows another process is adopting are passed over."""
        if identity is None:
            return self.unhandled(limit) if starting else []
        ids = [r["id"] for r in self._sql.execute(
            "SELECT id FROM sms_inbox WHERE status = 'received' AND (received_by IS NULL OR lease_until <= %s "
            "OR (%s AND starts_with(received_by, %s) AND received_by <> %s)) ORDER BY id LIMIT %s "
            "FOR UPDATE SKIP LOCKED", (now, starting, place_of(identity) + "#", identity, limit),
        )]
        _answer_by(self._sql, ids, identity, now)
        return ids

    def messages(self, inbox_ids: Sequence[int]) -> dict[int, InboxMessage]:
        return {
            row["id"]: InboxMessage(row["id"], row["source"], row["destination"], row["text"], row["status"],
                                    row["digest"], bool(row["incomplete"]))
            for row in self._sql.execute(
                "SELECT id, source, destination, text, status, digest, incomplete FROM sms_inbox "
                "WHERE id = ANY(%s)", (list(inbox_ids),),
            )
        }

    def mark_many(self, outcomes: Sequence[tuple[int, str, str | None]], now: datetime) -> None:
        self._sql.executemany("UPDATE sms_inbox SET status = %s, handled_at = %s, error = %s WHERE id = %s",
                              [(status, now, error, inbox_id) for inbox_id, status, error in outcomes])

    def mark(self, inbox_id: int, status: str, now: datetime, error: str | None = None) -> None:
        self._sql.execute("UPDATE sms_inbox SET status = %s, handled_at = %s, error = %s WHERE id = %s",
                          (status, now, error, inbox_id))


def _answer_by(sql: Sql, inbox_ids: Sequence[int], identity: str | None, now: datetime) -> None:
    if identity is None or not inbox_ids:
        return
    sql.execute("UPDATE sms_inbox SET received_by = %s, lease_until = %s WHERE id = ANY(%s)",
                (identity, now + INBOX_LEASE, list(inbox_ids)))


def _settle(sql: Sql, inbox_ids: Sequence[int]) -> None:
    if inbox_ids:
        sql.execute("UPDATE sms_inbox SET pending_ack = NULL WHERE id = ANY(%s)", (list(inbox_ids),))


def _inbound(sql: Sql, source: str, destination: str, text: str, data_coding: int, digest_: str,
             stamp: datetime, since: datetime, redeliveries: list[tuple[int, int]] | None = None, *,
             incomplete: bool = False) -> int | None:
    """As ``gateway.store.sms._inbound``: one whole MO; None when it is an expected redelivery."""
    expected = sql.execute(
        "SELECT id, inbox_id FROM sms_redeliverable WHERE digest = %s AND recorded_at >= %s ORDER BY id LIMIT 1",
        (digest_, since),
    ).fetchone()
    if expected is not None:
        sql.execute("DELETE FROM sms_redeliverable WHERE id = %s", (expected["id"],))
    first = None if expected is None else expected["inbox_id"]
    new_id = int(sql.scalar(
        "INSERT INTO sms_inbox (source, destination, text, data_coding, received_at, status, digest, "
        "handled_at, redelivery_of, pending_ack, incomplete) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "RETURNING id",
        (source, destination, text, data_coding, stamp, "received" if first is None else "redelivered",
         digest_, None if first is None else stamp, first, None if incomplete else 1, int(incomplete)),
    ))
    if first is None:
        return new_id
    if redeliveries is not None:
        redeliveries.append((new_id, first))
    return None


def _unacknowledged(sql: Sql, event: Unacknowledged, now: datetime, since: datetime) -> None:
    sql.execute("DELETE FROM sms_redeliverable WHERE recorded_at < %s", (since,))
    for digest_, count in Counter(event.digests).items():
        rows = sql.execute(
            "SELECT id, COALESCE(redelivery_of, id) AS first FROM sms_inbox WHERE digest = %s "
            "ORDER BY id DESC LIMIT %s", (digest_, count),
        ).fetchall()
        _expect(sql, [(digest_, r["first"]) for r in rows], now)
        _settle(sql, [r["id"] for r in rows])


def _expect(sql: Sql, expected: Sequence[tuple[str, int]], now: datetime) -> None:
    sql.executemany("INSERT INTO sms_redeliverable (digest, inbox_id, recorded_at) VALUES (%s, %s, %s)",
                    [(digest_, inbox_id, now) for digest_, inbox_id in expected])


def _segment(sql: Sql, event: InboundSms, now: datetime, since: datetime, decode: Callable[[bytes, int], str],
             key: bytes) -> list[int]:
    """As ``gateway.store.sms._segment``: one part of a concatenated MO, sealed; the inbox ids it made."""
    parts_of = (event.source, event.destination, event.reference, event.total)
    latest = sql.scalar("SELECT max(assembly) FROM sms_segments WHERE source = %s AND destination = %s "
                        "AND reference = %s AND total = %s", parts_of)
    made: list[int] = []
    assembly: int | None = None
    if latest is not None:
        rows = sql.execute("SELECT seq, data, nonce, received_at FROM sms_segments WHERE assembly = %s",
                           (latest,)).fetchall()
        same = next((r for r in rows if r["seq"] == event.seq), None)
        fresh = min(r["received_at"] for r in rows) >= now - ASSEMBLY_WINDOW
        if fresh and same is not None and _opened(key, same) == event.data:
            return made  # a resent part
        if fresh and same is None:
            assembly = int(latest)
        else:
            made.extend(_give_up(sql, int(latest), since, decode, key))
    nonce = os.urandom(16)
    new_part = int(sql.scalar(
        "INSERT INTO sms_segments (source, destination, reference, total, seq, data, nonce, data_coding, "
        "received_at, assembly) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (*parts_of, event.seq, keystream_xor(key, nonce, event.data), nonce, event.data_coding, now, assembly),
    ))
    if assembly is None:
        assembly = new_part
        sql.execute("UPDATE sms_segments SET assembly = id WHERE id = %s", (assembly,))
    rows = sql.execute("SELECT seq, data, nonce, data_coding FROM sms_segments WHERE assembly = %s ORDER BY seq",
                       (assembly,)).fetchall()
    if len(rows) < event.total:
        return made
    data = b"".join(_opened(key, r) for r in rows)
    coding = rows[0]["data_coding"]
    whole = digest("assembly", event.digest)  # a label: no content, so no PIN to guess
    new_id = _inbound(sql, event.source, event.destination, decode(data, coding), coding, whole, now, since)
    sql.execute("UPDATE sms_segments SET inbox_id = %s WHERE assembly = %s", (new_id or 0, assembly))
    if new_id is not None:
        made.append(new_id)
    return made


def _opened(key: bytes, row: Row) -> bytes:
    nonce: bytes | None = row["nonce"]
    data = bytes(row["data"])
    return data if nonce is None else keystream_xor(key, bytes(nonce), data)


def _give_up(sql: Sql, assembly: int, since: datetime, decode: Callable[[bytes, int], str],
             key: bytes) -> list[int]:
    """As ``gateway.store.sms._give_up``: an incomplete assembly becomes an inbox row marked incomplete."""
    rows = sql.execute(
        "SELECT source, destination, reference, total, seq, data, nonce, data_coding, received_at, inbox_id "
        "FROM sms_segments WHERE assembly = %s ORDER BY seq", (assembly,),
    ).fetchall()
    sql.execute("DELETE FROM sms_segments WHERE assembly = %s", (assembly,))
    if not rows or rows[0]["inbox_id"] is not None:
        return []
    first = rows[0]
    data = b"".join(_opened(key, r) for r in rows)
    arrived = min(r["received_at"] for r in rows)
    whole = digest("incomplete", assembly)  # a label: no content, so no PIN to guess
    new_id = _inbound(sql, first["source"], first["destination"], decode(data, first["data_coding"]),
                      first["data_coding"], whole, arrived, since, incomplete=True)
    return [] if new_id is None else [new_id]


def _still_claimed(claim: str | None) -> str:
    """The condition that a row is still under the claim an outcome reports (None: any state)."""
    return "" if claim is None else " AND status = 'sending' AND claimed_by = %(claim)s"


def _submitted(sql: Sql, event: Submitted, now: datetime) -> None:
    applied = sql.execute(
        "UPDATE sms_outbox SET status = 'submitted', smsc_message_id = %(mid)s, smsc = %(smsc)s, "
        "submitted_at = %(at)s, attempts = attempts + 1, error = NULL, lease_until = NULL, updated_at = %(at)s "
        "WHERE id = %(id)s" + _still_claimed(event.claim),
        {"mid": event.message_ids[0], "smsc": event.smsc, "at": now, "id": event.outbox_id, "claim": event.claim},
    ).rowcount
    if not applied:
        return  # taken over by another process after the lease: its send is the one recorded
    if len(event.message_ids) > 1:
        sql.execute("DELETE FROM sms_outbox_parts WHERE outbox_id = %s", (event.outbox_id,))
        sql.executemany(
            "INSERT INTO sms_outbox_parts (smsc, smsc_message_id, outbox_id, part, status) "
            "VALUES (%s, %s, %s, %s, 'submitted')",
            [(event.smsc, mid, event.outbox_id, i + 1) for i, mid in enumerate(event.message_ids)],
        )
    since = now - EARLY_RECEIPT_MATCH
    for mid in event.message_ids:
        early = sql.execute(
            "SELECT stat, received_at FROM sms_receipts_early WHERE smsc_message_id = %s "
            "AND (smsc = %s OR smsc IS NULL) ORDER BY id DESC LIMIT 1", (mid, event.smsc),
        ).fetchone()
        if early is not None:
            sql.execute("DELETE FROM sms_receipts_early WHERE smsc_message_id = %s AND (smsc = %s OR smsc IS NULL)",
                        (mid, event.smsc))
            if early["received_at"] >= since:
                _receipt(sql, DeliveryReport(mid, early["stat"], event.smsc), now)


def _send_failed(sql: Sql, event: SendFailed, now: datetime) -> None:
    values = {"bump": 1 if event.count_attempt else 0, "error": event.error, "at": now, "id": event.outbox_id,
              "claim": event.claim, "retry": event.retry_at}
    if event.retry_at is None:
        sql.execute("UPDATE sms_outbox SET status = 'failed', attempts = attempts + %(bump)s, error = %(error)s, "
                    "lease_until = NULL, updated_at = %(at)s WHERE id = %(id)s" + _still_claimed(event.claim),
                    values)
    else:
        sql.execute("UPDATE sms_outbox SET status = 'queued', attempts = attempts + %(bump)s, error = %(error)s, "
                    "next_attempt_at = %(retry)s, claimed_by = NULL, lease_until = NULL, updated_at = %(at)s "
                    "WHERE id = %(id)s" + _still_claimed(event.claim), values)


def _receipt(sql: Sql, event: DeliveryReport, now: datetime) -> None:
    """As ``gateway.store.sms._receipt``: the newest open message (or part) with that id on that SMSC."""
    final = FINAL_STATES.get(event.stat)
    if final is None:
        return  # ENROUTE, ACCEPTD, UNKNOWN: not final
    target = sql.execute(
        "SELECT o.id AS outbox_id, p.id AS part_id, o.submitted_at AS at FROM sms_outbox_parts p "
        "JOIN sms_outbox o ON o.id = p.outbox_id WHERE p.smsc_message_id = %(mid)s "
        "AND (p.smsc = %(smsc)s OR p.smsc IS NULL) AND p.status = 'submitted' "
        "UNION ALL "
        "SELECT o.id, NULL::bigint, o.submitted_at FROM sms_outbox o WHERE o.smsc_message_id = %(mid)s "
        "AND (o.smsc = %(smsc)s OR o.smsc IS NULL) AND o.status IN ('submitted', 'sending') "
        "AND NOT EXISTS (SELECT 1 FROM sms_outbox_parts q WHERE q.outbox_id = o.id) "
        "ORDER BY at DESC NULLS LAST, outbox_id DESC LIMIT 1",
        {"mid": event.message_id, "smsc": event.smsc},
    ).fetchone()
    if target is None:
        sql.execute("DELETE FROM sms_receipts_early WHERE smsc_message_id = %s AND smsc = %s",
                    (event.message_id, event.smsc))
        sql.execute("INSERT INTO sms_receipts_early (smsc, smsc_message_id, stat, received_at) "
                    "VALUES (%s, %s, %s, %s)", (event.smsc, event.message_id, event.stat, now))
        return
    outbox_id = target["outbox_id"]
    if target["part_id"] is None:
        sql.execute("UPDATE sms_outbox SET status = %s, receipt_stat = %s, receipt_at = %s, updated_at = %s "
                    "WHERE id = %s", (final, event.stat, now, now, outbox_id))
        return
    sql.execute("UPDATE sms_outbox_parts SET status = %s, receipt_stat = %s, receipt_at = %s WHERE id = %s",
                (final, event.stat, now, target["part_id"]))
    status: str | None = final
    if final == "delivered":
        left = int(sql.scalar("SELECT count(*) FROM sms_outbox_parts WHERE outbox_id = %s AND status <> 'delivered'",
                              (outbox_id,)))
        status = "delivered" if left == 0 else None
    if status is not None:
        sql.execute("UPDATE sms_outbox SET status = %s, receipt_stat = %s, receipt_at = %s, updated_at = %s "
                    "WHERE id = %s AND status = 'submitted'", (status, event.stat, now, now, outbox_id))
