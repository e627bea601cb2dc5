"""Written requests to customer care (``seeds/004_1cabed6f540fdada.txt``): the use cases.

- ``ask_statement`` (clause 7.6): a detailed statement of the latest bill,
  refused with the reason when it is no longer owed; accepted, its charge is
  put on the next bill (``bills.charge_next_bill``) and its usage lines are
  queued as SMS in the same transaction.
- ``dispute_bill`` (3(B).4, 9.3): the latest bill disputed under a
  reference, with both settlement deadlines; the disputed amount is held as
  deposit until ``resolve_dispute`` tells the subscriber the final bill.
- ``file_complaint`` / ``close_complaint`` (9.1, 10.1): a complaint in
  writing and the written answer.
- ``ask_number_change`` (5.1(b)): refused while the line has arrears.

Every request comes from the subscriber's own line (a lost SIM originates
nothing) and only where the profile offers it (``CarePolicy``); each write is
one transaction, its SMS queued in it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

from gateway.domain import disputes as dispute_rules
from gateway.domain.care import REFERENCE_ALPHABET, REFERENCE_LENGTH, CarePolicy, format_reference
from gateway.domain.channels import Channel
from gateway.domain.complaints import ComplaintStatus, complaint_text
from gateway.domain.errors import (
    CaseClosed,
    DisputeSettled,
    InvalidInput,
    NotPostpaid,
    UnknownReference,
)
from gateway.domain.money import Money
from gateway.domain.number_change import check_number_change
from gateway.domain.statements import check_statement, chunks, period_bounds
from gateway.logs import get_logger
from gateway.services import care_bills as bills
from gateway.services.accounts import find_originator
from gateway.services.model import (
    ComplaintResult,
    DisputeResolved,
    DisputeResult,
    NumberChangeResult,
    OutgoingSms,
    StatementResult,
)
from gateway.services.ports import Context
from gateway.store.port import ComplaintRow, DisputeRow, SubscriberRecord, UnitOfWork

log = get_logger(__name__)

T = TypeVar("T")

#: Reference prefixes: ST statement, DP dispute, CP complaint, NC number change.
PREFIXES = {"statement": "ST", "dispute": "DP", "complaint": "CP", "number_change": "NC"}


class NotOffered(InvalidInput):
    """The profile does not offer this request (a channel never asks; the CLI may)."""


# --- statements (7.6) ---------------------------------------------------------------------


def ask_statement(ctx: Context, msisdn: str, channel: Channel) -> StatementResult:
    """A detailed statement of the latest bill.

    Raises:
        LineLost, UnknownSubscriber, NumberRecycled, NotPostpaid, NoBill, StatementRefused
    """
    policy = _offered(ctx, "statement", lambda care: care.statement)
    now = ctx.clock.now()
    tz = ctx.profile.time_zone
    with ctx.store.write_uow() as uow:
        record = _postpaid(ctx, uow, msisdn)
        bill_id, bill = bills.latest_bill(ctx, uow, record)
        check_statement(bill.period_end, bill.issued_on, now, tz, policy)
        given = uow.care.statement_of_bill(bill_id)
        start, until = period_bounds(bill.period_start, bill.period_end, tz)
        lines = tuple(bills.usage_lines(ctx, uow, record, start, until))
        parts = chunks(lines, policy.lines_per_sms)
        if given is None:
            reference = _new_reference(uow, "statement")
            uow.care.add_statement(reference=reference, subscriber_id=record.subscriber_id, bill_id=bill_id,
                                   charge_minor=policy.charge.minor, lines=len(lines), channel=channel.value,
                                   now=now)
            bills.charge_next_bill(ctx, uow, record, policy.charge, reference, now)
        else:
            reference = given.reference
        result = StatementResult(reference, bill.period_start, bill.period_end, bill.issued_on, bill.amount,
                                 policy.charge, given is None, lines, len(parts))
        if ctx.notices is not None:  # asking again sends the statement again (charged once)
            for n, part in enumerate(parts, 1):
                text = ctx.notices.statement_part(result, tuple(part), n, len(parts), record.language)
                uow.outbox.enqueue(OutgoingSms(msisdn, text, ctx.profile.codes.sms_keywords, "notification"),
                                   now)
    log.info("statement_given", msisdn=msisdn, reference=reference, charged=result.charged, lines=len(lines),
             channel=channel.value)
    return result


# --- disputes (3(B).4, 9.3) ------------------------------------------------------------------


def dispute_bill(ctx: Context, msisdn: str, reason: str, channel: Channel) -> DisputeResult:
    """Dispute the latest bill; a second dispute of it repeats the first's reference.

    Raises:
        LineLost, UnknownSubscriber, NumberRecycled, NotPostpaid, NoBill, DisputeSettled, InvalidInput
    """
    policy = _offered(ctx, "dispute", lambda care: care.dispute)
    reason = " ".join(reason.split())
    if len(reason) > policy.max_reason_length:
        raise InvalidInput(f"a dispute reason may have at most {policy.max_reason_length} characters")
    now = ctx.clock.now()
    with ctx.store.write_uow() as uow:
        record = _postpaid(ctx, uow, msisdn)
        bill_id, bill = bills.latest_bill(ctx, uow, record)
        found = uow.care.dispute_of_bill(bill_id)
        if found is not None:
            if found.status != dispute_rules.DisputeStatus.OPEN:
                raise DisputeSettled(found.reference, found.status)
            return _dispute_result(ctx, found, repeated=True)
        reference = _new_reference(uow, "dispute")
        limits = dispute_rules.deadlines(now, policy)
        uow.care.add_dispute(reference=reference, subscriber_id=record.subscriber_id, bill_id=bill_id,
                             period_start=bill.period_start, period_end=bill.period_end,
                             amount_minor=bill.amount.minor, reason=reason, channel=channel.value, now=now,
                             due_at=limits.own_network)
        bills.hold_disputed(ctx, uow, record, bill.amount, reference, now)
    log.info("bill_disputed", msisdn=msisdn, reference=reference, channel=channel.value)
    return DisputeResult(reference, bill.period_start, bill.period_end, bill.amount, now, limits.own_network,
                         limits.other_provider)


def list_disputes(ctx: Context, *, open_only: bool = False) -> list[DisputeRow]:
    """Raises: NotOffered."""
    _check_offered(ctx, "dispute")
    return ctx.store.read_uow().care.disputes(open_only=open_only)


def resolve_dispute(ctx: Context, reference: str, *, upheld: bool, credit: Money | None = None,
                    other_provider: bool = False, note: str | None = None) -> DisputeResolved:
    """Settle a dispute and tell the subscriber the final bill by SMS (9.3), in one transaction.

    Raises:
        UnknownReference, CaseClosed, InvalidAmount (a credit above the disputed amount, or with a rejection)
    """
    policy = _offered(ctx, "dispute", lambda care: care.dispute)
    now = ctx.clock.now()
    reference = reference.strip().upper()
    with ctx.store.write_uow() as uow:
        row = _case(uow.care.dispute(reference), reference)
        if row.status != dispute_rules.DisputeStatus.OPEN:
            raise CaseClosed(reference, row.status)
        currency = ctx.profile.currency
        outcome = dispute_rules.settle(Money(row.amount_minor, currency), upheld=upheld, credit=credit)
        late = dispute_rules.is_late(row.raised_at, now, policy, other_provider=other_provider)
        if not uow.care.resolve_dispute(row.dispute_id, status=outcome.status.value, other_provider=other_provider,
                                        credit_minor=outcome.credit.minor, final_minor=outcome.final.minor,
                                        late=late, note=note, now=now):
            raise CaseClosed(reference, "settled")
        record = _still_theirs(ctx, uow, row.msisdn, row.subscriber_id)
        resolved = DisputeResolved(reference, row.msisdn, outcome.status.value, row.period_start, row.period_end,
                                   Money(row.amount_minor, currency), outcome.credit, outcome.final, late, note,
                                   told=record is not None)
        if record is not None:
            # The final bill first, then whatever the deposit rule says about the dues it leaves.
            if ctx.notices is not None:
                text = ctx.notices.dispute_resolved(resolved, row.language)
                uow.outbox.enqueue(OutgoingSms(row.msisdn, text, ctx.profile.codes.sms_keywords, "notification",
                                               f"dispute:{reference}"), now)
            bills.release_disputed(ctx, uow, record, outcome.final, outcome.credit, reference, now)
    log.info("dispute_resolved", msisdn=row.msisdn, reference=reference, status=resolved.status, late=late)
    return resolved


def _dispute_result(ctx: Context, row: DisputeRow, *, repeated: bool) -> DisputeResult:
    policy = ctx.profile.care.dispute
    assert policy is not None
    limits = dispute_rules.deadlines(row.raised_at, policy)
    return DisputeResult(row.reference, row.period_start, row.period_end, Money(row.amount_minor, ctx.profile.currency),
                         row.raised_at, limits.own_network, limits.other_provider, repeated)


# --- complaints (9.1, 10.1) --------------------------------------------------------------------


def file_complaint(ctx: Context, msisdn: str, text: str, channel: Channel) -> ComplaintResult:
    """Record a written complaint under a reference.

    Raises:
        LineLost, UnknownSubscriber, NumberRecycled, EmptyComplaint, ComplaintTooLong
    """
    policy = _offered(ctx, "complaint", lambda care: care.complaint)
    kept = complaint_text(text, policy)
    now = ctx.clock.now()
    with ctx.store.write_uow() as uow:
        record = find_originator(ctx, uow, msisdn)
        reference = _new_reference(uow, "complaint")
        uow.care.add_complaint(reference=reference, subscriber_id=record.subscriber_id, text=kept,
                               channel=channel.value, now=now)
    log.info("complaint_filed", msisdn=msisdn, reference=reference, channel=channel.value, length=len(kept))
    return ComplaintResult(reference, now)


def list_complaints(ctx: Context, *, open_only: bool = False) -> list[ComplaintRow]:
    """Raises: NotOffered."""
    _check_offered(ctx, "complaint")
    return ctx.store.read_uow().care.complaints(open_only=open_only)


def close_complaint(ctx: Context, reference: str, note: str) -> ComplaintRow:
    """Answer a complaint in writing: closed, and the note sent to the subscriber by SMS.

    Raises:
        UnknownReference, CaseClosed, InvalidInput (an empty note)
    """
    _check_offered(ctx, "complaint")
    note = " ".join(note.split())
    if not note:
        raise InvalidInput("--note: the answer to the subscriber must not be empty")
    now = ctx.clock.now()
    reference = reference.strip().upper()
    with ctx.store.write_uow() as uow:
        row = _case(uow.care.complaint(reference), reference)
        if row.status != ComplaintStatus.OPEN or not uow.care.close_complaint(row.complaint_id, note, now):
            raise CaseClosed(reference, ComplaintStatus.CLOSED.value)
        if ctx.notices is not None and _still_theirs(ctx, uow, row.msisdn, row.subscriber_id) is not None:
            text = ctx.notices.complaint_answered(reference, note, row.language)
            uow.outbox.enqueue(OutgoingSms(row.msisdn, text, ctx.profile.codes.sms_keywords, "notification",
                                           f"complaint:{reference}"), now)
    log.info("complaint_closed", msisdn=row.msisdn, reference=reference)
    return ComplaintRow(row.complaint_id, row.reference, row.subscriber_id, row.msisdn, row.language, row.text,
                        row.channel, row.received_at, ComplaintStatus.CLOSED.value, note, now)


# --- number change (5.1) -------------------------------------------------------------------------


def ask_number_change(ctx: Context, msisdn: str, channel: Channel) -> NumberChangeResult:
    """Apply to change the number: refused while there are arrears, else recorded (or the open one repeated).

    Raises:
        LineLost, UnknownSubscriber, NumberRecycled, ArrearsOutstanding
    """
    policy = _offered(ctx, "number_change", lambda care: care.number_change)
    now = ctx.clock.now()
    days = policy.change_within.days
    with ctx.store.write_uow() as uow:
        record = find_originator(ctx, uow, msisdn)
        check_number_change(bills.arrears(ctx, uow, record, now))
        found = uow.care.open_number_change(record.subscriber_id)
        if found is not None:
            return NumberChangeResult(found.reference, found.requested_at, policy.fee, days, repeated=True)
        reference = _new_reference(uow, "number_change")
        uow.care.add_number_change(reference=reference, subscriber_id=record.subscriber_id, channel=channel.value,
                                   now=now)
    log.info("number_change_requested", msisdn=msisdn, reference=reference, channel=channel.value)
    return NumberChangeResult(reference, now, policy.fee, days)


# --- shared ---------------------------------------------------------------------------------------


def _check_offered(ctx: Context, name: str) -> None:
    """Raises NotOffered: the profile's care requests do not include ``name``."""
    if name not in ctx.profile.care.offered:
        raise NotOffered(f"the {ctx.profile.key} profile does not offer {name.replace('_', ' ')} requests")


