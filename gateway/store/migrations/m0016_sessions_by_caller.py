"""USSD sessions by caller and code, newest first: resume after a timeout (issue 18).

Dialling a code again looks up that number's latest dialogue of the same
code (``Sessions.latest``) to offer it back when it stopped without our END;
the index makes that one probe on every new dialogue's first request.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 16


def apply(db: sqlite_utils.Database) -> None:
    db.execute("CREATE INDEX idx_ussd_sessions_caller ON ussd_sessions(msisdn, service_code, created_at)")
