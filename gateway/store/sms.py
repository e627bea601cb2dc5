"""The SQL of SMS delivery: outbox claims and outcomes, inbox, receipts.

Everything here runs off the event loop and is batched: the SMPP adapters
collect what happened on the wire (an MO arrived, a submit was answered, a
receipt came back) and ``apply`` writes a whole batch in one transaction, in
arrival order, so one fsync covers hundreds of PDUs and a receipt is never
applied before the message id it names was recorded.

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
answer (``received_by``) until ``INBOX_LEASE`` has passed; ``adopt_inbox``
gives another process the rows still unanswered after that (and, at start,
those of an earlier run in its own place), so the MO a dead process had
stored are answered once, by someone else.

Inbox states: ``received`` → ``handled`` | ``failed``; ``redelivered`` (the
SMSC's second copy of an unacknowledged PDU, ``redelivery_of`` the first row:
stored, never answered; see ``_inbound``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from gateway.domain.secrets import keystream_xor
from gateway.store.db import iso
from gateway.store.port import (
    DEFAULT_LEASE as DEFAULT_LEASE,
)
from gateway.store.port import (
    FINAL_STATES as FINAL_STATES,
)
from gateway.store.port import (
    INBOX_LEASE as INBOX_LEASE,
)
from gateway.store.port import (
    LIVE_OUTBOX_STATES,
    OUTBOX_KINDS,
    OUTBOX_STATES,
    OutboxFigures,
)
from gateway.store.port import (
    DeliveryReport as DeliveryReport,
)
from gateway.store.port import (
    Event as Event,
)
from gateway.store.port import (
    InboundSms as InboundSms,
)
from gateway.store.port import (
    OutboxRow as OutboxRow,
)
from gateway.store.port import (
    Purged as Purged,
)
from gateway.store.port import (
    SendFailed as SendFailed,
)
from gateway.store.port import (
    Submitted as Submitted,
)
from gateway.store.port import (
    Unacknowledged as Unacknowledged,
)
from gateway.store.port import (
    claimant as claimant,
)
from gateway.store.port import (
    place_of as place_of,
)

#: Kinds in the order the sender takes them.
KIND_PRIORITY = OUTBOX_KINDS

def digest(*parts: bytes | str | int) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def apply(
    conn: sqlite3.Connection,
    events: Sequence[Event],
    now: datetime,
    *,
    decode: Callable[[bytes, int], str],
    dedupe_window: timedelta,
    part_key: bytes,
    senders: dict[int, str] | None = None,
    redeliveries: list[tuple[int, int]] | None = None,
    identity: str | None = None,
) -> list[int]:
    """Write a batch of events (inside the caller's transaction); returns new inbox ids to answer.

    ``identity``: the process that will answer the new rows (``claimant``);
    None leaves them to whichever process looks next (``adopt_inbox``).

    ``senders``, when given, receives each new inbox id's source address;
    ``redeliveries`` (inbox id, id of the row it repeats) for each MO saved as
    the SMSC's redelivery (not returned: it is not answered again).
    ``dedupe_window``: how long after its link dropped an unacknowledged MO
    is expected again. ``part_key`` (``sms_delivery.part_key(secret)``) seals the parts
    of a concatenated MO while they wait for the others.
    """
    stamp = iso(now)
    since = iso(now - dedupe_window)
    inbox_ids: list[int] = []
    redeliveries = [] if redeliveries is None else redeliveries
    known = len(redeliveries)
    for event in events:
        if isinstance(event, Submitted):
            _submitted(conn, event, stamp, now)
        elif isinstance(event, SendFailed):
            _send_failed(conn, event, stamp)
        elif isinstance(event, DeliveryReport):
            _receipt(conn, event, stamp)
        elif isinstance(event, Unacknowledged):
            _unacknowledged(conn, event, stamp, since)
        elif event.reference is None:
            new_id = _inbound(conn, event.source, event.destination, decode(event.data, event.data_coding),
                              event.data_coding, event.digest, stamp, since, redeliveries)
            if new_id is not None:
                inbox_ids.append(new_id)
                if senders is not None:
                    senders[new_id] = event.source
        else:
            for new_id in _segment(conn, event, stamp, since, now, decode, part_key):
                inbox_ids.append(new_id)
                if senders is not None:
                    senders[new_id] = event.source
    # A redelivery is not answered; it is named too, so that only its own place expects it again.
    _answer_by(conn, inbox_ids + [inbox_id for inbox_id, _ in redeliveries[known:]], identity, now)
    return inbox_ids




def _answer_by(conn: sqlite3.Connection, inbox_ids: Sequence[int], identity: str | None, now: datetime) -> None:
    if identity is None or not inbox_ids:
        return
    until = iso(now + INBOX_LEASE)
    conn.executemany("UPDATE sms_inbox SET received_by = ?, lease_until = ? WHERE id = ?",
                     [(identity, until, inbox_id) for inbox_id in inbox_ids])


def _inbound(conn: sqlite3.Connection, source: str, destination: str, text: str, data_coding: int,
             digest_: str, stamp: str | None, since: str | None,
             redeliveries: list[tuple[int, int]] | None = None, *, incomplete: bool = False) -> int | None:
    """Save one whole MO; its inbox id, or None when it is a redelivery (saved, not to be answered).

    The same text again is a new message (a subscriber may send BAL twice).
    Only a PDU left unacknowledged on a dropped link (``sms_redeliverable``,
    since ``since``) is taken for the SMSC's second copy of it, once.
    """
    expected = conn.execute(
        "SELECT id, inbox_id FROM sms_redeliverable WHERE digest = ? AND recorded_at >= ? ORDER BY id LIMIT 1",
        (digest_, since),
    ).fetchone()
    if expected is not None:
        conn.execute("DELETE FROM sms_redeliverable WHERE id = ?", (expected["id"],))
    first = None if expected is None else expected["inbox_id"]
    cur = conn.execute(
        "INSERT INTO sms_inbox (source, destination, text, data_coding, received_at, status, digest, "
        "handled_at, redelivery_of, pending_ack, incomplete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (source, destination, text, data_coding, stamp, "received" if first is None else "redelivered",
         digest_, None if first is None else stamp, first, None if incomplete else 1, int(incomplete)),
    )
    if first is None:
        return cur.lastrowid
    if redeliveries is not None and cur.lastrowid is not None:
        redeliveries.append((cur.lastrowid, first))
    return None


def _unacknowledged(conn: sqlite3.Connection, event: Unacknowledged, stamp: str | None,
                    since: str | None) -> None:
    """Expect the SMSC's second copy of each MO in ``event``: the newest rows saved with its digest."""
    conn.execute("DELETE FROM sms_redeliverable WHERE recorded_at < ?", (since,))
    for digest_, count in Counter(event.digests).items():
        rows = conn.execute(
            "SELECT id, COALESCE(redelivery_of, id) AS first FROM sms_inbox WHERE digest = ? "
            "ORDER BY id DESC LIMIT ?", (digest_, count),
        ).fetchall()  # none for a part of a concatenated MO still incomplete
        _expect(conn, [(digest_, r["first"]) for r in rows], stamp)
        settle(conn, [r["id"] for r in rows])


def _expect(conn: sqlite3.Connection, expected: Sequence[tuple[str, int]], stamp: str | None) -> None:
    conn.executemany(
        "INSERT INTO sms_redeliverable (digest, inbox_id, recorded_at) VALUES (?, ?, ?)",
        [(digest_, inbox_id, stamp) for digest_, inbox_id in expected],
    )


def settle(conn: sqlite3.Connection, inbox_ids: Sequence[int]) -> None:
    """These rows' deliver_sm_resp went to the link (or they are expected again already)."""
    ids = list(inbox_ids)
    for start in range(0, len(ids), 500):  # under SQLite's host-parameter limit
        chunk = ids[start:start + 500]
        conn.execute(f"UPDATE sms_inbox SET pending_ack = NULL WHERE id IN ({','.join('?' * len(chunk))})",
                     chunk)


def expect_unsettled(conn: sqlite3.Connection, now: datetime, identity: str | None = None) -> int:
    """At start: MO a stopped gateway saved but may not have acknowledged are expected again.

    Returns how many. The SMSC redelivers them on the next bind; each copy
    is then saved as a redelivery (within the window from ``now``). With
    ``identity``, only the rows an earlier run in its place saved (or rows
    nobody was named for): another live process is acknowledging its own.
    """
    if identity is None:
        rows = conn.execute(
            "SELECT id, digest, COALESCE(redelivery_of, id) AS first FROM sms_inbox WHERE pending_ack IS NOT NULL"
        ).fetchall()
    else:
        place = place_of(identity) + "#"
        rows = conn.execute(
            "SELECT id, digest, COALESCE(redelivery_of, id) AS first FROM sms_inbox WHERE pending_ack IS NOT NULL "
            "AND (received_by IS NULL OR substr(received_by, 1, ?) = ?)", (len(place), place),
        ).fetchall()
    _expect(conn, [(r["digest"], r["first"]) for r in rows if r["digest"] is not None], iso(now))
    settle(conn, [r["id"] for r in rows])
    return len(rows)


def _segment(conn: sqlite3.Connection, event: InboundSms, stamp: str | None, since: str | None,
             now: datetime, decode: Callable[[bytes, int], str], key: bytes) -> list[int]:
    """Store one part of a concatenated MO; returns the inbox ids it made (whole or given up).

    A part joins the latest assembly of its (source, destination, reference,
    total) unless that assembly began more than ``ASSEMBLY_WINDOW`` ago or
    already holds a different part with this seq: then the 8-bit reference
    was reused by a new message, and the old assembly is given up (stored
    as incomplete if it never completed) before a new one starts. The same
    part again is a resend and is stored once. Parts of a whole message stay
    until the window ends, so a resent part does not start a new message.
    A part is stored sealed under ``key`` and a nonce of its own (``_opened``).
    """
    parts_of = (event.source, event.destination, event.reference, event.total)
    latest = conn.execute(
        "SELECT max(assembly) FROM sms_segments WHERE source = ? AND destination = ? AND reference = ? "
        "AND total = ?", parts_of,
    ).fetchone()[0]
    made: list[int] = []
    assembly: int | None = None
    if latest is not None:
        rows = conn.execute("SELECT seq, data, nonce, received_at FROM sms_segments WHERE assembly = ?",
                            (latest,)).fetchall()
        same = next((r for r in rows if r["seq"] == event.seq), None)
        fresh = min(r["received_at"] for r in rows) >= iso(now - ASSEMBLY_WINDOW)
        if fresh and same is not None and _opened(key, same) == event.data:
            return made  # a resent part
        if fresh and same is None:
            assembly = latest
        else:
            made.extend(_give_up(conn, latest, since, decode, key))
    nonce = os.urandom(16)
    cur = conn.execute(
        "INSERT INTO sms_segments (source, destination, reference, total, seq, data, nonce, data_coding, "
        "received_at, assembly) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*parts_of, event.seq, keystream_xor(key, nonce, event.data), nonce, event.data_coding, stamp,
         assembly),
    )
    if assembly is None:
        assembly = cur.lastrowid
        conn.execute("UPDATE sms_segments SET assembly = id WHERE id = ?", (assembly,))
    rows = conn.execute("SELECT seq, data, nonce, data_coding FROM sms_segments WHERE assembly = ? "
                        "ORDER BY seq", (assembly,)).fetchall()
    if len(rows) < event.total:
        return made
    data = b"".join(_opened(key, r) for r in rows)
    coding = rows[0]["data_coding"]
    whole = digest("assembly", event.digest)  # a label: no content, so no PIN to guess
    new_id = _inbound(conn, event.source, event.destination, decode(data, coding), coding, whole,
                      stamp, since)
    conn.execute("UPDATE sms_segments SET inbox_id = ? WHERE assembly = ?", (new_id or 0, assembly))
    if new_id is not None:
        made.append(new_id)
    return made


