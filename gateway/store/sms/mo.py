"""Mobile-originated messages as stored, on either database: whole MO, parts of a long one, redeliveries.

The same text again is a new message (a subscriber may send BAL twice); only
a PDU left unacknowledged on a dropped link is taken for the SMSC's second
copy of it, once. The parts of a concatenated MO wait, sealed under the part
key, until the last one comes or ``ASSEMBLY_WINDOW`` ends the assembly.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from gateway.domain.secrets import keystream_xor
from gateway.store.port import INBOX_LEASE, InboundSms, Unacknowledged, place_of
from gateway.store.portable import SqliteFlavour

#: How far apart the parts of one concatenated MO may arrive. A phone sends all
#: parts within seconds; an SMSC that queued them while our link was down
#: delivers them together on the next bind. A part later than this belongs to
#: a new message that reused the 8-bit reference (phones count 256 and start
#: again, some from 0 after a restart), and an assembly still incomplete after
#: this long is given up: stored as incomplete and answered.
ASSEMBLY_WINDOW = timedelta(minutes=10)

Decode = Callable[[bytes, int], str]


def digest(*parts: bytes | str | int) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def _opened(key: bytes, row: Any) -> bytes:
    """The bytes of a stored part (one saved before migration 9 has no nonce: kept as received)."""
    nonce: bytes | None = row["nonce"]
    data = bytes(row["data"])
    return data if nonce is None else keystream_xor(key, bytes(nonce), data)


class MoSql(SqliteFlavour):
    """The MO half of ``Inbox``: what ``apply`` and ``purge`` store (``gateway.store.sms.inbox``)."""

    __slots__ = ()

    def _answer_by(self, inbox_ids: Sequence[int], identity: str | None, now: datetime) -> None:
        """The rows are ``identity``'s to answer until ``INBOX_LEASE`` has passed."""
        if identity is None:
            return
        until = self._instant(now + INBOX_LEASE)
        for among, ids in self._among(inbox_ids):
            self._run(f"UPDATE sms_inbox SET received_by = ?, lease_until = ? WHERE id {among}",
                      (identity, until, *ids))

    def _whole(self, source: str, destination: str, text: str, data_coding: int, digest_: str, stamp: Any,
               since: Any, redeliveries: list[tuple[int, int]] | None = None, *,
               incomplete: bool = False) -> int | None:
        """Save one whole MO; its inbox id, or None when it is a redelivery (saved, not to be answered).

        Only a PDU left unacknowledged on a dropped link (``sms_redeliverable``,
        since ``since``) is taken for the SMSC's second copy of it, once.
        """
        expected = self._run(
            "SELECT id, inbox_id FROM sms_redeliverable WHERE digest = ? AND recorded_at >= ? ORDER BY id LIMIT 1",
            (digest_, since),
        ).fetchone()
        if expected is not None:
            self._run("DELETE FROM sms_redeliverable WHERE id = ?", (expected["id"],))
        first = None if expected is None else expected["inbox_id"]
        new_id = self._insert(
            "INSERT INTO sms_inbox (source, destination, text, data_coding, received_at, status, digest, "
            "handled_at, redelivery_of, pending_ack, incomplete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (source, destination, text, data_coding, stamp, "received" if first is None else "redelivered",
             digest_, None if first is None else stamp, first, None if incomplete else 1, int(incomplete)),
        )
        if first is None:
            return new_id
        if redeliveries is not None and new_id is not None:
            redeliveries.append((new_id, first))
        return None

    def _unacknowledged(self, event: Unacknowledged, stamp: Any, since: Any) -> None:
        """Expect the SMSC's second copy of each MO in ``event``: the newest rows saved with its digest."""
        self._run("DELETE FROM sms_redeliverable WHERE recorded_at < ?", (since,))
        for digest_, count in Counter(event.digests).items():
            rows = self._run(
                "SELECT id, COALESCE(redelivery_of, id) AS first FROM sms_inbox WHERE digest = ? "
                "ORDER BY id DESC LIMIT ?", (digest_, count),
            ).fetchall()  # none for a part of a concatenated MO still incomplete
            self._expect([(digest_, r["first"]) for r in rows], stamp)
            self.settle([r["id"] for r in rows])

    def _expect(self, expected: Sequence[tuple[str, int]], stamp: Any) -> None:
        self._many("INSERT INTO sms_redeliverable (digest, inbox_id, recorded_at) VALUES (?, ?, ?)",
                   [(digest_, inbox_id, stamp) for digest_, inbox_id in expected])

    def settle(self, inbox_ids: Sequence[int]) -> None:
        """These rows' deliver_sm_resp went to the link (or they are expected again already)."""
        for among, ids in self._among(inbox_ids):
            self._run(f"UPDATE sms_inbox SET pending_ack = NULL WHERE id {among}", ids)

    def expect_unsettled(self, now: datetime, identity: str | None) -> int:
        """At start: MO a stopped gateway saved but may not have acknowledged are expected again.

        Returns how many. The SMSC redelivers them on the next bind; each copy
        is then saved as a redelivery (within the window from ``now``). With
        ``identity``, only the rows an earlier run in its place saved (or rows
        nobody was named for): another live process is acknowledging its own.
        """
        query = "SELECT id, digest, COALESCE(redelivery_of, id) AS first FROM sms_inbox WHERE pending_ack IS NOT NULL"
        if identity is None:
            rows = self._run(query).fetchall()
        else:
            rows = self._run(query + f" AND (received_by IS NULL OR {self._starts_with('received_by')})",
                             (place_of(identity) + "#",)).fetchall()
        self._expect([(r["digest"], r["first"]) for r in rows if r["digest"] is not None], self._instant(now))
        self.settle([r["id"] for r in rows])
        return len(rows)

    def _segment(self, event: InboundSms, stamp: Any, since: Any, now: datetime, decode: Decode,
                 key: bytes) -> list[int]:
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
        latest = self._scalar("SELECT max(assembly) FROM sms_segments WHERE source = ? AND destination = ? "
                              "AND reference = ? AND total = ?", parts_of)
        made: list[int] = []
        assembly: int | None = None
        if latest is not None:
            rows = self._run("SELECT seq, data, nonce, received_at FROM sms_segments WHERE assembly = ?",
                             (latest,)).fetchall()
            same = next((r for r in rows if r["seq"] == event.seq), None)
            fresh = min(r["received_at"] for r in rows) >= self._instant(now - ASSEMBLY_WINDOW)
            if fresh and same is not None and _opened(key, same) == event.data:
                return made  # a resent part
            if fresh and same is None:
                assembly = int(latest)
            else:
                made.extend(self._give_up(int(latest), since, decode, key))
        nonce = os.urandom(16)
        new_part = self._insert(
            "INSERT INTO sms_segments (source, destination, reference, total, seq, data, nonce, data_coding, "
            "received_at, assembly) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*parts_of, event.seq, keystream_xor(key, nonce, event.data), nonce, event.data_coding, stamp,
             assembly),
        )
        if assembly is None:
            assembly = new_part
            self._run("UPDATE sms_segments SET assembly = id WHERE id = ?", (assembly,))
        rows = self._run("SELECT seq, data, nonce, data_coding FROM sms_segments WHERE assembly = ? ORDER BY seq",
                         (assembly,)).fetchall()
        if len(rows) < event.total:
            return made
        data = b"".join(_opened(key, r) for r in rows)
        coding = rows[0]["data_coding"]
        whole = digest("assembly", event.digest)  # a label: no content, so no PIN to guess
        new_id = self._whole(event.source, event.destination, decode(data, coding), coding, whole, stamp, since)
        self._run("UPDATE sms_segments SET inbox_id = ? WHERE assembly = ?", (new_id or 0, assembly))
        if new_id is not None:
            made.append(new_id)
        return made

    def _give_up(self, assembly: int, since: Any, decode: Decode, key: bytes) -> list[int]:
        """End an assembly: an incomplete one becomes an inbox row marked ``incomplete``; returns its id."""
        rows = self._run(
            "SELECT source, destination, reference, total, seq, data, nonce, data_coding, received_at, inbox_id "
            "FROM sms_segments WHERE assembly = ? ORDER BY seq", (assembly,),
        ).fetchall()
        self._run("DELETE FROM sms_segments WHERE assembly = ?", (assembly,))
        if not rows or rows[0]["inbox_id"] is not None:
            return []
        first = rows[0]
        data = b"".join(_opened(key, r) for r in rows)
        arrived = min(r["received_at"] for r in rows)
        whole = digest("incomplete", assembly)  # a label: no content, so no PIN to guess
        new_id = self._whole(first["source"], first["destination"], decode(data, first["data_coding"]),
                             first["data_coding"], whole, arrived, since, incomplete=True)
        return [] if new_id is None else [new_id]
