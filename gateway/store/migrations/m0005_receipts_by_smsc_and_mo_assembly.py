"""Receipts matched per SMSC; concatenated MO assembled within a time window.

- ``sms_outbox.smsc`` / ``submitted_at``: which SMSC accepted the message
  (``system_id@host:port``) and when. SMSC message ids are unique on one
  SMSC only until it restarts, so a receipt goes to the newest open message
  with its id on its SMSC.
- ``sms_outbox_parts`` and ``sms_receipts_early`` get a row id of their own
  and the SMSC, instead of the SMSC message id as primary key (a reused id
  replaced the old message's part).
- ``sms_segments`` get a row id, the assembly they belong to (the row id of
  its first stored part) and the inbox row they built: a reused 8-bit
  reference starts a new assembly instead of being glued to a stale part.
- ``sms_inbox.incomplete``: the parts that came of a message that never
  completed, stored so that it is seen and answered.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 5


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE sms_outbox ADD COLUMN smsc TEXT")
    db.execute("ALTER TABLE sms_outbox ADD COLUMN submitted_at TEXT")
    db.execute("ALTER TABLE sms_inbox ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0")

    db.execute("ALTER TABLE sms_outbox_parts RENAME TO sms_outbox_parts_old")
    db.execute("DROP INDEX IF EXISTS idx_sms_outbox_parts_outbox_id")
    db.execute(
        "CREATE TABLE sms_outbox_parts (id INTEGER PRIMARY KEY, smsc TEXT, smsc_message_id TEXT NOT NULL, "
        "outbox_id INTEGER NOT NULL REFERENCES sms_outbox(id), part INTEGER NOT NULL, "
        "status TEXT NOT NULL DEFAULT 'submitted')"
    )
    db.execute("INSERT INTO sms_outbox_parts (smsc_message_id, outbox_id, part, status) "
               "SELECT smsc_message_id, outbox_id, part, status FROM sms_outbox_parts_old ORDER BY rowid")
    db.execute("DROP TABLE sms_outbox_parts_old")
    db.execute("CREATE INDEX idx_sms_outbox_parts_message ON sms_outbox_parts(smsc_message_id)")
    db.execute("CREATE INDEX idx_sms_outbox_parts_outbox_id ON sms_outbox_parts(outbox_id)")

    db.execute("ALTER TABLE sms_receipts_early RENAME TO sms_receipts_early_old")
    db.execute("DROP INDEX IF EXISTS idx_sms_receipts_early_received_at")
    db.execute(
        "CREATE TABLE sms_receipts_early (id INTEGER PRIMARY KEY, smsc TEXT, smsc_message_id TEXT NOT NULL, "
        "stat TEXT NOT NULL, received_at TEXT NOT NULL)"
    )
    db.execute("INSERT INTO sms_receipts_early (smsc_message_id, stat, received_at) "
               "SELECT smsc_message_id, stat, received_at FROM sms_receipts_early_old ORDER BY rowid")
    db.execute("DROP TABLE sms_receipts_early_old")
    db.execute("CREATE INDEX idx_sms_receipts_early_message ON sms_receipts_early(smsc_message_id)")
    db.execute("CREATE INDEX idx_sms_receipts_early_received_at ON sms_receipts_early(received_at)")

    db.execute("ALTER TABLE sms_segments RENAME TO sms_segments_old")
    db.execute("DROP INDEX IF EXISTS idx_sms_segments_received_at")
    db.execute(
        "CREATE TABLE sms_segments (id INTEGER PRIMARY KEY, source TEXT NOT NULL, destination TEXT NOT NULL, "
        "reference INTEGER NOT NULL, total INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, "
        "data_coding INTEGER NOT NULL, received_at TEXT NOT NULL, assembly INTEGER, inbox_id INTEGER)"
    )
    db.execute("INSERT INTO sms_segments (source, destination, reference, total, seq, data, data_coding, "
               "received_at) SELECT source, destination, reference, total, seq, data, data_coding, received_at "
               "FROM sms_segments_old ORDER BY rowid")
    db.execute("DROP TABLE sms_segments_old")
    db.execute(
        "UPDATE sms_segments SET assembly = (SELECT min(f.id) FROM sms_segments f WHERE "
        "f.source = sms_segments.source AND f.destination = sms_segments.destination AND "
        "f.reference = sms_segments.reference AND f.total = sms_segments.total)"
    )
    db.execute("CREATE INDEX idx_sms_segments_key ON sms_segments(source, destination, reference, total)")
    db.execute("CREATE INDEX idx_sms_segments_received_at ON sms_segments(received_at)")