def _opened(key: bytes, row: sqlite3.Row) -> bytes:
    """The bytes of a stored part (one saved before migration 9 has no nonce: kept as received)."""
    nonce: bytes | None = row["nonce"]
    data: bytes = row["data"]
    return data if nonce is None else keystream_xor(key, nonce, data)


def _give_up(conn: sqlite3.Connection, assembly: int, since: str | None,
             decode: Callable[[bytes, int], str], key: bytes) -> list[int]:
    """End an assembly: an incomplete one becomes an inbox row marked ``incomplete``; returns its id."""
    rows = conn.execute(
        "SELECT source, destination, reference, total, seq, data, nonce, data_coding, received_at, inbox_id "
        "FROM sms_segments WHERE assembly = ? ORDER BY seq", (assembly,),
    ).fetchall()
    conn.execute("DELETE FROM sms_segments WHERE assembly = ?", (assembly,))
    if not rows or rows[0]["inbox_id"] is not None:
        return []
    first = rows[0]
    data = b"".join(_opened(key, r) for r in rows)
    arrived = min(r["received_at"] for r in rows)
    whole = digest("incomplete", assembly)  # a label: no content, so no PIN to guess
    new_id = _inbound(conn, first["source"], first["destination"], decode(data, first["data_coding"]),
                      first["data_coding"], whole, arrived, since, incomplete=True)
    return [] if new_id is None else [new_id]


