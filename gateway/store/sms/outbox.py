"""The ``Outbox`` repository on either database: queueing, claims by the sender, recovery, figures.

A confirmation is queued in the same transaction as what it confirms: both
are saved or neither. A claim marks a row ``sending`` for its claimant until
its lease passes (``gateway.store.sms`` tells the states and leases); on
PostgreSQL the rows are taken ``FOR UPDATE SKIP LOCKED``, so concurrent
claimants each get rows of their own, while SQLite's single writer makes the
select and its update one step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from gateway.store.port import (
    LIVE_OUTBOX_STATES,
    OUTBOX_KINDS,
    OUTBOX_STATES,
    OutboxFigures,
    OutboxRow,
    OutgoingSms,
    place_of,
)
from gateway.store.portable import SqliteFlavour

_ENQUEUE = (
    "INSERT INTO sms_outbox (source, destination, text, kind, status, attempts, next_attempt_at, created_at, "
    "updated_at, dedupe_key, campaign_id) VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?) "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)
_COLUMNS = "SELECT id, source, destination, text, kind, attempts FROM sms_outbox "


def _queued(sms: OutgoingSms, stamp: Any) -> tuple[Any, ...]:
    """``_ENQUEUE``'s parameters for ``sms`` queued at ``stamp`` (the flavour's instant)."""
    return (sms.source, sms.destination, sms.text, sms.kind, stamp, stamp, stamp, sms.dedupe_key, sms.campaign_id)


class OutboxSql(SqliteFlavour):
    """``port.Outbox`` in the SQLite flavour; ``PgFlavour`` mixed in before it makes the PostgreSQL one."""

    __slots__ = ()

    def enqueue(self, sms: OutgoingSms, now: datetime) -> int | None:
        """Queue ``sms``; returns its id, or None when ``dedupe_key`` was queued before."""
        return self._insert(_ENQUEUE, _queued(sms, self._instant(now)))

    def enqueue_many(self, messages: Sequence[OutgoingSms], now: datetime) -> int:
        """Queue ``messages`` in one batch (one round trip on PostgreSQL); how many were new."""
        stamp = self._instant(now)
        return self._many(_ENQUEUE, [_queued(sms, stamp) for sms in messages])

    def skipped(self, sms: OutgoingSms, now: datetime, reason: str) -> None:
        """A message recorded as not sent (status ``skipped``, ``reason`` as its error)."""
        stamp = self._instant(now)
        self._run(
            "INSERT INTO sms_outbox (source, destination, text, kind, status, attempts, next_attempt_at, "
            "created_at, updated_at, error, campaign_id) VALUES (?, ?, ?, ?, 'skipped', 0, ?, ?, ?, ?, ?)",
            (sms.source, sms.destination, sms.text, sms.kind, stamp, stamp, stamp, reason, sms.campaign_id),
        )

    def claim_due(self, now: datetime, limit: int, *, identity: str | None,
                  lease: timedelta) -> list[OutboxRow]:
        """Take up to ``limit`` due rows for ``identity`` until ``now + lease``, marking them ``sending``.

        Due: rows ``sending`` whose lease has passed (their claimant died: they
        come first, they have waited longest), then ``queued`` rows whose time
        has come, replies first. Marketing to a number that has opted out (or
        is no live subscriber) is marked ``skipped`` here, at send time, whatever
        it was when queued.
        """
        stamp = self._instant(now)
        until = now + lease
        claimed: list[OutboxRow] = []
        skipped: list[int] = []
        for r in self._run(_COLUMNS + "WHERE status = 'sending' AND (lease_until IS NULL OR lease_until <= ?) "
                           "ORDER BY lease_until NULLS FIRST LIMIT ?" + self._claiming, (stamp, limit)).fetchall():
            claimed.append(_row(r, identity, until))
        for kind in OUTBOX_KINDS:
            room = limit - len(claimed)
            if room <= 0:
                break
            for r in self._run(_COLUMNS + "WHERE status = 'queued' AND kind = ? AND next_attempt_at <= ? "
                               "ORDER BY next_attempt_at LIMIT ?" + self._claiming, (kind, stamp, room)).fetchall():
                if kind == "marketing" and not self._opted_in(r["destination"]):
                    skipped.append(r["id"])
                    continue
                claimed.append(_row(r, identity, until))
        for among, ids in self._among([row.id for row in claimed]):
            self._run(f"UPDATE sms_outbox SET status = 'sending', claimed_by = ?, lease_until = ?, updated_at = ? "
                      f"WHERE id {among}", (identity, self._instant(until), stamp, *ids))
        for among, ids in self._among(skipped):
            self._run(f"UPDATE sms_outbox SET status = 'skipped', error = 'opted out', updated_at = ? "
                      f"WHERE id {among}", (stamp, *ids))
        return claimed

    def _opted_in(self, msisdn: str) -> bool:
        return bool(self._scalar("SELECT marketing_opt_in FROM subscribers WHERE msisdn = ? AND status = 'live'",
                                 (msisdn,)))

    def recover(self, now: datetime, identity: str | None) -> int:
        """At start: rows whose claimant is gone go back to the queue; returns how many.

        Gone: the lease has passed, or the row was claimed by an earlier process
        in ``identity``'s place (``claimant``). Rows other live processes are
        sending are left to them. Without ``identity`` every ``sending`` row is
        taken for orphaned (a process alone on its database).
        """
        requeue = ("UPDATE sms_outbox SET status = 'queued', claimed_by = NULL, lease_until = NULL "
                   "WHERE status = 'sending'")
        if identity is None:
            return int(self._run(requeue).rowcount)
        return int(self._run(
            requeue + " AND (lease_until IS NULL OR lease_until <= ? "
            f"OR ({self._starts_with('claimed_by')} AND claimed_by <> ?))",
            (self._instant(now), place_of(identity) + "#", identity),
        ).rowcount)

    def add_campaign(self, text: str, now: datetime, channel: str) -> int:
        """A new campaign's id; its messages carry it (``OutgoingSms.campaign_id``)."""
        new_id = self._insert("INSERT INTO campaigns (text, created_at, channel) VALUES (?, ?, ?)",
                              (text, self._instant(now), channel))
        assert new_id is not None
        return new_id

    def figures(self, receipts_before: datetime) -> OutboxFigures:
        """``Outbox.figures``: each figure a range of the (status, kind, next_attempt_at) index.

        The live counts and the campaign counts read the index alone; the
        earliest due time is the first entry of each (queued, kind) range; only
        the overdue receipts read the submitted rows themselves (for their
        ``submitted_at``), and those are the messages still awaiting a receipt.
        """
        live = {(kind, status): 0 for kind in OUTBOX_KINDS for status in LIVE_OUTBOX_STATES}
        for among, states in self._among(LIVE_OUTBOX_STATES):
            for row in self._run(f"SELECT kind, status, count(*) AS n FROM sms_outbox WHERE status {among} "
                                 "GROUP BY status, kind", states).fetchall():
                live[row["kind"], row["status"]] = int(row["n"])
        oldest: dict[str, datetime] = {}
        for kind in {kind for kind, status in live if status == "queued" and live[kind, status]}:
            first = self._read_instant(self._scalar(
                "SELECT min(next_attempt_at) FROM sms_outbox WHERE status = 'queued' AND kind = ?", (kind,)))
            if first is not None:
                oldest[kind] = first
        overdue = dict.fromkeys(OUTBOX_KINDS, 0)
        for row in self._run("SELECT kind, count(*) AS n FROM sms_outbox WHERE status = 'submitted' "
                             "AND submitted_at < ? GROUP BY kind", (self._instant(receipts_before),)).fetchall():
            overdue[row["kind"]] = int(row["n"])
        marketing = dict.fromkeys(OUTBOX_STATES, 0)
        for among, states in self._among(OUTBOX_STATES):
            for row in self._run(f"SELECT status, count(*) AS n FROM sms_outbox WHERE status {among} "
                                 "AND kind = 'marketing' GROUP BY status", states).fetchall():
                marketing[row["status"]] = int(row["n"])
        return OutboxFigures(live, oldest, overdue, marketing)


def _row(r: Any, identity: str | None, until: datetime) -> OutboxRow:
    return OutboxRow(r["id"], r["source"], r["destination"], r["text"], r["kind"], r["attempts"], identity, until)
