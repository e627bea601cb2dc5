"""Written requests to customer care (``seeds/004_1cabed6f540fdada.txt``).

``statements`` (clause 7.6): a detailed statement given for a bill, one per
bill (asking again resends it, charging nothing more). ``disputes`` (3(B).4,
9.3): one per bill, with a copy of the bill's period and amount as disputed,
its deadline and, once resolved, the outcome. ``complaints`` (9.1, 10.1):
the subscriber's own text. ``number_changes`` (5.1): requests accepted (a
refused one, with arrears, is only answered). Each carries a reference the
subscriber can quote, unique in its table.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 14


def apply(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE statements (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
        bill_id INTEGER NOT NULL REFERENCES bills(id),
        charge_minor INTEGER NOT NULL,
        lines INTEGER NOT NULL,
        channel TEXT NOT NULL,
        asked_at TEXT NOT NULL)""")
    db.execute("CREATE UNIQUE INDEX idx_statements_reference ON statements(reference)")
    db.execute("CREATE UNIQUE INDEX idx_statements_bill_id ON statements(bill_id)")
    db.execute("""CREATE TABLE disputes (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
        bill_id INTEGER NOT NULL REFERENCES bills(id),
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        reason TEXT NOT NULL,
        channel TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        status TEXT NOT NULL,
        other_provider INTEGER,
        credit_minor INTEGER,
        final_minor INTEGER,
        late INTEGER,
        note TEXT,
        resolved_at TEXT)""")
    db.execute("CREATE UNIQUE INDEX idx_disputes_reference ON disputes(reference)")
    db.execute("CREATE UNIQUE INDEX idx_disputes_bill_id ON disputes(bill_id)")
    db.execute("CREATE INDEX idx_disputes_status ON disputes(status)")
    db.execute("""CREATE TABLE complaints (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
        text TEXT NOT NULL,
        channel TEXT NOT NULL,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL,
        note TEXT,
        closed_at TEXT)""")
    db.execute("CREATE UNIQUE INDEX idx_complaints_reference ON complaints(reference)")
    db.execute("CREATE INDEX idx_complaints_status ON complaints(status)")
    db.execute("""CREATE TABLE number_changes (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
        channel TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        status TEXT NOT NULL)""")
    db.execute("CREATE UNIQUE INDEX idx_number_changes_reference ON number_changes(reference)")
    db.execute("CREATE INDEX idx_number_changes_subscriber_id ON number_changes(subscriber_id)")
