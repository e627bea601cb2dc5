"""Who answers an inbox row, and until when, so several gateways can share one inbox.

An MO is answered by the process that stored it (``received_by``) while its
claim lasts (``lease_until``); a row still ``received`` after that, or one
stored by an earlier run of a process in the same place, is taken over by
another process, so the MO of a process that died are answered once by
another. Rows written before this version have neither and are anyone's
to answer at the next start, as before.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 10


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE sms_inbox ADD COLUMN received_by TEXT")
    db.execute("ALTER TABLE sms_inbox ADD COLUMN lease_until TEXT")
