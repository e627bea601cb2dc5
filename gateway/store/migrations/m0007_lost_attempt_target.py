"""The number each lost-SIM attempt named, so that guesses are limited per number too.

A mismatch was counted only against the reporting phone, so many phones
could share the guessing of one subscriber's ID number. Rows written before
this version have no target and count against no number.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 7


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE lost_attempts ADD COLUMN target_msisdn TEXT")
    db.table("lost_attempts").create_index(["target_msisdn", "at"])
