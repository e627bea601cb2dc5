"""Postpaid lines: the deposit, ``bills import``, ``payments import``, the deposit rule and the bill screens.

The rules are ``gateway.domain.postpaid`` (``seeds/004_1cabed6f540fdada.txt``
7.1-7.7; the late penalty of ``000_bae17f1119540322.txt`` "pay for the
Services"). Every change of a line goes through ``settle_line``: late penalties
due by then, the bills' paid shares, the 7.7 review, then one ``save`` of the
buckets with their ledger rows and the notice SMS queued in the same
transaction. An import is one transaction: the first bad line (named)
rolls everything back, SMS included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from gateway.domain import postpaid as rules
from gateway.domain.account import LedgerEntry
from gateway.domain.errors import BadImportFile, GatewayError, InvalidInput
from gateway.domain.money import Money, parse_amount
from gateway.domain.policy import PostpaidPolicy
from gateway.domain.postpaid import Bill, PostpaidAccount, Review
from gateway.domain.statements import period_bounds
from gateway.services.batches import live_lines
from gateway.services.csvfile import read_rows
from gateway.services.model import BillView, OutgoingSms
from gateway.services.ports import Context
from gateway.store.port import DuplicateBill, DuplicatePayment, SubscriberRecord, UnitOfWork

BILL_FIELDS = ("msisdn", "period_start", "period_end", "issued_on", "amount")
PAYMENT_FIELDS = ("msisdn", "amount", "paid_at", "reference")


def policy_of(ctx: Context) -> PostpaidPolicy:
    """Raises: InvalidInput: the profile has no postpaid lines."""
    policy = ctx.profile.policy.postpaid
    if policy is None:
        raise InvalidInput(f"profile {ctx.profile.key} has no postpaid lines")
    return policy


def open_line(ctx: Context, uow: UnitOfWork, subscriber_id: int, deposit: Money, now: datetime) -> None:
    """A new postpaid line's security deposit (004 1.5, 7.1), one ledger row."""
    if deposit.minor < 0:
        raise InvalidInput("the deposit must not be negative")
    account, entries = PostpaidAccount.opening(deposit, now)
    uow.postpaid.save(subscriber_id, account, entries, now=now, reference="opening", channel="cli")


# --- reading ---------------------------------------------------------------------


def view(ctx: Context, record: SubscriberRecord, bills: list[Bill], now: datetime) -> BillView:
    """The line as of ``now``: late penalties due by then counted in memory, nothing written."""
    assert record.postpaid is not None
    policy = policy_of(ctx)
    tz = ctx.profile.time_zone
    account, bills, _ = rules.accrue_penalties(record.postpaid, bills, now, tz, policy.late_penalty)
    latest = max(bills, key=lambda b: (b.issued_on, b.bill_id or 0)) if bills else None
    zero = Money.zero(ctx.profile.currency)
    penalties = sum((b.penalty for b in bills), zero)
    notice = account.notice
    return BillView(
        msisdn=record.msisdn, language=record.language, deposit=account.deposit, dues=account.dues,
        unbilled=account.unbilled, latest=latest,
        overdue=any(rules.is_overdue(b, now, tz) for b in bills), penalties=penalties,
        notice_sent_at=notice.sent_at if notice else None,
        discontinue_at=notice.discontinue_at if notice else None,
        discontinued=rules.is_discontinued(account, now),
        penalty_basis_points=policy.late_penalty.basis_points if policy.late_penalty else 0,
        bills=tuple(bills),
    )


# --- the one way a line changes ---------------------------------------------------


@dataclass
class SettleCounts:
    """What ``settle_line`` did, summed over the lines of one job run (``lifecycle run``'s report)."""

    penalties: int = 0
    notices: int = 0
    discontinued: int = 0
    reactivated: int = 0
    reminders: int = 0


