"""What an operator looks at, as JSON-ready data: a line's whole record, the outbox, campaigns, queues.

The operator console (``gateway.console``) shows these, page and API alike,
and the CLI prints the same shapes for disputes and complaints: times in the
operator's time zone (ISO-8601 with offset), money as ``{"minor",
"display"}``. Every function reads only (``record_action`` writes the
console's audit trail) and is bounded by its ``limit``; nothing returned
holds a PIN, an ID number or a hash of either. Numbers are whole here: a
role that must not see them gets them masked by the console.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.domain.disputes import deadlines
from gateway.domain.errors import InvalidInput
from gateway.domain.money import Money
from gateway.profile import OperatorProfile
from gateway.services import accounts, care
from gateway.services.model import DisputeResolved
from gateway.services.ports import Context
from gateway.services.sms_delivery import outbox_depth
from gateway.store.port import (
    CampaignRow,
    ComplaintRow,
    ConsoleAction,
    DisputeRow,
    OutboxMessage,
)

#: Outbox states and kinds a filter may name (``gateway.store.sms``).
OUTBOX_STATES = ("queued", "sending", "submitted", "delivered", "undeliverable", "expired", "failed", "skipped")
OUTBOX_KINDS = ("reply", "notification", "reminder", "marketing")
#: Accepted by the SMSC: a receipt came or may still come.
SENT_STATES = ("submitted", "delivered", "undeliverable", "expired")
#: Final and not delivered.
FAILED_STATES = ("failed", "undeliverable", "expired")
#: Still to be sent.
WAITING_STATES = ("queued", "sending")
#: Most rows a page may ask for; ``PAGE`` when it names none.
MAX_PAGE = 200
PAGE = 50
#: A line's own messages shown with its record (the outbox page has them all).
LINE_MESSAGES = 10


# --- shapes --------------------------------------------------------------------------------


def when(profile: OperatorProfile, moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(profile.time_zone).isoformat()


def money(profile: OperatorProfile, minor: int | None) -> dict[str, Any] | None:
    if minor is None:
        return None
    amount = Money(minor, profile.currency)
    return {"minor": amount.minor, "display": amount.display()}


def dispute_json(profile: OperatorProfile, row: DisputeRow) -> dict[str, Any]:
    """A bill dispute as ``disputes list`` prints it (both settlement deadlines, the outcome once resolved)."""
    policy = profile.care.dispute
    other = deadlines(row.raised_at, policy).other_provider if policy is not None else None
    return {
        "reference": row.reference, "msisdn": row.msisdn, "status": row.status,
        "bill": {"period_start": row.period_start.isoformat(), "period_end": row.period_end.isoformat()},
        "amount": money(profile, row.amount_minor), "reason": row.reason, "channel": row.channel,
        "raised_at": when(profile, row.raised_at),
        "settle_by": {"own_network": when(profile, row.due_at), "other_provider": when(profile, other)},
        "other_provider": row.other_provider, "credit": money(profile, row.credit_minor),
        "final": money(profile, row.final_minor), "late": row.late, "note": row.note,
        "resolved_at": when(profile, row.resolved_at),
    }


def complaint_json(profile: OperatorProfile, row: ComplaintRow) -> dict[str, Any]:
    """A written complaint as ``complaints list`` prints it (the text as written, the answer once closed)."""
    return {
        "reference": row.reference, "msisdn": row.msisdn, "status": row.status, "text": row.text,
        "channel": row.channel, "received_at": when(profile, row.received_at), "note": row.note,
        "closed_at": when(profile, row.closed_at),
    }


def message_json(profile: OperatorProfile, row: OutboxMessage) -> dict[str, Any]:
    """An outbox message with its parts: the SMSC message id and the receipt of each.

    A one-part message keeps its SMSC id and receipt on the message itself;
    it is listed as its one part, so every sent message has ``parts``.
    """
    parts = [{"part": p.part, "smsc_message_id": p.smsc_message_id, "status": p.status,
              "receipt": _receipt(profile, p.receipt_stat, p.receipt_at)} for p in row.parts]
    if not parts and row.smsc_message_id is not None:
        parts = [{"part": 1, "smsc_message_id": row.smsc_message_id, "status": row.status,
                  "receipt": _receipt(profile, row.receipt_stat, row.receipt_at)}]
    return {
        "id": row.outbox_id, "source": row.source, "destination": row.destination, "text": row.text,
        "kind": row.kind, "status": row.status, "attempts": row.attempts, "error": row.error,
        "created_at": when(profile, row.created_at), "updated_at": when(profile, row.updated_at),
        "submitted_at": when(profile, row.submitted_at), "smsc": row.smsc,
        "campaign_id": row.campaign_id, "receipt": _receipt(profile, row.receipt_stat, row.receipt_at),
        "parts": parts,
    }


def _receipt(profile: OperatorProfile, stat: str | None, at: datetime | None) -> dict[str, Any] | None:
    return None if stat is None else {"stat": stat, "at": when(profile, at)}


def campaign_json(profile: OperatorProfile, row: CampaignRow) -> dict[str, Any]:
    """A campaign's progress: its messages by state, and the share of those sent that were delivered."""
    counts = dict(row.counts)
    sent = sum(counts.get(state, 0) for state in SENT_STATES)
    delivered = counts.get("delivered", 0)
    return {
        "id": row.campaign_id, "text": row.text, "created_at": when(profile, row.created_at),
        "channel": row.channel, "total": sum(counts.values()),
        "queued": sum(counts.get(state, 0) for state in WAITING_STATES),
        "sent": sent, "delivered": delivered,
        "awaiting_receipt": counts.get("submitted", 0),
        "failed": sum(counts.get(state, 0) for state in FAILED_STATES),
        "skipped": counts.get("skipped", 0),
        "delivery_rate": None if not sent else round(delivered / sent, 4),
        "counts": {state: counts.get(state, 0) for state in OUTBOX_STATES},
    }


