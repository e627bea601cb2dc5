"""The dialogue journal and the aggregators' end-of-session reports (``ussd report``).

``ussd_journal``: one row per USSD dialogue the gateway served, written when
it ended (our END, a close, or found expired by the session sweep): its
service code, number, start and end, outcome (``completed``, ``abandoned``,
``timed_out``, ``failed``), the last screen (``tree:screen``) and how many
answers it took. ``source`` says who decided the outcome (``gateway``,
``report``, ``sweep``): a later row of a higher rank replaces it, never one
of a lower rank. ``ussd_reports``: an aggregator's end-of-session report, one
per session (a resend is stored once). The report's ``input`` is never kept
(it holds every answer, a PIN among them): only how many answers it held.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 17

#: ``ussd_reports``' first columns: the session and what the aggregator said of it. The same text on
#: both databases (``gateway.store.postgres.schema`` uses it too).
REPORT_COLUMNS = """session_id TEXT PRIMARY KEY,
        service_code TEXT NOT NULL,
        msisdn TEXT NOT NULL,
        network_code TEXT,
        status TEXT NOT NULL,
        answers INTEGER NOT NULL"""


def apply(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE ussd_journal (
        session_id TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        service_code TEXT NOT NULL,
        msisdn TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        screen TEXT NOT NULL,
        steps INTEGER NOT NULL,
        detail TEXT,
        source TEXT NOT NULL)""")
    db.execute("CREATE INDEX idx_ussd_journal_started_at ON ussd_journal(started_at)")
    db.execute(f"""CREATE TABLE ussd_reports (
        {REPORT_COLUMNS},
        duration_ms INTEGER,
        hops INTEGER,
        app_ended INTEGER,
        error_message TEXT,
        cost TEXT,
        received_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX idx_ussd_reports_received_at ON ussd_reports(received_at)")
