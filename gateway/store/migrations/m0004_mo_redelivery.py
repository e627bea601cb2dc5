"""MO redeliveries: recognised only after a link dropped with MO unacknowledged.

- ``sms_redeliverable``: one row per MO that was received on a link which
  dropped before its ``deliver_sm_resp`` was written (the SMSC will send it
  again), by its keyed PDU digest, pointing at the inbox row it was saved as.
  The next identical PDU within ``smpp.mo_dedupe_window`` takes the row.
- ``sms_inbox.redelivery_of``: set on a row saved with status ``redelivered``
  (the SMSC's second copy of that row's PDU: stored, not answered again).
- ``sms_inbox.pending_ack``: 1 from the commit until the row's
  deliver_sm_resp has been handed to the link (cleared in a later write);
  rows a killed gateway left at 1 are expected again after the restart.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 4


def apply(db: sqlite_utils.Database) -> None:
    db.table("sms_redeliverable").create(
        {"id": int, "digest": str, "inbox_id": int, "recorded_at": str},
        pk="id",
        not_null={"digest", "inbox_id", "recorded_at"},
    )
    db.table("sms_redeliverable").create_index(["digest", "recorded_at"])
    db.execute("ALTER TABLE sms_inbox ADD COLUMN redelivery_of INTEGER REFERENCES sms_inbox(id)")
    db.execute("ALTER TABLE sms_inbox ADD COLUMN pending_ack INTEGER")
    db.execute("CREATE INDEX idx_sms_inbox_pending_ack ON sms_inbox(pending_ack) WHERE pending_ack IS NOT NULL")
