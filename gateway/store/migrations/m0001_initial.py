"""The initial schema.

Money columns are ``*_minor`` integers; time columns are ISO-8601 UTC text.
A subscriber row carries its account (main and restorable buckets) so a
balance check is one indexed read; promotional lots are rows of their own.
``ledger`` is append-only: for every subscriber and bucket the sum of its
``delta_minor`` equals the bucket.
"""

from __future__ import annotations

import sqlite_utils

VERSION = 1


def apply(db: sqlite_utils.Database) -> None:
    db.table("subscribers").create(
        {
            "id": int,
            "msisdn": str,
            "type": str,  # prepaid | postpaid
            "language": str,
            "id_hash": str,  # HMAC of the ID number, or NULL
            "status": str,  # live | recycled
            "created_at": str,
            "recycled_at": str,
            "marketing_opt_in": int,
            "main_minor": int,
            "main_expires_at": str,
            "restorable_minor": int,
            "restorable_until": str,
        },
        pk="id",
        not_null={"msisdn", "type", "language", "status", "created_at", "marketing_opt_in",
                  "main_minor", "restorable_minor"},
        defaults={"status": "live", "marketing_opt_in": 1, "main_minor": 0, "restorable_minor": 0},
    )
    # One live subscriber per number; recycled rows keep their history.
    db.execute(
        "CREATE UNIQUE INDEX idx_subscribers_live_msisdn ON subscribers(msisdn) WHERE status = 'live'"
    )
    db.execute("CREATE INDEX idx_subscribers_msisdn ON subscribers(msisdn)")
    db.execute(
        "CREATE INDEX idx_subscribers_expiry ON subscribers(main_expires_at) WHERE status = 'live'"
    )

    db.table("promo_lots").create(
        {"id": int, "subscriber_id": int, "amount_minor": int, "granted_at": str, "expires_at": str},
        pk="id",
        foreign_keys=[("subscriber_id", "subscribers", "id")],
        not_null={"subscriber_id", "amount_minor", "granted_at", "expires_at"},
    )
    db.table("promo_lots").create_index(["subscriber_id"])

    db.table("ledger").create(
        {
            "id": int,
            "subscriber_id": int,
            "bucket": str,  # main | restorable | promo
            "promo_lot_id": int,
            "delta_minor": int,
            "kind": str,  # gateway.domain.account.EntryKind
            "at": str,  # when it took effect
            "recorded_at": str,
            "reference": str,  # voucher serial, topup id, ...
            "channel": str,
        },
        pk="id",
        foreign_keys=[("subscriber_id", "subscribers", "id"), ("promo_lot_id", "promo_lots", "id")],
        not_null={"subscriber_id", "bucket", "delta_minor", "kind", "at", "recorded_at"},
    )
    db.table("ledger").create_index(["subscriber_id", "bucket"])

    db.table("vouchers").create(
        {
            "id": int,
            "serial": str,
            "pin_hash": str,
            "amount_minor": int,
            "active_days": int,
            "expires_on": str,  # last local day it can be redeemed, or NULL
            "batch": str,
            "status": str,  # active | used
            "created_at": str,
            "used_at": str,
            "used_by": int,
        },
        pk="id",
        foreign_keys=[("used_by", "subscribers", "id")],
        not_null={"serial", "pin_hash", "amount_minor", "active_days", "status", "created_at"},
        defaults={"status": "active"},
    )
    db.table("vouchers").create_index(["serial"], unique=True)
    db.table("vouchers").create_index(["pin_hash"], unique=True)

    db.table("topups").create(
        {
            "id": int,
            "request_key": str,  # idempotency key of the channel (e.g. a USSD session step)
            "requester_msisdn": str,
            "subscriber_id": int,
            "voucher_id": int,
            "amount_minor": int,
            "restored_minor": int,
            "balance_after_minor": int,
            "expires_at": str,  # main expiry after the top-up
            "at": str,
            "channel": str,
        },
        pk="id",
        foreign_keys=[("subscriber_id", "subscribers", "id"), ("voucher_id", "vouchers", "id")],
        not_null={"requester_msisdn", "subscriber_id", "voucher_id", "amount_minor", "at", "channel"},
    )
    db.table("topups").create_index(["request_key"], unique=True)
    db.table("topups").create_index(["voucher_id"], unique=True)

    # Every refused or failed top-up (wrong PIN, used voucher, locked, ...).
    db.table("topup_attempts").create(
        {"id": int, "msisdn": str, "at": str, "outcome": str, "channel": str},
        pk="id",
        not_null={"msisdn", "at", "outcome", "channel"},
    )
    db.table("topup_attempts").create_index(["msisdn", "at"])

    # Earned lockouts: kind (topup | lost | ...) and key (a number).
    db.table("locks").create(
        {"kind": str, "key": str, "locked_until": str},
        pk=("kind", "key"),
        not_null={"locked_until"},
    )

    db.table("lost_reports").create(
        {
            "id": int,
            "subscriber_id": int,
            "reference": str,
            "reported_at": str,
            "reporter_msisdn": str,
            "channel": str,
            "resolved_at": str,
        },
        pk="id",
        foreign_keys=[("subscriber_id", "subscribers", "id")],
        not_null={"subscriber_id", "reference", "reported_at", "reporter_msisdn", "channel"},
    )
    db.table("lost_reports").create_index(["reference"], unique=True)
    db.execute(
        "CREATE UNIQUE INDEX idx_lost_reports_open ON lost_reports(subscriber_id) WHERE resolved_at IS NULL"
    )
    db.table("lost_attempts").create(
        {"id": int, "reporter_msisdn": str, "at": str, "outcome": str, "channel": str},
        pk="id",
        not_null={"reporter_msisdn", "at", "outcome", "channel"},
    )
    db.table("lost_attempts").create_index(["reporter_msisdn", "at"])

    db.table("consent_events").create(
        {"id": int, "subscriber_id": int, "opt_in": int, "at": str, "channel": str},
        pk="id",
        foreign_keys=[("subscriber_id", "subscribers", "id")],
        not_null={"subscriber_id", "opt_in", "at", "channel"},
    )
    db.table("consent_events").create_index(["subscriber_id"])

    # Reminders already sent, so each is sent once per expiry cycle.
    db.table("reminders").create(
        {"subscriber_id": int, "kind": str, "cycle": str, "sent_at": str},
        pk=("subscriber_id", "kind", "cycle"),
        foreign_keys=[("subscriber_id", "subscribers", "id")],
    )

    db.table("ussd_sessions").create(
        {
            "session_id": str,
            "msisdn": str,
            "service_code": str,
            "state": str,  # JSON kept by the USSD adapter
            "created_at": str,
            "updated_at": str,
            "expires_at": str,
        },
        pk="session_id",
        not_null={"msisdn", "service_code", "created_at", "updated_at", "expires_at"},
    )
    db.table("ussd_sessions").create_index(["expires_at"])

    db.table("sms_inbox").create(
        {
            "id": int,
            "dedupe_key": str,  # identifies a resent PDU / a reassembled message
            "source": str,
            "destination": str,
            "text": str,
            "data_coding": int,
            "received_at": str,
            "status": str,  # received | handled | failed
            "handled_at": str,
            "error": str,
        },
        pk="id",
        not_null={"source", "destination", "text", "received_at", "status"},
        defaults={"status": "received"},
    )
    db.table("sms_inbox").create_index(["dedupe_key"], unique=True)
    db.table("sms_inbox").create_index(["status"])

    db.table("sms_outbox").create(
        {
            "id": int,
            "source": str,
            "destination": str,
            "text": str,
            "kind": str,  # reply | notification | reminder | marketing
            "status": str,  # queued | submitted | delivered | undeliverable | expired | failed | skipped
            "attempts": int,
            "next_attempt_at": str,
            "smsc_message_id": str,
            "created_at": str,
            "updated_at": str,
            "error": str,
            "dedupe_key": str,
        },
        pk="id",
        not_null={"source", "destination", "text", "kind", "status", "attempts", "created_at",
                  "updated_at"},
        defaults={"status": "queued", "attempts": 0},
    )
    db.table("sms_outbox").create_index(["status", "next_attempt_at"])
    db.table("sms_outbox").create_index(["smsc_message_id"])
    db.table("sms_outbox").create_index(["dedupe_key"], unique=True)