#: The condition that a row is still under the claim an outcome reports (``claim`` None: any state).
_STILL_CLAIMED = "AND (:claim IS NULL OR (status = 'sending' AND claimed_by = :claim))"


def _submitted(conn: sqlite3.Connection, event: Submitted, stamp: str | None, now: datetime) -> None:
    applied = conn.execute(
        "UPDATE sms_outbox SET status = 'submitted', smsc_message_id = :mid, smsc = :smsc, submitted_at = :at, "
        "attempts = attempts + 1, error = NULL, lease_until = NULL, updated_at = :at "
        f"WHERE id = :id {_STILL_CLAIMED}",
        {"mid": event.message_ids[0], "smsc": event.smsc, "at": stamp, "id": event.outbox_id,
         "claim": event.claim},
    ).rowcount
    if not applied:
        return  # taken over by another process after the lease: its send is the one recorded
    if len(event.message_ids) > 1:
        conn.execute("DELETE FROM sms_outbox_parts WHERE outbox_id = ?", (event.outbox_id,))
        conn.executemany(
            "INSERT INTO sms_outbox_parts (smsc, smsc_message_id, outbox_id, part, status) "
            "VALUES (?, ?, ?, ?, 'submitted')",
            [(event.smsc, mid, event.outbox_id, i + 1) for i, mid in enumerate(event.message_ids)],
        )
    # Receipts that overtook this response (kept by _receipt) apply now; older ones
    # with the same id are for an earlier message (the SMSC sent its receipt again).
    since = iso(now - EARLY_RECEIPT_MATCH)
    for mid in event.message_ids:
        early = conn.execute(
            "SELECT stat, received_at FROM sms_receipts_early WHERE smsc_message_id = ? "
            "AND (smsc = ? OR smsc IS NULL) ORDER BY id DESC LIMIT 1", (mid, event.smsc),
        ).fetchone()
        if early is not None:
            conn.execute("DELETE FROM sms_receipts_early WHERE smsc_message_id = ? "
                         "AND (smsc = ? OR smsc IS NULL)", (mid, event.smsc))
            if early["received_at"] >= since:
                _receipt(conn, DeliveryReport(mid, early["stat"], event.smsc), stamp)