def resolved_json(profile: OperatorProfile, resolved: DisputeResolved) -> dict[str, Any]:
    """What resolving a dispute did: its outcome, the final bill, and whether the subscriber was told by SMS."""
    return {"reference": resolved.reference, "msisdn": resolved.msisdn, "status": resolved.status,
            "amount": money(profile, resolved.amount.minor), "credit": money(profile, resolved.credit.minor),
            "final": money(profile, resolved.final.minor), "late": resolved.late, "note": resolved.note,
            "told": resolved.told}


def action_json(profile: OperatorProfile, row: ConsoleAction) -> dict[str, Any]:
    return {"id": row.action_id, "at": when(profile, row.at), "role": row.role, "actor": row.actor,
            "action": row.action, "target": row.target, "outcome": row.outcome, "detail": row.detail}


# --- reads ---------------------------------------------------------------------------------


def page_size(limit: int | None) -> int:
    """Raises: InvalidInput: not from 1 to ``MAX_PAGE``."""
    if limit is None:
        return PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit: from 1 to {MAX_PAGE}")
    return limit


def subscriber(ctx: Context, msisdn: str, *, ledger_limit: int | None = None,
               ledger_before: int | None = None) -> dict[str, Any]:
    """``subscribers show`` and the rest of the line's record, in one consistent read.

    Adds: ``ledger`` (newest first, a page of it), ``lost_reports`` (every
    report, open or resolved), ``disputes`` and ``complaints`` (where the
    profile takes them) and the line's latest ``messages``.

    Raises:
        UnknownSubscriber: no line, live or given up, ever had this number.
        InvalidMsisdn: not a number of this operator.
        InvalidInput: a bad ``ledger_limit``.
    """
    limit = page_size(ledger_limit)
    profile = ctx.profile
    msisdn = profile.number_plan.normalise(msisdn)
    with ctx.store.snapshot_uow() as uow:
        record, shown = accounts.describe(ctx, uow, msisdn)
        ledger = uow.reports.ledger(record.subscriber_id, limit=limit, before=ledger_before)
        lost = uow.reports.lost_reports(record.subscriber_id)
        offered = profile.care.offered
        disputes = (uow.care.disputes(open_only=False, subscriber_id=record.subscriber_id)
                    if "dispute" in offered else None)
        complaints = (uow.care.complaints(open_only=False, subscriber_id=record.subscriber_id)
                      if "complaint" in offered else None)
        messages = uow.reports.outbox(destination=record.msisdn, status=None, kind=None, campaign_id=None,
                                      limit=LINE_MESSAGES)
    return {
        **shown,
        "ledger": [{"id": e.entry_id, "bucket": e.bucket, "delta": money(profile, e.delta_minor), "kind": e.kind,
                    "at": when(profile, e.at), "recorded_at": when(profile, e.recorded_at),
                    "reference": e.reference, "channel": e.channel} for e in ledger],
        "ledger_next": ledger[-1].entry_id if len(ledger) == limit else None,
        "lost_reports": [{"reference": r.reference, "reported_at": when(profile, r.reported_at),
                          "reporter": r.reporter, "channel": r.channel, "resolved_at": when(profile, r.resolved_at)}
                         for r in lost],
        "disputes": None if disputes is None else [dispute_json(profile, d) for d in disputes],
        "complaints": None if complaints is None else [complaint_json(profile, c) for c in complaints],
        "messages": [message_json(profile, m) for m in messages],
    }


def outbox(ctx: Context, *, msisdn: str | None = None, status: str | None = None, kind: str | None = None,
           campaign_id: int | None = None, limit: int | None = None, before: int | None = None) -> dict[str, Any]:
    """Outbox messages, newest first, filtered by number, state, kind or campaign; ``next`` pages on.

    Raises:
        InvalidInput, InvalidMsisdn: a filter that names no state, kind or number of this operator.
    """
    size = page_size(limit)
    if status is not None and status not in OUTBOX_STATES:
        raise InvalidInput(f"status: one of {', '.join(OUTBOX_STATES)}")
    if kind is not None and kind not in OUTBOX_KINDS:
        raise InvalidInput(f"kind: one of {', '.join(OUTBOX_KINDS)}")
    number = None if msisdn is None else ctx.profile.number_plan.normalise(msisdn)
    rows = ctx.store.read_uow().reports.outbox(destination=number, status=status, kind=kind,
                                               campaign_id=campaign_id, limit=size, before=before)
    return {"filter": {"msisdn": number, "status": status, "kind": kind, "campaign_id": campaign_id},
            "messages": [message_json(ctx.profile, row) for row in rows],
            "next": rows[-1].outbox_id if len(rows) == size else None}


