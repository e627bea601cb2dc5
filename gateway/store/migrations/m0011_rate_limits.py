"""Requests per calling number, shared by every process on this database.

One row per number recently limited: the instant (unix milliseconds) its
token bucket is full again. Processes add their spend to it
(``gateway.ratelimit``); a row whose instant has passed is a full
bucket and may be deleted.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 11


def apply(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE rate_limits (key TEXT PRIMARY KEY, full_at_ms INTEGER NOT NULL) WITHOUT ROWID")