def _send_failed(conn: sqlite3.Connection, event: SendFailed, stamp: str | None) -> None:
    values = {"bump": 1 if event.count_attempt else 0, "error": event.error, "at": stamp,
              "id": event.outbox_id, "claim": event.claim,
              "retry": None if event.retry_at is None else iso(event.retry_at)}
    if event.retry_at is None:
        conn.execute(
            "UPDATE sms_outbox SET status = 'failed', attempts = attempts + :bump, error = :error, "
            f"lease_until = NULL, updated_at = :at WHERE id = :id {_STILL_CLAIMED}", values,
        )
    else:
        conn.execute(
            "UPDATE sms_outbox SET status = 'queued', attempts = attempts + :bump, error = :error, "
            f"next_attempt_at = :retry, claimed_by = NULL, lease_until = NULL, updated_at = :at "
            f"WHERE id = :id {_STILL_CLAIMED}", values,
        )


def _receipt(conn: sqlite3.Connection, event: DeliveryReport, stamp: str | None) -> None:
    """Apply a final receipt to the newest open message (or part) with its id on its SMSC.

    SMSC message ids repeat (a restarted SMSC counts from 1 again), so a
    message already in a final state is never changed, and among the open
    ones the newest submitted wins. A receipt nothing open matches is kept
    for the submit_sm_resp it may have overtaken.
    """
    final = FINAL_STATES.get(event.stat)
    if final is None:
        return  # ENROUTE, ACCEPTD, UNKNOWN: not final
    target = conn.execute(
        "SELECT o.id AS outbox_id, p.id AS part_id, o.submitted_at AS at FROM sms_outbox_parts p "
        "JOIN sms_outbox o ON o.id = p.outbox_id WHERE p.smsc_message_id = :mid "
        "AND (p.smsc = :smsc OR p.smsc IS NULL) AND p.status = 'submitted' "
        "UNION ALL "
        "SELECT o.id, NULL, o.submitted_at FROM sms_outbox o WHERE o.smsc_message_id = :mid "
        "AND (o.smsc = :smsc OR o.smsc IS NULL) AND o.status IN ('submitted', 'sending') "
        "AND NOT EXISTS (SELECT 1 FROM sms_outbox_parts q WHERE q.outbox_id = o.id) "
        "ORDER BY at DESC, outbox_id DESC LIMIT 1",
        {"mid": event.message_id, "smsc": event.smsc},
    ).fetchone()
    if target is None:
        # Ahead of its submit_sm_resp (or for a message we never knew): keep it, once per id.
        conn.execute("DELETE FROM sms_receipts_early WHERE smsc_message_id = ? AND smsc = ?",
                     (event.message_id, event.smsc))
        conn.execute(
            "INSERT INTO sms_receipts_early (smsc, smsc_message_id, stat, received_at) VALUES (?, ?, ?, ?)",
            (event.smsc, event.message_id, event.stat, stamp),
        )
        return
    outbox_id = target["outbox_id"]
    if target["part_id"] is None:
        conn.execute("UPDATE sms_outbox SET status = ?, receipt_stat = ?, receipt_at = ?, updated_at = ? "
                     "WHERE id = ?", (final, event.stat, stamp, stamp, outbox_id))
        return
    conn.execute("UPDATE sms_outbox_parts SET status = ?, receipt_stat = ?, receipt_at = ? WHERE id = ?",
                 (final, event.stat, stamp, target["part_id"]))
    if final != "delivered":
        status: str | None = final
    else:
        left = conn.execute(
            "SELECT count(*) FROM sms_outbox_parts WHERE outbox_id = ? AND status <> 'delivered'",
            (outbox_id,),
        ).fetchone()[0]
        status = "delivered" if left == 0 else None
    if status is not None:
        conn.execute(
            "UPDATE sms_outbox SET status = ?, receipt_stat = ?, receipt_at = ?, updated_at = ? "
            "WHERE id = ? AND status = 'submitted'", (status, event.stat, stamp, stamp, outbox_id),
        )


