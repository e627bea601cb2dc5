"""What the operator console shows: campaigns, delivery receipts as received, and its own actions.

- ``campaigns``: one row per ``campaign send`` (its text, when, by which
  channel); ``sms_outbox.campaign_id`` names the campaign of each of its
  messages, queued or skipped, so a campaign's progress is a count of its
  rows by state. Marketing rows written before this version are gathered
  into campaigns by their text and the moment they were queued (a campaign
  queues all its rows in one transaction, at one moment).
- ``receipt_stat`` / ``receipt_at`` on ``sms_outbox`` (a one-part message)
  and on ``sms_outbox_parts`` (each part of a longer one): the final ``stat``
  of the delivery receipt and when it was recorded; on the message of a
  multi-part SMS, the receipt that settled it. Rows settled before this
  version have their state and no receipt.
- an index on ``sms_outbox(destination, id)``: the console finds a number's
  messages, newest first, without reading the whole outbox.
- ``console_actions``: every action taken in the console (who, as a role and
  the id of their token or session, never the token; what; on which case;
  done or refused, and why).
"""

from __future__ import annotations

import sqlite_utils

VERSION = 18

#: ``console_actions``' columns after its key and time: who, what, on which case, how it went. The
#: same text on both databases (``gateway.store.postgres.schema`` uses it too).
ACTION_COLUMNS = """role TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT"""

STATEMENTS = (
    """CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        channel TEXT NOT NULL)""",
    "ALTER TABLE sms_outbox ADD COLUMN campaign_id INTEGER REFERENCES campaigns(id)",
    "CREATE INDEX idx_sms_outbox_campaign_id_status ON sms_outbox(campaign_id, status)",
    "CREATE INDEX idx_sms_outbox_destination_id ON sms_outbox(destination, id)",
    "ALTER TABLE sms_outbox ADD COLUMN receipt_stat TEXT",
    "ALTER TABLE sms_outbox ADD COLUMN receipt_at TEXT",
    "ALTER TABLE sms_outbox_parts ADD COLUMN receipt_stat TEXT",
    "ALTER TABLE sms_outbox_parts ADD COLUMN receipt_at TEXT",
    f"""CREATE TABLE console_actions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        {ACTION_COLUMNS})""",
    "CREATE INDEX idx_console_actions_at ON console_actions(at)",
)

#: Earlier marketing rows, one campaign per (text, moment queued): the same SQL on both databases.
BACKFILL = (
    "INSERT INTO campaigns (text, created_at, channel) SELECT text, created_at, 'cli' FROM sms_outbox "
    "WHERE kind = 'marketing' GROUP BY text, created_at ORDER BY min(id)",
    "UPDATE sms_outbox SET campaign_id = (SELECT c.id FROM campaigns c WHERE c.text = sms_outbox.text "
    "AND c.created_at = sms_outbox.created_at) WHERE kind = 'marketing'",
)


def apply(db: sqlite_utils.Database) -> None:
    for statement in STATEMENTS + BACKFILL:
        db.execute(statement)