def settle_line(ctx: Context, uow: UnitOfWork, record: SubscriberRecord, account: PostpaidAccount,
                entries: list[LedgerEntry], now: datetime, *, reference: str, channel: str,
                counts: SettleCounts | None = None) -> Review | None:
    """Save a postpaid line whose dues, deposit or unbilled usage changed: the one way a line changes.

    ``account`` is the line after the caller's change and ``entries`` its
    ledger rows. Added here, in the caller's transaction: late penalties due
    by ``now`` (000 "pay for the Services"), the bills' paid shares
    (``rules.allocate``), the 004 7.7 review (a notice sent or withdrawn, the
    line discontinued or reactivated) and its SMS. A caller that changes the
    dues some other way would skip the deposit rule: bills, payments,
    penalties and a dispute's hold and release all come through here.

    Args:
        reference, channel: what the ledger rows are recorded under.
        counts: summed into, for the job's report (None: not counted).

    Returns:
        What the 7.7 review did, or None when it changed nothing.
    """
    policy = policy_of(ctx)
    tz = ctx.profile.time_zone
    bills = uow.postpaid.bills(record.subscriber_id, ctx.profile.currency)
    account, settled, penalties = rules.accrue_penalties(account, bills, now, tz, policy.late_penalty)
    account, outcome = rules.review(account, now, policy.deposit_rule)
    uow.postpaid.save(record.subscriber_id, account, entries + penalties, now=now, reference=reference,
                      channel=channel)
    before = {b.bill_id: b for b in bills}
    uow.postpaid.update_bills([b for b in settled if before.get(b.bill_id) != b])
    if counts is not None:
        counts.penalties += len(penalties)
    if outcome in (Review.NOTICE, Review.DISCONTINUED, Review.REACTIVATED) and ctx.notices is not None:
        kind = {Review.NOTICE: "deposit_notice", Review.DISCONTINUED: "discontinued",
                Review.REACTIVATED: "reactivated"}[outcome]
        shown = view(ctx, _with(record, account), settled, now)
        text = ctx.notices.postpaid_notice(kind, shown, record.language)
        # One SMS per notice: its key names the notice it is about.
        moment = (account.notice.sent_at if account.notice else now).astimezone(UTC).isoformat()
        uow.outbox.enqueue(OutgoingSms(record.msisdn, text, ctx.profile.codes.sms_keywords, "notification",
                                       f"postpaid:{record.subscriber_id}:{kind}:{moment}"), now)
        if counts is not None:
            counts.notices += outcome is Review.NOTICE
            counts.discontinued += outcome is Review.DISCONTINUED
            counts.reactivated += outcome is Review.REACTIVATED
    return outcome


def _with(record: SubscriberRecord, account: PostpaidAccount) -> SubscriberRecord:
    from dataclasses import replace

    return replace(record, postpaid=account)


def _postpaid_line(ctx: Context, uow: UnitOfWork, msisdn: str) -> SubscriberRecord:
    record = uow.accounts.load_live(msisdn, ctx.profile.currency)
    if record is None:
        raise InvalidInput(f"unknown number {msisdn}")
    if record.postpaid is None:
        raise InvalidInput(f"{msisdn} is not a postpaid line")
    return record


# --- imports ----------------------------------------------------------------------


def _day(text: str, column: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{column} is not a date like 2026-11-01: {text!r}") from None


def import_bills(ctx: Context, path: Path) -> int:
    """``bills import``: every bill of the file or none (004 7.3; due ``due_days`` after issue, 7.4).

    A bill takes what was unbilled on its line (``rules.take_unbilled``, ledger
    rows): the rated usage of records started before its period's end (local
    midnight after ``period_end``) that no bill took yet, since the operator's
    billing system priced them into the amount (a record imported late for a
    period already billed goes with the next bill); and the detailed-statement
    charges waiting for "the next bill" (7.6), which are added to the amount
    (the billing system does not know them). The dues grow by the amount so
    made, the unbilled usage shrinks by both.

    Raises:
        BadImportFile: unreadable file, bad header, or the first bad line (named).
    """
    policy = policy_of(ctx)
    now = ctx.clock.now()
    count = 0
    with ctx.store.write_uow() as uow:
        for line, row in read_rows(path, BILL_FIELDS):
            try:
                msisdn = ctx.profile.number_plan.normalise(row["msisdn"])
                bill = rules.new_bill(_day(row["period_start"], "period_start"), _day(row["period_end"], "period_end"),
                                      _day(row["issued_on"], "issued_on"),
                                      parse_amount(row["amount"], ctx.profile.currency), policy)
                record = _postpaid_line(ctx, uow, msisdn)
                assert record.postpaid is not None
                currency = ctx.profile.currency
                charges = Money(uow.care.pending_statement_charges(record.subscriber_id), currency)
                bill = rules.with_charges(bill, charges)
                try:
                    bill_id = uow.postpaid.add_bill(record.subscriber_id, bill, now)
                except DuplicateBill:
                    raise InvalidInput(
                        f"{msisdn} already has a bill for {bill.period_start} to {bill.period_end}") from None
                uow.care.bill_statement_charges(record.subscriber_id, bill_id)
                _, until = period_bounds(bill.period_start, bill.period_end, ctx.profile.time_zone)
                usage = Money(uow.usage.bill_records(record.subscriber_id, bill_id, until), currency)
                account, entries = rules.charge_bill(record.postpaid, bill, now)
                account, taken = rules.take_unbilled(account, usage, charges, now)
                settle_line(ctx, uow, record, account, entries + taken, now, reference="bill", channel="import")
            except GatewayError as exc:
                raise BadImportFile(f"{path}: line {line}: {exc}") from None
            count += 1
        if not count:
            raise BadImportFile(f"{path}: no bills in the file")
    return count


def _moment(text: str, ctx: Context) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"paid_at is not an ISO-8601 date or time: {text!r}") from None
    if moment.tzinfo is None:  # a date or a local time: the operator's zone
        moment = moment.replace(tzinfo=ctx.profile.time_zone)
    return moment


