"""No voucher PIN or ID number left in clear by the versions before this one.

From this version on, MO texts are stored sealed, top-up request keys as a
keyed hash and USSD results under a keyed hash of their answer path. What
earlier versions wrote in clear cannot be hashed here (a migration has no
key), so it goes:

- the texts of answered MO (the rows stay, as the record of the message);
  a row still to be answered keeps its text until it is answered;
- USSD request keys (``ussd:<session>:<answers>``) of past top-ups: they only
  served resends of sessions that are long over;
- USSD session rows: they live minutes; a dialogue in progress starts again.

Also an index for the retention purge of answered MO texts
(``Inbox.purge_texts``), which then reads only the rows it empties.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 6


def apply(db: sqlite_utils.Database) -> None:
    db.execute("UPDATE sms_inbox SET text = '' WHERE status <> 'received'")
    db.execute("UPDATE topups SET request_key = NULL WHERE request_key LIKE 'ussd:%'")
    db.execute("DELETE FROM ussd_sessions")
    db.execute("CREATE INDEX sms_inbox_text_kept ON sms_inbox (handled_at) "
               "WHERE text <> '' AND status <> 'received'")
