"""Delivery receipts that arrive before the submit_sm_resp naming their message id.

Some SMSCs send the receipt of a fast delivery before (or in the same TCP
segment as) the response to the submit. The receipt has been acknowledged
by then, so the SMSC will not send it again: it is kept here until the
response records the message id, then applied; receipts nobody claims are
purged after an hour by the SMS maintenance job.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 3


def apply(db: sqlite_utils.Database) -> None:
    db.table("sms_receipts_early").create(
        {"smsc_message_id": str, "stat": str, "received_at": str},
        pk="smsc_message_id",
        not_null={"stat", "received_at"},
    )
    db.table("sms_receipts_early").create_index(["received_at"])
