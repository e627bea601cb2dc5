"""Rated usage records, and what the inactivity life cycle needs on a line.

``usage_records`` holds every imported record with its rating and what was
charged; its identity (``msisdn, started_at, kind, quantity``) is unique, so
a record imported twice is refused by the index whatever the file. A
record's ledger rows carry ``usage:<id>`` as their reference.

On ``subscribers``: ``last_active_at`` is when activity (a USSD dialogue, an
MO SMS, imported usage) was first noted on its local day, written at most once
a day (NULL: none since the line was added; ``created_at`` counts);
``deactivated_at`` is when an inactive line was deactivated (NULL: it is
not), cleared by a reissue. ``seeds/004_1cabed6f540fdada.txt`` 3(B).12.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 13


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE subscribers ADD COLUMN last_active_at TEXT")
    db.execute("ALTER TABLE subscribers ADD COLUMN deactivated_at TEXT")
    db.table("usage_records").create(
        {
            "id": int,
            "subscriber_id": int,
            "msisdn": str,
            "started_at": str,
            "kind": str,  # voice | sms | data
            "quantity": int,  # seconds | messages | bytes
            "units": int,  # started charging units
            "charge_minor": int,  # the rated price
            "charged_minor": int,  # what was debited, or added to unbilled usage
            "outcome": str,  # charged | short | no_funds | refused
            "imported_at": str,
        },
        pk="id",
        foreign_keys=[("subscriber_id", "subscribers", "id")],
        not_null={"subscriber_id", "msisdn", "started_at", "kind", "quantity", "units", "charge_minor",
                  "charged_minor", "outcome", "imported_at"},
    )
    db.execute("CREATE UNIQUE INDEX idx_usage_records_identity "
               "ON usage_records(msisdn, started_at, kind, quantity)")
    db.execute("CREATE INDEX idx_usage_records_subscriber_id_started_at "
               "ON usage_records(subscriber_id, started_at)")