# --- the sender's side --------------------------------------------------------




def claim_due(conn: sqlite3.Connection, now: datetime, limit: int, *, identity: str | None = None,
              lease: timedelta = DEFAULT_LEASE) -> list[OutboxRow]:
    """Take up to ``limit`` due rows for ``identity`` until ``now + lease``, marking them ``sending``.

    Due: rows ``sending`` whose lease has passed (their claimant died: they
    come first, they have waited longest), then ``queued`` rows whose time
    has come, replies first. Marketing to a number that has opted out (or
    is no live subscriber) is marked ``skipped`` here, at send time, whatever
    it was when queued. On SQLite the write transaction makes the select and
    the update one step; a server database takes the rows ``FOR UPDATE SKIP
    LOCKED``.
    """
    stamp = iso(now)
    claimed: list[OutboxRow] = []
    skipped: list[tuple[str | None, int]] = []
    for r in conn.execute(
        "SELECT id, source, destination, text, kind, attempts FROM sms_outbox "
        "WHERE status = 'sending' AND (lease_until IS NULL OR lease_until <= ?) ORDER BY lease_until LIMIT ?",
        (stamp, limit),
    ):
        claimed.append(OutboxRow(r["id"], r["source"], r["destination"], r["text"], r["kind"], r["attempts"],
                                 identity, now + lease))
    for kind in KIND_PRIORITY:
        room = limit - len(claimed)
        if room <= 0:
            break
        rows = conn.execute(
            "SELECT id, source, destination, text, kind, attempts FROM sms_outbox "
            "WHERE status = 'queued' AND kind = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at LIMIT ?", (kind, stamp, room),
        ).fetchall()
        for r in rows:
            if kind == "marketing" and not _opted_in(conn, r["destination"]):
                skipped.append((stamp, r["id"]))
                continue
            claimed.append(OutboxRow(r["id"], r["source"], r["destination"], r["text"], r["kind"],
                                     r["attempts"], identity, now + lease))
    until = iso(now + lease)
    conn.executemany(
        "UPDATE sms_outbox SET status = 'sending', claimed_by = ?, lease_until = ?, updated_at = ? WHERE id = ?",
        [(identity, until, stamp, row.id) for row in claimed],
    )
    conn.executemany(
        "UPDATE sms_outbox SET status = 'skipped', error = 'opted out', updated_at = ? WHERE id = ?",
        skipped,
    )
    return claimed


