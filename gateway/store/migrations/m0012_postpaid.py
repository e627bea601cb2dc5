"""Postpaid lines (004 7.1-7.7): the deposit, dues and unbilled usage, bills, payments, the notice.

A subscriber row carries its postpaid buckets beside the prepaid ones
(``deposit_minor``, ``dues_minor``, ``unbilled_minor``, each equal to the sum
of its ``ledger`` rows) and the state of the deposit rule's notice
(``notice_sent_at``, ``discontinue_at``; ``discontinued_at`` once the line was
discontinued). ``bills`` are the imported statements, their local dates
as ``YYYY-MM-DD`` and their paid share kept by ``gateway.domain.postpaid.allocate``;
``payments`` are imported payments, each reference once. Lines written before
this version hold nothing of these and are ``prepaid`` or ``postpaid`` as before.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 12

STATEMENTS = (
    "ALTER TABLE subscribers ADD COLUMN deposit_minor INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE subscribers ADD COLUMN dues_minor INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE subscribers ADD COLUMN unbilled_minor INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE subscribers ADD COLUMN notice_sent_at TEXT",
    "ALTER TABLE subscribers ADD COLUMN discontinue_at TEXT",
    "ALTER TABLE subscribers ADD COLUMN discontinued_at TEXT",
    # The life-cycle job visits live postpaid lines only.
    "CREATE INDEX idx_subscribers_postpaid ON subscribers(id) WHERE status = 'live' AND type = 'postpaid'",
    """CREATE TABLE bills (
        id INTEGER PRIMARY KEY,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        issued_on TEXT NOT NULL,
        due_on TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        paid_minor INTEGER NOT NULL DEFAULT 0,
        penalty_minor INTEGER NOT NULL DEFAULT 0,
        penalty_months INTEGER NOT NULL DEFAULT 0,
        imported_at TEXT NOT NULL)""",
    # One bill per line and period: a file imported twice is refused.
    "CREATE UNIQUE INDEX idx_bills_subscriber_period ON bills(subscriber_id, period_start, period_end)",
    "CREATE INDEX idx_bills_open ON bills(subscriber_id) WHERE paid_minor < amount_minor + penalty_minor",
    """CREATE TABLE payments (
        id INTEGER PRIMARY KEY,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
        amount_minor INTEGER NOT NULL,
        paid_at TEXT NOT NULL,
        reference TEXT NOT NULL,
        imported_at TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX idx_payments_reference ON payments(reference)",
    "CREATE INDEX idx_payments_subscriber_id ON payments(subscriber_id)",
)


def apply(db: sqlite_utils.Database) -> None:
    for statement in STATEMENTS:
        db.execute(statement)