def message(ctx: Context, outbox_id: int) -> dict[str, Any] | None:
    """One outbox message with its parts and receipts (None: no such message)."""
    row = ctx.store.read_uow().reports.outbox_message(outbox_id)
    return None if row is None else message_json(ctx.profile, row)


def campaigns(ctx: Context, *, limit: int | None = None, before: int | None = None) -> dict[str, Any]:
    size = page_size(limit)
    rows = ctx.store.read_uow().reports.campaigns(limit=size, before=before)
    return {"campaigns": [campaign_json(ctx.profile, row) for row in rows],
            "next": rows[-1].campaign_id if len(rows) == size else None}


def campaign(ctx: Context, campaign_id: int) -> dict[str, Any] | None:
    row = ctx.store.read_uow().reports.campaign(campaign_id)
    return None if row is None else campaign_json(ctx.profile, row)


def voucher_stock(ctx: Context) -> dict[str, Any]:
    """Voucher batches by face value with their counts by state (``active``, ``used``, ``expired``: active
    past its last day, as of the operator's today). Never a PIN or its hash."""
    profile = ctx.profile
    today = ctx.clock.now().astimezone(profile.time_zone).date()
    batches: dict[tuple[str, int], dict[str, Any]] = {}
    totals = {"active": 0, "used": 0, "expired": 0}
    for row in ctx.store.read_uow().reports.voucher_stock(today):
        batch = batches.setdefault((row.batch, row.amount_minor), {
            "batch": row.batch, "amount": money(profile, row.amount_minor),
            "created_at": when(profile, row.first_created_at), "expires_on": None,
            "counts": {"active": 0, "used": 0, "expired": 0}, "total": 0})
        batch["counts"][row.state] = batch["counts"].get(row.state, 0) + row.count
        batch["total"] += row.count
        totals[row.state] = totals.get(row.state, 0) + row.count
        if row.expires_on is not None and (batch["expires_on"] is None
                                           or row.expires_on.isoformat() < batch["expires_on"]):
            batch["expires_on"] = row.expires_on.isoformat()
    return {"batches": list(batches.values()), "totals": totals, "as_of": today.isoformat()}


def overview(ctx: Context) -> dict[str, Any]:
    """What waits: the outbox by live state, the open disputes and complaints (None: not offered), the
    latest campaign."""
    offered = ctx.profile.care.offered
    latest = ctx.store.read_uow().reports.campaigns(limit=1)
    return {
        "profile": ctx.profile.key,
        "outbox": outbox_depth(ctx.store, ctx.clock.now()),
        "open_disputes": len(care.list_disputes(ctx, open_only=True)) if "dispute" in offered else None,
        "open_complaints": len(care.list_complaints(ctx, open_only=True)) if "complaint" in offered else None,
        "latest_campaign": campaign_json(ctx.profile, latest[0]) if latest else None,
    }


def disputes(ctx: Context, *, open_only: bool = False) -> dict[str, Any]:
    """The disputes queue, oldest first (``offered`` false, and none, where the profile takes no disputes)."""
    if "dispute" not in ctx.profile.care.offered:
        return {"offered": False, "disputes": []}
    return {"offered": True, "disputes": [dispute_json(ctx.profile, row)
                                          for row in care.list_disputes(ctx, open_only=open_only)]}


def complaints(ctx: Context, *, open_only: bool = False) -> dict[str, Any]:
    """The complaints queue, oldest first (``offered`` false, and none, where the profile takes none)."""
    if "complaint" not in ctx.profile.care.offered:
        return {"offered": False, "complaints": []}
    return {"offered": True, "complaints": [complaint_json(ctx.profile, row)
                                            for row in care.list_complaints(ctx, open_only=open_only)]}


# --- the console's own trail ------------------------------------------------------------------


def record_action(ctx: Context, *, role: str, actor: str, action: str, target: str, outcome: str,
                  detail: str | None = None) -> None:
    """One row of the console's audit trail (who, as role and token or session id; what; how it ended)."""
    now = ctx.clock.now()
    with ctx.store.write_uow(single_statement=True) as uow:
        uow.audit.record(at=now, role=role, actor=actor, action=action, target=target, outcome=outcome,
                         detail=detail)


def actions(ctx: Context, *, limit: int | None = None, before: int | None = None) -> dict[str, Any]:
    size = page_size(limit)
    rows = ctx.store.read_uow().audit.recent(limit=size, before=before)
    return {"actions": [action_json(ctx.profile, row) for row in rows],
            "next": rows[-1].action_id if len(rows) == size else None}
