"""Reporting a lost or stolen SIM (000 "SIM Card" liability clause; 004 clause 2).

The report blocks the line at the instant it is made (the subscriber's
liability ends then) and returns a reference. A wrong number/ID pair, an
unknown number and a subscriber without an ID on file all answer the same
``LostDetailsMismatch``, after the same work (one keyed hash), so the answer
never tells whether a number exists. Mismatches are counted per reporting
phone and earn a lockout like wrong voucher PINs.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import datetime

from gateway.domain.attempts import is_locked
from gateway.domain.channels import Channel
from gateway.domain.errors import GatewayError, LostDetailsMismatch, LostReportLocked
from gateway.domain.lost import REFERENCE_ALPHABET, REFERENCE_LENGTH, format_reference
from gateway.domain.secrets import same_hash
from gateway.logs import get_logger
from gateway.services.accounts import hash_id_number, subscriber_language
from gateway.services.model import LostReportResult, OutgoingSms, ReportLost
from gateway.services.ports import Context
from gateway.store import locks
from gateway.store.accounts import load_live
from gateway.store.db import iso
from gateway.store.outbox import enqueue

log = get_logger(__name__)

LOCK_KIND = "lost"


def report_lost_sim(ctx: Context, cmd: ReportLost) -> LostReportResult:
    """Block ``cmd.msisdn`` if ``cmd.id_number`` is its subscriber's.

    Raises:
        LostReportLocked, LostDetailsMismatch
    """
    now = ctx.clock.now()
    given = hash_id_number(ctx, cmd.id_number) or ""
    refusal: GatewayError | None = None
    with ctx.store.write() as conn:
        try:
            result = _report(ctx, conn, cmd, given, now)
        except GatewayError as exc:
            refusal = exc
            conn.execute(
                "INSERT INTO lost_attempts (reporter_msisdn, at, outcome, channel) VALUES (?, ?, ?, ?)",
                (cmd.reporter, iso(now), type(exc).__name__, cmd.channel.value),
            )
    if refusal is not None:
        log.info("lost_report_refused", reporter=cmd.reporter, channel=cmd.channel.value,
                 reason=type(refusal).__name__)
        raise refusal
    log.info("lost_sim_reported", reporter=cmd.reporter, msisdn=cmd.msisdn, channel=cmd.channel.value,
             reference=result.reference)
    return result


def _report(
    ctx: Context, conn: sqlite3.Connection, cmd: ReportLost, given: str, now: datetime
) -> LostReportResult:
    limit = ctx.profile.policy.lost_attempts
    locked_until = locks.get(conn, LOCK_KIND, cmd.reporter)
    if is_locked(locked_until, now):
        raise LostReportLocked(locked_until)  # type: ignore[arg-type]
    record = load_live(conn, cmd.msisdn, ctx.profile.currency)
    if record is None or not same_hash(record.id_hash, given):
        state = locks.register_failure(conn, LOCK_KIND, cmd.reporter, locked_until, now, limit)
        if state.locked_until is not None:
            raise LostReportLocked(state.locked_until)
        raise LostDetailsMismatch(state.attempts_left)
    if record.lost_reference is not None:
        # Already blocked: repeat the reference of the open report.
        return LostReportResult(record.lost_reference, record.lost_reported_at)  # type: ignore[arg-type]
    reference = _new_reference(conn)
    conn.execute(
        "INSERT INTO lost_reports (subscriber_id, reference, reported_at, reporter_msisdn, channel) "
        "VALUES (?, ?, ?, ?, ?)",
        (record.subscriber_id, reference, iso(now), cmd.reporter, cmd.channel.value),
    )
    result = LostReportResult(reference, now)
    # A report made by SMS is confirmed by the keyword reply itself: no second SMS saying the same.
    if ctx.notices is not None and cmd.channel is not Channel.SMS:
        reporter_language = subscriber_language(ctx, cmd.reporter, conn)
        text = ctx.notices.lost_confirmation(result, cmd.msisdn, reporter_language)
        enqueue(conn, OutgoingSms(cmd.reporter, text, ctx.profile.codes.sms_keywords, "notification",
                                  f"lost:{reference}"), now)
    return result


def _new_reference(conn: sqlite3.Connection) -> str:
    while True:
        reference = format_reference(
            [secrets.randbelow(len(REFERENCE_ALPHABET)) for _ in range(REFERENCE_LENGTH)]
        )
        if conn.execute("SELECT 1 FROM lost_reports WHERE reference = ?", (reference,)).fetchone() is None:
            return reference
