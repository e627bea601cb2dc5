"""The inactivity life cycle (``seeds/004_1cabed6f540fdada.txt`` 3(B).12), for profiles that have one.

``advance`` is the life-cycle job's part: a line unused for the profile's
months is deactivated (dated at the moment the rule says, not when the job
ran); one deactivated for the whole reissue window expires: its funds are
closed out through the ledger, its row keeps its history (status
``expired``) and its number may be added again as a new subscriber.
Reminders go before each step, once per step and cycle.

``reissue`` gives a deactivated number back to its subscriber within the
window for the profile's fee: a prepaid line pays it from its funds (in the
spending order, all of it or nothing), a postpaid line has it added to its
unbilled usage; either way a ledger row. Refused with the reason when the
line is not deactivated, or after the window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from gateway.domain import account as funds
from gateway.domain.account import Bucket
from gateway.domain.errors import InvalidInput, UnknownSubscriber
from gateway.domain.inactivity import (
    InactivityRule,
    deactivation_at,
    earliest_deactivation_cutoff,
    earliest_expiry_cutoff,
    expiry_at,
    reminder_due,
)
from gateway.domain.lifecycle import LineState
from gateway.domain.money import Money
from gateway.domain.rating import debit, spendable
from gateway.services.accounts import line_facts, view_of
from gateway.services.batches import live_lines
from gateway.services.model import OutgoingSms
from gateway.services.ports import Context
from gateway.store.port import SubscriberRecord, UnitOfWork


@dataclass(frozen=True)
class InactivityReport:
    deactivated: int = 0
    expired: int = 0
    reminders: int = 0


@dataclass(frozen=True)
class ReissueResult:
    msisdn: str
    fee: Money
    #: When the line would have expired unclaimed.
    window_ended: datetime


def advance(ctx: Context, now: datetime) -> InactivityReport:
    """Deactivate, expire and remind, as of ``now``; a second run at the same ``now`` changes nothing."""
    rule = ctx.profile.lifecycle.inactivity
    if rule is None:
        return InactivityReport()
    lifecycle, policy = ctx.profile.lifecycle, ctx.profile.policy
    deactivated = expired = 0
    due = sorted(set(ctx.store.read_uow().activity.due_for_deactivation(earliest_deactivation_cutoff(now, rule)))
                 | set(ctx.store.read_uow().activity.due_for_release(earliest_expiry_cutoff(now, rule))))
    for uow, record in live_lines(ctx, due):
        facts = line_facts(record)
        state = lifecycle.state(facts, now)
        if state is LineState.ACTIVE:
            continue
        moment = record.deactivated_at
        if moment is None:
            moment = deactivation_at(record.active_since, rule)
            uow.activity.deactivate(record.subscriber_id, moment)
            deactivated += 1
        if state is LineState.EXPIRED:
            ended = expiry_at(moment, rule)
            account, entries = funds.settle(record.account, ended, policy)
            account, closing = funds.close_out(account, ended)
            if entries or closing:
                uow.accounts.save_account(record.subscriber_id, account, entries + closing, now=now,
                                          reference="inactivity", channel="system")
            uow.activity.release(record.subscriber_id, ended)
            expired += 1
    return InactivityReport(deactivated, expired, _remind(ctx, rule, now))


def _remind(ctx: Context, rule: InactivityRule, now: datetime) -> int:
    """Reminders ``reminder_days`` before the deactivation and before the expiry, each once per cycle.

    Kinds are ``deactivation_<d>d`` and ``line_expiry_<d>d``; a cycle is the
    activity counted from (deactivation) or the deactivation (expiry), so a
    line used again, or reissued, is reminded again before its next step.
    """
    if ctx.notices is None:
        return 0
    sent = 0
    read = ctx.store.read_uow().activity
    for days in sorted(set(rule.reminder_days), reverse=True):
        ahead = now + timedelta(days=days)
        steps = (
            ("deactivation", read.due_for_deactivation_reminder(
                f"deactivation_{days}d", earliest_deactivation_cutoff(ahead, rule))),
            ("line_expiry", read.due_for_release_reminder(
                f"line_expiry_{days}d", earliest_expiry_cutoff(ahead, rule))),
        )
        for step, numbers in steps:
            kind = f"{step}_{days}d"
            for uow, record in live_lines(ctx, numbers):
                sent += _remind_one(ctx, uow, rule, record, step, kind, days, now)
    return sent


def _remind_one(ctx: Context, uow: UnitOfWork, rule: InactivityRule, record: SubscriberRecord, step: str,
                kind: str, days: int, now: datetime) -> int:
    if ctx.notices is None:
        return 0
    if step == "deactivation":
        if record.deactivated_at is not None:
            return 0
        cycle = record.active_since
        deadline = deactivation_at(cycle, rule)
    else:
        if record.deactivated_at is None:
            return 0
        cycle = record.deactivated_at
        deadline = expiry_at(cycle, rule)
    if reminder_due(deadline, now, rule.reminder_days) != days:
        return 0
    if not uow.accounts.mark_reminded(record.subscriber_id, kind, cycle, now):
        return 0
    view = view_of(ctx, record, now)
    text = ctx.notices.reminder(step, view, record.language)
    key = f"reminder:{record.subscriber_id}:{kind}:{cycle.astimezone(UTC).isoformat(timespec='microseconds')}"
    uow.outbox.enqueue(OutgoingSms(record.msisdn, text, ctx.profile.codes.sms_keywords, "reminder", key), now)
    return 1


def reissue(ctx: Context, msisdn: str) -> ReissueResult:
    """Give a deactivated number back to its subscriber for the profile's fee (3(B).12).

    Raises:
        InvalidInput: the profile has no inactivity rule, the line is not
            deactivated, the window has ended, or the funds do not cover the fee.
        UnknownSubscriber: no live line on the number.
    """
    rule = ctx.profile.lifecycle.inactivity
    if rule is None:
        raise InvalidInput(f"profile {ctx.profile.key} has no inactivity deactivation: nothing to reissue")
    now = ctx.clock.now()
    policy = ctx.profile.policy
    with ctx.store.write_uow() as uow:
        record = uow.accounts.load_live(msisdn, ctx.profile.currency)
        if record is None:
            raise UnknownSubscriber(f"no live subscriber {msisdn} (an expired number is added again as new)",
                                    msisdn)
        state = ctx.profile.lifecycle.state(line_facts(record), now)
        moment = record.deactivated_at or deactivation_at(record.active_since, rule)
        ends = expiry_at(moment, rule)
        tz = ctx.profile.time_zone
        if state is LineState.ACTIVE:
            raise InvalidInput(f"{msisdn} is not deactivated (it would be on "
                               f"{moment.astimezone(tz).date().isoformat()} unless used)")
        if state is not LineState.DEACTIVATED:
            raise InvalidInput(f"{msisdn}: the reissue window ended on {ends.astimezone(tz).isoformat()}; "
                               "the number has expired")
        fee = rule.reissue_fee
        if record.postpaid is not None:
            if fee:  # onto the next bill, as usage is
                entry = funds.LedgerEntry(Bucket.UNBILLED, fee, funds.EntryKind.REISSUE_FEE, now)
                charged = replace(record.postpaid, unbilled=record.postpaid.unbilled + fee)
                uow.postpaid.save(record.subscriber_id, charged,
                                  [entry], now=now, reference="reissue", channel="cli")
        elif fee:
            account, entries = funds.settle(record.account, now, policy)
            order = ctx.profile.tariff.spending_order
            if spendable(account, order).minor < fee.minor:
                raise InvalidInput(f"{msisdn}: the funds ({spendable(account, order).display()}) do not cover "
                                   f"the reissue fee {fee.display()}; top up first")
            account, taken, _ = debit(account, fee, now, order)
            entries += [replace(e, kind=funds.EntryKind.REISSUE_FEE) for e in taken]
            uow.accounts.save_account(record.subscriber_id, account, entries, now=now, reference="reissue",
                                      channel="cli")
        uow.activity.reactivate(record.subscriber_id, now)
    return ReissueResult(msisdn, fee, ends)