def _opted_in(conn: sqlite3.Connection, msisdn: str) -> bool:
    row = conn.execute(
        "SELECT marketing_opt_in FROM subscribers WHERE msisdn = ? AND status = 'live'", (msisdn,)
    ).fetchone()
    return bool(row and row["marketing_opt_in"])


def recover(conn: sqlite3.Connection, now: datetime, identity: str | None = None) -> int:
    """At start: rows whose claimant is gone go back to the queue; returns how many.

    Gone: the lease has passed, or the row was claimed by an earlier process
    in ``identity``'s place (``claimant``). Rows other live processes are
    sending are left to them. Without ``identity`` every ``sending`` row is
    taken for orphaned (a process alone on its database).
    """
    if identity is None:
        return conn.execute("UPDATE sms_outbox SET status = 'queued', claimed_by = NULL, lease_until = NULL "
                            "WHERE status = 'sending'").rowcount
    place = place_of(identity) + "#"
    return conn.execute(
        "UPDATE sms_outbox SET status = 'queued', claimed_by = NULL, lease_until = NULL "
        "WHERE status = 'sending' AND (lease_until IS NULL OR lease_until <= ? "
        "OR (substr(claimed_by, 1, ?) = ? AND claimed_by <> ?))",
        (iso(now), len(place), place, identity),
    ).rowcount


