"""SMS delivery: multipart tracking, MO segments, MO de-duplication, outbox priority.

- ``sms_outbox.status`` gains ``sending`` (claimed by the sender, awaiting the
  SMSC's answer); a gateway that stops puts ``sending`` rows back to
  ``queued`` on its next start, so nothing claimed is lost.
- ``sms_outbox_parts``: the SMSC message id of every part of a concatenated
  MT, so each part's delivery receipt finds its message.
- ``sms_segments``: parts of a concatenated MO saved (before they are
  acknowledged) until the message is whole; a resent part is stored once.
- ``sms_inbox.digest``: a hash of the PDU content; the same PDU seen again
  within the de-duplication window is acknowledged but not answered twice.
- an index on the outbox by (status, kind, next_attempt_at): the sender takes
  replies before notifications, reminders and marketing, each in queue order.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 2


def apply(db: sqlite_utils.Database) -> None:
    db.table("sms_outbox_parts").create(
        {"smsc_message_id": str, "outbox_id": int, "part": int, "status": str},
        pk="smsc_message_id",
        foreign_keys=[("outbox_id", "sms_outbox", "id")],
        not_null={"outbox_id", "part", "status"},
        defaults={"status": "submitted"},
    )
    db.table("sms_outbox_parts").create_index(["outbox_id"])
    db.table("sms_segments").create(
        {
            "source": str,
            "destination": str,
            "reference": int,
            "total": int,
            "seq": int,
            "data": bytes,
            "data_coding": int,
            "received_at": str,
        },
        pk=("source", "destination", "reference", "total", "seq"),
        not_null={"data", "data_coding", "received_at"},
    )
    db.table("sms_segments").create_index(["received_at"])
    db.execute("ALTER TABLE sms_inbox ADD COLUMN digest TEXT")
    db.execute("CREATE INDEX idx_sms_inbox_digest ON sms_inbox(digest, received_at)")
    db.execute(
        "CREATE INDEX idx_sms_outbox_due_kind ON sms_outbox(status, kind, next_attempt_at)"
    )
