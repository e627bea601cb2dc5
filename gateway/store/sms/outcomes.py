"""What the SMSC answered: submit results, send failures and delivery receipts, on either database.

A submit result or a failure is applied only while the row is still under
the claim it was sent under (a late result for a row another process took
over is dropped); a receipt ends the newest open message (or part) with its
id on its SMSC, and one that overtook its submit_sm_resp waits for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.store.port import FINAL_STATES, DeliveryReport, SendFailed, Submitted
from gateway.store.portable import SqliteFlavour

#: Receipts no submit_sm_resp claimed within this long are dropped.
EARLY_RECEIPT_TTL = timedelta(hours=1)
#: A kept receipt applies to a message whose submit_sm_resp comes at most this long after it: a
#: receipt can overtake its response by the response timeout (seconds), while one that waited
#: longer is a resent receipt of an earlier message that had the same id.
EARLY_RECEIPT_MATCH = timedelta(minutes=2)


def _still_claimed(claim: str | None) -> str:
    """The condition that a row is still under the claim an outcome reports (None: any state)."""
    return "" if claim is None else " AND status = 'sending' AND claimed_by = :claim"


class OutcomesSql(SqliteFlavour):
    """The outcome half of ``Inbox.apply`` (``gateway.store.sms.inbox``)."""

    __slots__ = ()

    def _submitted(self, event: Submitted, stamp: Any, now: datetime) -> None:
        applied = self._run(
            "UPDATE sms_outbox SET status = 'submitted', smsc_message_id = :mid, smsc = :smsc, "
            "submitted_at = :at, attempts = attempts + 1, error = NULL, lease_until = NULL, updated_at = :at "
            "WHERE id = :id" + _still_claimed(event.claim),
            {"mid": event.message_ids[0], "smsc": event.smsc, "at": stamp, "id": event.outbox_id,
             "claim": event.claim},
        ).rowcount
        if not applied:
            return  # taken over by another process after the lease: its send is the one recorded
        if len(event.message_ids) > 1:
            self._run("DELETE FROM sms_outbox_parts WHERE outbox_id = ?", (event.outbox_id,))
            self._many(
                "INSERT INTO sms_outbox_parts (smsc, smsc_message_id, outbox_id, part, status) "
                "VALUES (?, ?, ?, ?, 'submitted')",
                [(event.smsc, mid, event.outbox_id, i + 1) for i, mid in enumerate(event.message_ids)],
            )
        # Receipts that overtook this response (kept by _receipt) apply now; older ones
        # with the same id are for an earlier message (the SMSC sent its receipt again).
        since = self._instant(now - EARLY_RECEIPT_MATCH)
        for mid in event.message_ids:
            early = self._run(
                "SELECT stat, received_at FROM sms_receipts_early WHERE smsc_message_id = ? "
                "AND (smsc = ? OR smsc IS NULL) ORDER BY id DESC LIMIT 1", (mid, event.smsc),
            ).fetchone()
            if early is not None:
                self._run("DELETE FROM sms_receipts_early WHERE smsc_message_id = ? "
                          "AND (smsc = ? OR smsc IS NULL)", (mid, event.smsc))
                if early["received_at"] >= since:
                    self._receipt(DeliveryReport(mid, early["stat"], event.smsc), stamp)

    def _send_failed(self, event: SendFailed, stamp: Any) -> None:
        values = {"bump": 1 if event.count_attempt else 0, "error": event.error, "at": stamp,
                  "id": event.outbox_id, "claim": event.claim, "retry": self._instant(event.retry_at)}
        if event.retry_at is None:
            self._run("UPDATE sms_outbox SET status = 'failed', attempts = attempts + :bump, error = :error, "
                      "lease_until = NULL, updated_at = :at WHERE id = :id" + _still_claimed(event.claim), values)
        else:
            self._run("UPDATE sms_outbox SET status = 'queued', attempts = attempts + :bump, error = :error, "
                      "next_attempt_at = :retry, claimed_by = NULL, lease_until = NULL, updated_at = :at "
                      "WHERE id = :id" + _still_claimed(event.claim), values)

    def _receipt(self, event: DeliveryReport, stamp: Any) -> None:
        """Apply a final receipt to the newest open message (or part) with its id on its SMSC.

        SMSC message ids repeat (a restarted SMSC counts from 1 again), so a
        message already in a final state is never changed, and among the open
        ones the newest submitted wins. A receipt nothing open matches is kept
        for the submit_sm_resp it may have overtaken.
        """
        final = FINAL_STATES.get(event.stat)
        if final is None:
            return  # ENROUTE, ACCEPTD, UNKNOWN: not final
        target = self._run(
            "SELECT o.id AS outbox_id, p.id AS part_id, o.submitted_at AS at FROM sms_outbox_parts p "
            "JOIN sms_outbox o ON o.id = p.outbox_id WHERE p.smsc_message_id = :mid "
            "AND (p.smsc = :smsc OR p.smsc IS NULL) AND p.status = 'submitted' "
            "UNION ALL "
            "SELECT o.id, CAST(NULL AS BIGINT), o.submitted_at FROM sms_outbox o WHERE o.smsc_message_id = :mid "
            "AND (o.smsc = :smsc OR o.smsc IS NULL) AND o.status IN ('submitted', 'sending') "
            "AND NOT EXISTS (SELECT 1 FROM sms_outbox_parts q WHERE q.outbox_id = o.id) "
            "ORDER BY at DESC NULLS LAST, outbox_id DESC LIMIT 1",
            {"mid": event.message_id, "smsc": event.smsc},
        ).fetchone()
        if target is None:
            # Ahead of its submit_sm_resp (or for a message we never knew): keep it, once per id.
            self._run("DELETE FROM sms_receipts_early WHERE smsc_message_id = ? AND smsc = ?",
                      (event.message_id, event.smsc))
            self._run("INSERT INTO sms_receipts_early (smsc, smsc_message_id, stat, received_at) "
                      "VALUES (?, ?, ?, ?)", (event.smsc, event.message_id, event.stat, stamp))
            return
        outbox_id = target["outbox_id"]
        if target["part_id"] is None:
            self._run("UPDATE sms_outbox SET status = ?, receipt_stat = ?, receipt_at = ?, updated_at = ? "
                      "WHERE id = ?", (final, event.stat, stamp, stamp, outbox_id))
            return
        self._run("UPDATE sms_outbox_parts SET status = ?, receipt_stat = ?, receipt_at = ? WHERE id = ?",
                  (final, event.stat, stamp, target["part_id"]))
        status: str | None = final
        if final == "delivered":
            left = int(self._scalar("SELECT count(*) FROM sms_outbox_parts WHERE outbox_id = ? "
                                    "AND status <> 'delivered'", (outbox_id,)))
            status = "delivered" if left == 0 else None
        if status is not None:
            self._run("UPDATE sms_outbox SET status = ?, receipt_stat = ?, receipt_at = ?, updated_at = ? "
                      "WHERE id = ? AND status = 'submitted'", (status, event.stat, stamp, stamp, outbox_id))