# --- maintenance ------------------------------------------------------------------

#: How far apart the parts of one concatenated MO may arrive. A phone sends all
#: parts within seconds; an SMSC that queued them while our link was down
#: delivers them together on the next bind. A part later than this belongs to
#: a new message that reused the 8-bit reference (phones count 256 and start
#: again, some from 0 after a restart), and an assembly still incomplete after
#: this long is given up: stored as incomplete and answered.
ASSEMBLY_WINDOW = timedelta(minutes=10)
#: Receipts no submit_sm_resp claimed within this long are dropped.
EARLY_RECEIPT_TTL = timedelta(hours=1)
#: A kept receipt applies to a message whose submit_sm_resp comes at most this long after it: a
#: receipt can overtake its response by the response timeout (seconds), while one that waited
#: longer is a resent receipt of an earlier message that had the same id.
EARLY_RECEIPT_MATCH = timedelta(minutes=2)
#: Outbox states a message is still moving through.
LIVE_STATES = LIVE_OUTBOX_STATES


def purge(conn: sqlite3.Connection, now: datetime, *, decode: Callable[[bytes, int], str],
          part_key: bytes, identity: str | None = None) -> Purged:
    """End MO assemblies older than ``ASSEMBLY_WINDOW`` and drop unclaimed early receipts.

    An assembly that never completed becomes an inbox row marked incomplete,
    to be answered like any new row (returned in ``Purged.inbox``), by ``identity``;
    ``decode`` and ``part_key`` as for ``apply``.
    """
    cutoff = iso(now - ASSEMBLY_WINDOW)
    since = iso(now)  # a given-up assembly's digest is its own: nothing to de-duplicate
    stale = conn.execute(
        "SELECT DISTINCT s.assembly, s.source FROM sms_segments s WHERE s.received_at < ?", (cutoff,)
    ).fetchall()
    segments = 0
    made: dict[int, str] = {}
    for row in stale:
        segments += conn.execute("SELECT count(*) FROM sms_segments WHERE assembly = ?",
                                 (row["assembly"],)).fetchone()[0]
        for inbox_id in _give_up(conn, row["assembly"], since, decode, part_key):
            made[inbox_id] = row["source"]
    receipts = conn.execute("DELETE FROM sms_receipts_early WHERE received_at < ?",
                            (iso(now - EARLY_RECEIPT_TTL),)).rowcount
    _answer_by(conn, list(made), identity, now)
    return Purged(segments, receipts, made)


def purge_texts(conn: sqlite3.Connection, now: datetime, retention: timedelta) -> int:
    """Empty the text of MO answered more than ``retention`` ago; returns how many.

    The row stays: it is the record that a message came and was answered.
    A row still ``received`` keeps its text whatever its age (it is still to
    be answered). The condition matches the partial index of migration 6.
    """
    return conn.execute(
        "UPDATE sms_inbox SET text = '' WHERE text <> '' AND status <> 'received' AND handled_at < ?",
        (iso(now - retention),),
    ).rowcount


