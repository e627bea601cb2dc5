"""The PostgreSQL schema, version by version: the equivalent of each SQLite module ``m000n_*``.

The same tables, columns, unique indexes and constraints as the SQLite side
(they back the exactly-once rules), with the same index names; the types are
those ``gateway.store.postgres.migrations`` describes. Released versions are
never edited: add a new one (and its SQLite twin).
"""

from __future__ import annotations

from gateway.store.migrations.m0017_ussd_journal import REPORT_COLUMNS
from gateway.store.migrations.m0018_console import ACTION_COLUMNS
from gateway.store.migrations.m0018_console import BACKFILL as CAMPAIGN_BACKFILL
from gateway.store.postgres.schema_initial import ID as _ID
from gateway.store.postgres.schema_initial import INITIAL

VERSIONS: dict[int, tuple[str, ...]] = {
    1: INITIAL,
    2: (
        """CREATE TABLE sms_outbox_parts (
            smsc_message_id TEXT PRIMARY KEY,
            outbox_id BIGINT NOT NULL REFERENCES sms_outbox(id),
            part INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'submitted')""",
        "CREATE INDEX idx_sms_outbox_parts_outbox_id ON sms_outbox_parts(outbox_id)",
        """CREATE TABLE sms_segments (
            source TEXT NOT NULL,
            destination TEXT NOT NULL,
            reference INTEGER NOT NULL,
            total INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            data BYTEA NOT NULL,
            data_coding INTEGER NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (source, destination, reference, total, seq))""",
        "CREATE INDEX idx_sms_segments_received_at ON sms_segments(received_at)",
        "ALTER TABLE sms_inbox ADD COLUMN digest TEXT",
        "CREATE INDEX idx_sms_inbox_digest ON sms_inbox(digest, received_at)",
        # The sender's claim: replies before notifications, each in queue order.
        "CREATE INDEX idx_sms_outbox_due_kind ON sms_outbox(status, kind, next_attempt_at)",
    ),
    3: (
        """CREATE TABLE sms_receipts_early (
            smsc_message_id TEXT PRIMARY KEY,
            stat TEXT NOT NULL,
            received_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX idx_sms_receipts_early_received_at ON sms_receipts_early(received_at)",
    ),
    4: (
        f"""CREATE TABLE sms_redeliverable (
            {_ID},
            digest TEXT NOT NULL,
            inbox_id BIGINT NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX idx_sms_redeliverable_digest_recorded_at ON sms_redeliverable(digest, recorded_at)",
        "ALTER TABLE sms_inbox ADD COLUMN redelivery_of BIGINT REFERENCES sms_inbox(id)",
        "ALTER TABLE sms_inbox ADD COLUMN pending_ack SMALLINT",
        "CREATE INDEX idx_sms_inbox_pending_ack ON sms_inbox(pending_ack) WHERE pending_ack IS NOT NULL",
    ),
    5: (
        "ALTER TABLE sms_outbox ADD COLUMN smsc TEXT",
        "ALTER TABLE sms_outbox ADD COLUMN submitted_at TIMESTAMPTZ",
        "ALTER TABLE sms_inbox ADD COLUMN incomplete SMALLINT NOT NULL DEFAULT 0",
        # Row ids of their own instead of the SMSC message id (unique per SMSC only until it restarts).
        "ALTER TABLE sms_outbox_parts DROP CONSTRAINT sms_outbox_parts_pkey",
        f"ALTER TABLE sms_outbox_parts ADD COLUMN {_ID}",
        "ALTER TABLE sms_outbox_parts ADD COLUMN smsc TEXT",
        "CREATE INDEX idx_sms_outbox_parts_message ON sms_outbox_parts(smsc_message_id)",
        "ALTER TABLE sms_receipts_early DROP CONSTRAINT sms_receipts_early_pkey",
        f"ALTER TABLE sms_receipts_early ADD COLUMN {_ID}",
        "ALTER TABLE sms_receipts_early ADD COLUMN smsc TEXT",
        "CREATE INDEX idx_sms_receipts_early_message ON sms_receipts_early(smsc_message_id)",
        # A reused 8-bit reference starts a new assembly instead of joining a stale part.
        "ALTER TABLE sms_segments DROP CONSTRAINT sms_segments_pkey",
        f"ALTER TABLE sms_segments ADD COLUMN {_ID}",
        "ALTER TABLE sms_segments ADD COLUMN assembly BIGINT",
        "ALTER TABLE sms_segments ADD COLUMN inbox_id BIGINT",
        "UPDATE sms_segments SET assembly = (SELECT min(f.id) FROM sms_segments f WHERE "
        "f.source = sms_segments.source AND f.destination = sms_segments.destination AND "
        "f.reference = sms_segments.reference AND f.total = sms_segments.total)",
        "CREATE INDEX idx_sms_segments_key ON sms_segments(source, destination, reference, total)",
    ),
    6: (
        "UPDATE sms_inbox SET text = '' WHERE status <> 'received'",
        "UPDATE topups SET request_key = NULL WHERE request_key LIKE 'ussd:%'",
        "DELETE FROM ussd_sessions",
        "CREATE INDEX sms_inbox_text_kept ON sms_inbox (handled_at) WHERE text <> '' AND status <> 'received'",
    ),
    7: (
        "ALTER TABLE lost_attempts ADD COLUMN target_msisdn TEXT",
        "CREATE INDEX idx_lost_attempts_target_msisdn_at ON lost_attempts(target_msisdn, at)",
    ),
    8: (
        "ALTER TABLE sms_outbox ADD COLUMN claimed_by TEXT",
        "ALTER TABLE sms_outbox ADD COLUMN lease_until TIMESTAMPTZ",
        "CREATE INDEX idx_sms_outbox_status_lease_until ON sms_outbox(status, lease_until)",
        # The claim (SELECT ... FOR UPDATE SKIP LOCKED) reads only claimable rows:
        # due queued rows per kind in queue order, and claims whose lease ran out.
        "CREATE INDEX sms_outbox_claim_due ON sms_outbox(kind, next_attempt_at) WHERE status = 'queued'",
        "CREATE INDEX sms_outbox_claim_expired ON sms_outbox(lease_until) WHERE status = 'sending'",
    ),
    9: (
        "ALTER TABLE sms_segments ADD COLUMN nonce BYTEA",
    ),
    10: (
        "ALTER TABLE sms_inbox ADD COLUMN received_by TEXT",
        "ALTER TABLE sms_inbox ADD COLUMN lease_until TIMESTAMPTZ",
    ),
    11: (
        "CREATE TABLE rate_limits (key TEXT PRIMARY KEY, full_at_ms BIGINT NOT NULL)",
    ),
    12: (
        "ALTER TABLE subscribers ADD COLUMN deposit_minor BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE subscribers ADD COLUMN dues_minor BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE subscribers ADD COLUMN unbilled_minor BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE subscribers ADD COLUMN notice_sent_at TIMESTAMPTZ",
        "ALTER TABLE subscribers ADD COLUMN discontinue_at TIMESTAMPTZ",
        "ALTER TABLE subscribers ADD COLUMN discontinued_at TIMESTAMPTZ",
        "CREATE INDEX idx_subscribers_postpaid ON subscribers(id) WHERE status = 'live' AND type = 'postpaid'",
        f"""CREATE TABLE bills (
            {_ID},
            subscriber_id BIGINT NOT NULL REFERENCES subscribers(id),
            period_start DATE NOT NULL,
            period_end DATE NOT NULL,
            issued_on DATE NOT NULL,
            due_on DATE NOT NULL,
            amount_minor BIGINT NOT NULL,
            paid_minor BIGINT NOT NULL DEFAULT 0,
            penalty_minor BIGINT NOT NULL DEFAULT 0,
            penalty_months INTEGER NOT NULL DEFAULT 0,
            imported_at TIMESTAMPTZ NOT NULL)""",
        "CREATE UNIQUE INDEX idx_bills_subscriber_period ON bills(subscriber_id, period_start, period_end)",
        "CREATE INDEX idx_bills_open ON bills(subscriber_id) WHERE paid_minor < amount_minor + penalty_minor",
        f"""CREATE TABLE payments (
            {_ID},
            subscriber_id BIGINT NOT NULL REFERENCES subscribers(id),
            amount_minor BIGINT NOT NULL,
            paid_at TIMESTAMPTZ NOT NULL,
            reference TEXT NOT NULL,
            imported_at TIMESTAMPTZ NOT NULL)""",
        "CREATE UNIQUE INDEX idx_payments_reference ON payments(reference)",
        "CREATE INDEX idx_payments_subscriber_id ON payments(subscriber_id)",
    ),
    13: (
        "ALTER TABLE subscribers ADD COLUMN last_active_at TIMESTAMPTZ",
        "ALTER TABLE subscribers ADD COLUMN deactivated_at TIMESTAMPTZ",
        f"""CREATE TABLE usage_records (
            {_ID},
            subscriber_id BIGINT NOT NULL REFERENCES subscribers(id),
            msisdn TEXT NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            kind TEXT NOT NULL,
            quantity BIGINT NOT NULL,
            units BIGINT NOT NULL,
            charge_minor BIGINT NOT NULL,
            charged_minor BIGINT NOT NULL,
            outcome TEXT NOT NULL,
            imported_at TIMESTAMPTZ NOT NULL)""",
        "CREATE UNIQUE INDEX idx_usage_records_identity ON usage_records(msisdn, started_at, kind, quantity)",
        "CREATE INDEX idx_usage_records_subscriber_id_started_at ON usage_records(subscriber_id, started_at)",
    ),
    # Written requests to customer care (004 clauses 5.1, 7.6, 9): m0014_care_requests.
    14: (
        f"""CREATE TABLE statements (
            {_ID},
            reference TEXT NOT NULL,
            subscriber_id BIGINT NOT NULL REFERENCES subscribers(id),
            bill_id BIGINT NOT NULL REFERENCES bills(id),
            charge_minor BIGINT NOT NULL,
            lines INTEGER NOT NULL,
            channel TEXT NOT NULL,
            asked_at TIMESTAMPTZ NOT NULL)""",
        "CREATE UNIQUE INDEX idx_statements_reference ON statements(reference)",
        "CREATE UNIQUE INDEX idx_statements_bill_id ON statements(bill_id)",
        f"""CREATE TABLE disputes (
            {_ID},
            reference TEXT NOT NULL,
            subscriber_id BIGINT NOT NULL REFERENCES subscribers(id),
            bill_id BIGINT NOT NULL REFERENCES bills(id),
            period_start DATE NOT NULL,
            period_end DATE NOT NULL,
            amount_minor BIGINT NOT NULL,
            reason TEXT NOT NULL,
            channel TEXT NOT NULL,
            raised_at TIMESTAMPTZ NOT NULL,
            due_at TIMESTAMPTZ NOT NULL,
            status TEXT NOT NULL,
            other_provider SMALLINT,
            credit_minor BIGINT,
            final_minor BIGINT,
            late SMALLINT,
            note TEXT,
            resolved_at TIMESTAMPTZ)""",
        "CREATE UNIQUE INDEX idx_disputes_reference ON disputes(reference)",
        "CREATE UNIQUE INDEX idx_disputes_bill_id ON disputes(bill_id)",
        "CREATE INDEX idx_disputes_status ON disputes(status)",
        f"""CREATE TABLE complaints (
            {_ID},
            reference TEXT NOT NULL,
            subscriber_id BIGINT NOT NULL REFERENCES subscribers(id),
            text TEXT NOT NULL,
            channel TEXT NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            status TEXT NOT NULL,
            note TEXT,
            closed_at TIMESTAMPTZ)""",
        "CREATE UNIQUE INDEX idx_complaints_reference ON complaints(reference)",
        "CREATE INDEX idx_complaints_status ON complaints(status)",
        f"""CREATE TABLE number_changes (
            {_ID},
            reference TEXT NOT NULL,
            subscriber_id BIGINT NOT NULL REFERENCES subscribers(id),
            channel TEXT NOT NULL,
            requested_at TIMESTAMPTZ NOT NULL,
            status TEXT NOT NULL)""",
        "CREATE UNIQUE INDEX idx_number_changes_reference ON number_changes(reference)",
        "CREATE INDEX idx_number_changes_subscriber_id ON number_changes(subscriber_id)",
    ),
    # What an imported bill took off the unbilled usage (004 7.3, 7.6): m0015_billed_usage.
    15: (
        "ALTER TABLE usage_records ADD COLUMN bill_id BIGINT REFERENCES bills(id)",
        "ALTER TABLE statements ADD COLUMN billed_bill_id BIGINT REFERENCES bills(id)",
    ),
    # A number's latest dialogue of a code, for resume after a timeout: m0016_sessions_by_caller.
    16: (
        "CREATE INDEX idx_ussd_sessions_caller ON ussd_sessions(msisdn, service_code, created_at)",
    ),
    # The dialogue journal and the aggregators' end-of-session reports: m0017_ussd_journal.
    17: (
        """CREATE TABLE ussd_journal (
            session_id TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            service_code TEXT NOT NULL,
            msisdn TEXT NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            ended_at TIMESTAMPTZ NOT NULL,
            outcome TEXT NOT NULL,
            screen TEXT NOT NULL,
            steps INTEGER NOT NULL,
            detail TEXT,
            source TEXT NOT NULL)""",
        "CREATE INDEX idx_ussd_journal_started_at ON ussd_journal(started_at)",
        f"""CREATE TABLE ussd_reports (
            {REPORT_COLUMNS},
            duration_ms BIGINT,
            hops INTEGER,
            app_ended SMALLINT,
            error_message TEXT,
            cost TEXT,
            received_at TIMESTAMPTZ NOT NULL)""",
        "CREATE INDEX idx_ussd_reports_received_at ON ussd_reports(received_at)",
    ),
    # The operator console: campaigns, receipts as received, its actions (m0018_console).
    18: (
        f"""CREATE TABLE campaigns (
            {_ID},
            text TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            channel TEXT NOT NULL)""",
        "ALTER TABLE sms_outbox ADD COLUMN campaign_id BIGINT REFERENCES campaigns(id)",
        "CREATE INDEX idx_sms_outbox_campaign_id_status ON sms_outbox(campaign_id, status)",
        "CREATE INDEX idx_sms_outbox_destination_id ON sms_outbox(destination, id)",
        "ALTER TABLE sms_outbox ADD COLUMN receipt_stat TEXT",
        "ALTER TABLE sms_outbox ADD COLUMN receipt_at TIMESTAMPTZ",
        "ALTER TABLE sms_outbox_parts ADD COLUMN receipt_stat TEXT",
        "ALTER TABLE sms_outbox_parts ADD COLUMN receipt_at TIMESTAMPTZ",
        f"""CREATE TABLE console_actions (
            {_ID},
            at TIMESTAMPTZ NOT NULL,
            {ACTION_COLUMNS})""",
        "CREATE INDEX idx_console_actions_at ON console_actions(at)",
        # Earlier marketing rows, one campaign per (text, moment queued): the SQLite migration's SQL.
        *CAMPAIGN_BACKFILL,
    ),
}


LATEST = max(VERSIONS)