def _offered(ctx: Context, name: str, part: Callable[[CarePolicy], T | None]) -> T:
    """The policy of the requests ``name`` (``part`` of the profile's), when the profile offers them.

    Raises:
        NotOffered
    """
    _check_offered(ctx, name)
    policy = part(ctx.profile.care)
    assert policy is not None
    return policy


def _case(row: T | None, reference: str) -> T:
    """The case found under ``reference``.

    Raises:
        UnknownReference: there is none.
    """
    if row is None:
        raise UnknownReference(reference)
    return row


def _still_theirs(ctx: Context, uow: UnitOfWork, msisdn: str, subscriber_id: int) -> SubscriberRecord | None:
    """The live subscriber on ``msisdn`` if it is still the one who asked (None: the number went to someone
    else, or nobody: their answer must not reach a new owner, nor their money move on another line)."""
    record = uow.accounts.load_live(msisdn, ctx.profile.currency)
    return record if record is not None and record.subscriber_id == subscriber_id else None


def _postpaid(ctx: Context, uow: UnitOfWork, msisdn: str) -> SubscriberRecord:
    record = find_originator(ctx, uow, msisdn)
    if record.type != "postpaid":
        raise NotPostpaid("bills are for postpaid lines", msisdn)
    return record


def _new_reference(uow: UnitOfWork, kind: str) -> str:
    while True:
        reference = format_reference(PREFIXES[kind], [secrets.randbelow(len(REFERENCE_ALPHABET))
                                                      for _ in range(REFERENCE_LENGTH)])
        if not uow.care.reference_taken(reference):
            return reference