def outbox_figures(conn: sqlite3.Connection, receipts_before: datetime) -> OutboxFigures:
    """``Outbox.figures`` on SQLite: each figure a range of the (status, kind, next_attempt_at) index.

    The live counts and the campaign counts read the index alone; the
    earliest due time is the first entry of each (queued, kind) range; only
    the overdue receipts read the submitted rows themselves (for their
    ``submitted_at``), and those are the messages still awaiting a receipt.
    """
    live = {(kind, status): 0 for kind in OUTBOX_KINDS for status in LIVE_STATES}
    for row in conn.execute(
        f"SELECT kind, status, count(*) AS n FROM sms_outbox WHERE status IN ({_marks(LIVE_STATES)}) "
        "GROUP BY status, kind", LIVE_STATES,
    ):
        live[row["kind"], row["status"]] = row["n"]
    oldest: dict[str, datetime] = {}
    for kind in {kind for kind, status in live if status == "queued" and live[kind, status]}:
        first = conn.execute("SELECT min(next_attempt_at) FROM sms_outbox WHERE status = 'queued' AND kind = ?",
                             (kind,)).fetchone()[0]
        if first is not None:
            oldest[kind] = datetime.fromisoformat(first)
    overdue = dict.fromkeys(OUTBOX_KINDS, 0)
    for row in conn.execute(
        "SELECT kind, count(*) AS n FROM sms_outbox WHERE status = 'submitted' AND submitted_at < ? "
        "GROUP BY kind", (iso(receipts_before),),
    ):
        overdue[row["kind"]] = row["n"]
    marketing = dict.fromkeys(OUTBOX_STATES, 0)
    for row in conn.execute(
        f"SELECT status, count(*) AS n FROM sms_outbox WHERE status IN ({_marks(OUTBOX_STATES)}) "
        "AND kind = 'marketing' GROUP BY status", OUTBOX_STATES,
    ):
        marketing[row["status"]] = row["n"]
    return OutboxFigures(live, oldest, overdue, marketing)


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


# --- the router's side ----------------------------------------------------------


def unhandled_inbox(conn: sqlite3.Connection, limit: int) -> list[int]:
    rows = conn.execute(
        "SELECT id FROM sms_inbox WHERE status = 'received' ORDER BY id LIMIT ?", (limit,)
    ).fetchall()
    return [r["id"] for r in rows]


def adopt_inbox(conn: sqlite3.Connection, now: datetime, identity: str | None, limit: int, *,
                starting: bool = False) -> list[int]:
    """Unanswered rows no live process is answering, now ``identity``'s to answer; their ids.

    Those are rows nobody was named for, rows whose claim has passed and,
    when ``starting``, rows an earlier run in ``identity``'s place stored
    (it died before answering them). Without ``identity`` (a process alone
    on its database) every unanswered row is taken at start.
    """
    if identity is None:
        return unhandled_inbox(conn, limit) if starting else []
    place = place_of(identity) + "#"
    rows = conn.execute(
        "SELECT id FROM sms_inbox WHERE status = 'received' AND (received_by IS NULL OR lease_until <= ? "
        "OR (? AND substr(received_by, 1, ?) = ? AND received_by <> ?)) ORDER BY id LIMIT ?",
        (iso(now), int(starting), len(place), place, identity, limit),
    ).fetchall()
    ids = [r["id"] for r in rows]
    _answer_by(conn, ids, identity, now)
    return ids


def inbox_rows(conn: sqlite3.Connection, inbox_ids: Sequence[int]) -> dict[int, sqlite3.Row]:
    """Inbox rows by id (``id, source, destination, text, status, digest, incomplete``), a few statements for any batch."""
    found: dict[int, sqlite3.Row] = {}
    ids = list(inbox_ids)
    for start in range(0, len(ids), 500):  # under SQLite's host-parameter limit
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT id, source, destination, text, status, digest, incomplete FROM sms_inbox "
            f"WHERE id IN ({marks})", chunk
        ):
            found[row["id"]] = row
    return found


def mark_inbox_many(conn: sqlite3.Connection, outcomes: Sequence[tuple[int, str, str | None]],
                    now: datetime) -> None:
    """``mark_inbox`` for many rows at once: (inbox id, status, error) each."""
    stamp = iso(now)
    conn.executemany(
        "UPDATE sms_inbox SET status = ?, handled_at = ?, error = ? WHERE id = ?",
        [(status, stamp, error, inbox_id) for inbox_id, status, error in outcomes],
    )


def mark_inbox(conn: sqlite3.Connection, inbox_id: int, status: str, now: datetime,
               error: str | None = None) -> None:
    conn.execute(
        "UPDATE sms_inbox SET status = ?, handled_at = ?, error = ? WHERE id = ?",
        (status, iso(now), error, inbox_id),
    )
