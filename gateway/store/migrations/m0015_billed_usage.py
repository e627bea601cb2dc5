"""What an imported bill took off a postpaid line's unbilled usage (``seeds/004_1cabed6f540fdada.txt`` 7.3, 7.6).

``usage_records.bill_id``: the bill that billed a record added to unbilled
usage (NULL: on no bill yet). ``statements.billed_bill_id``: the bill a
detailed statement's charge was added to (NULL: waiting for the next bill).
A record or a charge is billed once; ``bills import`` sets both in the
transaction that stores the bill and moves the amounts out of ``unbilled``
by ledger rows.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 15


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE usage_records ADD COLUMN bill_id INTEGER REFERENCES bills(id)")
    db.execute("ALTER TABLE statements ADD COLUMN billed_bill_id INTEGER REFERENCES bills(id)")
