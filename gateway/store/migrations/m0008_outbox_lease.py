"""Who claimed an outbox row, and until when, so several gateways can share one outbox.

A row in ``sending`` belongs to the process that claimed it (``claimed_by``)
until ``lease_until``; after that any process may claim it again, so a
message claimed by a process that died is sent by another. Rows written
before this version have neither and are treated as expired claims.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 8


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE sms_outbox ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE sms_outbox ADD COLUMN lease_until TEXT")
    db.table("sms_outbox").create_index(["status", "lease_until"])
