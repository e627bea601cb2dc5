"""Reporting a lost or stolen SIM (000 "SIM Card" liability clause; 004 clause 2).

The report blocks the line at the instant it is made (the subscriber's
liability ends then) and returns a reference. A wrong number/ID pair, an
unknown number and a subscriber without an ID on file all answer the same
``LostDetailsMismatch``, after the same work (one keyed hash), so the answer
never tells whether a number exists. Mismatches are counted per reporting
phone and per number named, and earn a lockout like wrong voucher PINs. A
SIM that is itself reported lost can report nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from gateway.domain.attempts import is_locked
from gateway.domain.channels import Channel
from gateway.domain.errors import GatewayError, LostDetailsMismatch, LostReportLocked
from gateway.domain.lost import REFERENCE_ALPHABET, REFERENCE_LENGTH, format_reference
from gateway.domain.secrets import same_hash
from gateway.logs import get_logger
from gateway.services.accounts import hash_id_number, refuse_lost_originator, subscriber_language
from gateway.services.model import LostLocksCleared, LostReportResult, OutgoingSms, ReportLost
from gateway.services.ports import Context
from gateway.store.port import UnitOfWork

log = get_logger(__name__)

LOCK_KIND = "lost"
NUMBER_LOCK_KIND = "lost-number"


def report_lost_sim(ctx: Context, cmd: ReportLost) -> LostReportResult:
    """Block ``cmd.msisdn`` if ``cmd.id_number`` is its subscriber's.

    Raises:
        LineLost (the reporting SIM is itself reported lost), LostReportLocked, LostDetailsMismatch
    """
    now = ctx.clock.now()
    given = hash_id_number(ctx, cmd.id_number) or ""
    refusal: GatewayError | None = None
    with ctx.store.write_uow() as uow:
        try:
            result = _report(ctx, uow, cmd, given, now)
        except GatewayError as exc:
            refusal = exc
    if refusal is not None:
        log.info("lost_report_refused", reporter=cmd.reporter, msisdn=cmd.msisdn, channel=cmd.channel.value,
                 reason=type(refusal).__name__)
        raise refusal
    log.info("lost_sim_reported", reporter=cmd.reporter, msisdn=cmd.msisdn, channel=cmd.channel.value,
             reference=result.reference)
    return result


def _report(
    ctx: Context, uow: UnitOfWork, cmd: ReportLost, given: str, now: datetime
) -> LostReportResult:
    """The report, or a refusal recorded in ``lost_attempts`` (committed with the transaction).

    A mismatch counts against the reporting phone and against the number
    named (``policy.lost_attempts`` and ``lost_attempts_per_number``), for a
    number that does not exist exactly as for a real one; while either is
    locked nothing is checked, not even a right ID.
    """
    policy = ctx.profile.policy
    try:
        refuse_lost_originator(uow, cmd.reporter)
    except GatewayError:
        _record(uow, cmd, now, "LineLost")
        raise
    phone_lock = uow.locks.get(LOCK_KIND, cmd.reporter)
    number_lock = uow.locks.get(NUMBER_LOCK_KIND, cmd.msisdn)
    locked = [until for until in (phone_lock, number_lock) if until is not None and is_locked(until, now)]
    if locked:
        _record(uow, cmd, now, "LostReportLocked")
        raise LostReportLocked(max(locked))
    record = uow.accounts.load_live(cmd.msisdn, ctx.profile.currency)
    if record is None or not same_hash(record.id_hash, given):
        by_phone = uow.locks.register_failure(LOCK_KIND, cmd.reporter, phone_lock, now, policy.lost_attempts)
        by_number = uow.locks.register_failure(NUMBER_LOCK_KIND, cmd.msisdn, number_lock, now,
                                               policy.lost_attempts_per_number)
        _record(uow, cmd, now, "LostDetailsMismatch")
        earned = [s.locked_until for s in (by_phone, by_number) if s.locked_until is not None]
        if earned:
            raise LostReportLocked(max(earned))
        raise LostDetailsMismatch(min(by_phone.attempts_left, by_number.attempts_left))
    if record.lost_reference is not None:
        # Already blocked: repeat the reference of the open report.
        return LostReportResult(record.lost_reference, record.lost_reported_at)  # type: ignore[arg-type]
    reference = _new_reference(uow)
    uow.lost.open(record.subscriber_id, reference, now, cmd.reporter, cmd.channel.value)
    result = LostReportResult(reference, now)
    # A report made by SMS is confirmed by the keyword reply itself: no second SMS saying the same.
    if ctx.notices is not None and cmd.channel is not Channel.SMS:
        reporter_language = subscriber_language(ctx, cmd.reporter, uow)
        text = ctx.notices.lost_confirmation(result, cmd.msisdn, reporter_language)
        uow.outbox.enqueue(OutgoingSms(cmd.reporter, text, ctx.profile.codes.sms_keywords, "notification",
                                  f"lost:{reference}"), now)
    return result


def clear_lost_locks(ctx: Context, msisdn: str) -> LostLocksCleared:
    """Customer care lifts the lost-SIM guessing locks of ``msisdn``: as the number reports name
    (a stranger's guesses must not keep the owner from reporting) and as a reporting phone.

    Both mismatch counts start again; the attempts stay on record.
    """
    now = ctx.clock.now()
    with ctx.store.write_uow() as uow:
        cleared = LostLocksCleared(uow.locks.reset(NUMBER_LOCK_KIND, msisdn, now),
                                   uow.locks.reset(LOCK_KIND, msisdn, now))
    log.info("lost_locks_cleared", msisdn=msisdn, as_target=cleared.as_target is not None,
             as_reporter=cleared.as_reporter is not None)
    return cleared


def _record(uow: UnitOfWork, cmd: ReportLost, now: datetime, outcome: str) -> None:
    uow.lost.record_attempt(cmd.reporter, cmd.msisdn, now, outcome, cmd.channel.value)


def _new_reference(uow: UnitOfWork) -> str:
    while True:
        reference = format_reference(
            [secrets.randbelow(len(REFERENCE_ALPHABET)) for _ in range(REFERENCE_LENGTH)]
        )
        if not uow.lost.reference_taken(reference):
            return reference