def import_payments(ctx: Context, path: Path) -> int:
    """``payments import``: every payment of the file or none; a reference seen before is refused.

    A payment lowers the dues and settles bills oldest first; when it brings the
    dues back to 95% of the deposit or below, a notice is withdrawn and a
    discontinued line reactivated (004 7.7).

    Raises:
        BadImportFile: unreadable file, bad header, or the first bad line (named).
    """
    policy_of(ctx)
    now = ctx.clock.now()
    seen: dict[str, int] = {}
    with ctx.store.write_uow() as uow:
        for line, row in read_rows(path, PAYMENT_FIELDS):
            try:
                msisdn = ctx.profile.number_plan.normalise(row["msisdn"])
                amount = parse_amount(row["amount"], ctx.profile.currency, allow_zero=False)
                paid_at = _moment(row["paid_at"], ctx)
                reference = row["reference"]
                if not reference:
                    raise InvalidInput("reference is empty")
                if reference in seen:
                    raise InvalidInput(f"reference {reference!r} repeats line {seen[reference]}")
                if uow.postpaid.payment_exists(reference):
                    raise InvalidInput(f"reference {reference!r} was imported before")
                seen[reference] = line
                record = _postpaid_line(ctx, uow, msisdn)
                assert record.postpaid is not None
                try:
                    uow.postpaid.add_payment(record.subscriber_id, amount.minor, paid_at, reference, now)
                except DuplicatePayment:  # another import stored it after payment_exists looked
                    raise InvalidInput(f"reference {reference!r} was imported before") from None
                account, entries = rules.apply_payment(record.postpaid, amount, paid_at)
                settle_line(ctx, uow, record, account, entries, now, reference=reference, channel="import")
            except GatewayError as exc:
                raise BadImportFile(f"{path}: line {line}: {exc}") from None
        if not seen:
            raise BadImportFile(f"{path}: no payments in the file")
    return len(seen)


# --- the life-cycle job --------------------------------------------------------------


@dataclass(frozen=True)
class PostpaidReport:
    penalties: int
    notices: int
    discontinued: int
    reactivated: int
    reminders: int


def run(ctx: Context, now: datetime) -> PostpaidReport:
    """Bring every postpaid line with an open bill or a notice to ``now``: late penalties,
    discontinuation when a notice ran out (004 7.7), reminders before the due day (once each)."""
    counts = SettleCounts()
    if ctx.profile.policy.postpaid is None:
        return PostpaidReport(0, 0, 0, 0, 0)
    policy = policy_of(ctx)
    tz = ctx.profile.time_zone
    due = ctx.store.read_uow().postpaid.due_for_review()
    for uow, record in live_lines(ctx, due):
        if record.postpaid is None:
            continue
        settle_line(ctx, uow, record, record.postpaid, [], now, reference="lifecycle", channel="system",
                    counts=counts)
        if record.lost_reference is None:
            _remind(ctx, uow, record, now, tz, policy, counts)
    return PostpaidReport(counts.penalties, counts.notices, counts.discontinued, counts.reactivated,
                          counts.reminders)


def _remind(ctx: Context, uow: UnitOfWork, record: SubscriberRecord, now: datetime, tz: tzinfo,
            policy: PostpaidPolicy, counts: SettleCounts) -> None:
    """The nearest reminder whose day has begun, for each open bill; every offset once."""
    if ctx.notices is None:
        return
    bills = uow.postpaid.bills(record.subscriber_id, ctx.profile.currency)
    for bill in bills:
        offsets = rules.reminders_due(bill, now, tz, policy)
        if not offsets:
            continue
        cycle = rules.overdue_from(bill, tz)
        fresh = [d for d in offsets if uow.accounts.mark_reminded(record.subscriber_id, f"bill_due:{d}", cycle, now)]
        if offsets[-1] not in fresh:
            continue
        fresh_record = uow.accounts.load_live(record.msisdn, ctx.profile.currency) or record
        shown = view(ctx, fresh_record, bills, now)
        shown = BillView(**{**shown.__dict__, "latest": bill})
        text = ctx.notices.postpaid_notice("bill_due", shown, record.language)
        uow.outbox.enqueue(OutgoingSms(record.msisdn, text, ctx.profile.codes.sms_keywords, "reminder",
                                       f"postpaid:{record.subscriber_id}:bill_due:{offsets[-1]}:"
                                       f"{cycle.astimezone(UTC).isoformat()}"), now)
        counts.reminders += 1
