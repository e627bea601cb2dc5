"""A postpaid line's money: security deposit, bills, payments, dues and the deposit rule.

Rules (``seeds/004_1cabed6f540fdada.txt`` unless named otherwise):

- 1.5, 7.1-7.2: a postpaid line holds a security deposit (``deposit``).
- 7.3: a bill statement each month; bills are imported from the billing
  system, each adding its amount to the line's ``dues``. A bill takes what
  was unbilled (``take_unbilled``): the rated usage of records started up to
  its period's end and on no bill yet (the billing system priced them into
  the amount), and the detailed-statement charges waiting for "the next
  bill" (7.6), which are added to its amount.
- 7.4: "pay Tariff within 15 days after receipt of the bill statement": a
  bill is due ``PostpaidPolicy.due_days`` after its issue day and overdue
  from the start of the next local day (``overdue_from``).
- payments lower the dues; they settle bills oldest first (``allocate``), so
  a bill's paid state always follows from the dues, never drifts from them.
- 3(B).4, 9.3: while a bill is disputed its amount is held out of the dues
  (``Bill.held``): the hold is not a payment, so it pays no bill, older ones
  included; the disputed bill is owed nothing meanwhile (no penalty, no
  arrears) and shows as disputed, not paid. An upheld dispute's credit
  (``Bill.credited``) goes to its own bill.
- 7.7: dues strictly above ``DepositRule.threshold_percent`` of the deposit
  start a notice; unless the dues fall back to the line or below, the line is
  discontinued when the notice runs out; a payment that brings them back
  withdraws the notice and reactivates the line (``review``).
- 000 "pay for the Services": "penalties of 1% on the outstanding amount are
  applicable per month" (``LatePenalty``): charged on a bill's outstanding
  amount for every month it is overdue, the first as it becomes overdue (a
  month begun is a month, as the same GTCs round a call up to the minute).

Every change to ``dues``, ``deposit`` or ``unbilled`` comes back as ledger
entries (``gateway.domain.account.LedgerEntry``), so the store keeps
``sum(ledger) == column`` for those buckets as for the prepaid ones. Nothing
here reads a clock or a database.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo

from gateway.domain.account import Bucket, EntryKind, LedgerEntry
from gateway.domain.errors import InvalidInput
from gateway.domain.money import Money
from gateway.domain.policy import DepositRule, LatePenalty, PostpaidPolicy


@dataclass(frozen=True)
class Notice:
    """004 7.7 "by giving prior notice": when it was sent and when the line goes."""

    sent_at: datetime
    discontinue_at: datetime


@dataclass(frozen=True)
class PostpaidAccount:
    deposit: Money
    #: Billed and not paid (negative: paid ahead, a credit against the next bills).
    dues: Money
    #: Rated usage not yet on a bill (written by the usage import).
    unbilled: Money
    notice: Notice | None = None
    #: When the line was discontinued (``review`` after the notice ran out).
    discontinued_at: datetime | None = None

    @classmethod
    def opening(cls, deposit: Money, now: datetime) -> tuple[PostpaidAccount, list[LedgerEntry]]:
        """A new postpaid line holding ``deposit`` (one ledger row when not zero)."""
        zero = Money.zero(deposit.currency)
        entries = [LedgerEntry(Bucket.DEPOSIT, deposit, EntryKind.DEPOSIT, now)] if deposit else []
        return cls(deposit, zero, zero), entries


@dataclass(frozen=True)
class Bill:
    """One bill statement (dates are the operator's local days)."""

    period_start: date
    period_end: date
    issued_on: date
    due_on: date
    amount: Money
    #: Paid towards ``amount + penalty`` (``allocate``).
    paid: Money
    #: Late penalties charged on it so far, and for how many months.
    penalty: Money
    penalty_months: int = 0
    bill_id: int | None = None
    #: The amount an open dispute of the bill holds out of the dues (None: no open dispute).
    held: Money | None = None
    #: What a settled dispute of the bill credited (None: never disputed, or not settled yet).
    credited: Money | None = None

    @property
    def charged(self) -> Money:
        return self.amount + self.penalty

    @property
    def payable(self) -> Money:
        """What payments may settle: the charges less what a dispute holds or credited."""
        zero = Money.zero(self.amount.currency)
        return self.charged - (self.held or zero) - (self.credited or zero)

    @property
    def outstanding(self) -> Money:
        return self.payable - self.paid

    @property
    def settled(self) -> bool:
        """Nothing owed on it now (a disputed bill owes nothing while its amount is held)."""
        return self.outstanding.minor <= 0

    @property
    def disputed(self) -> bool:
        """An open dispute holds its amount: shown as disputed, never as paid."""
        return self.held is not None

    @property
    def paid_up(self) -> bool:
        """What the screens call paid: settled, and not by a dispute's hold."""
        return self.settled and not self.disputed


def new_bill(period_start: date, period_end: date, issued_on: date, amount: Money,
             policy: PostpaidPolicy) -> Bill:
    """A bill as imported, due ``policy.due_days`` after ``issued_on`` (004 7.4).

    Raises:
        InvalidInput: a period that ends before it starts, a bill issued before its
            period ended, a negative amount.
    """
    if period_end < period_start:
        raise InvalidInput("period_end is before period_start")
    if issued_on < period_end:
        raise InvalidInput("issued_on is before period_end")
    if amount.minor < 0:
        raise InvalidInput("a bill amount must not be negative")
    zero = Money.zero(amount.currency)
    return Bill(period_start, period_end, issued_on, issued_on + timedelta(days=policy.due_days),
                amount, zero, zero)


def overdue_from(bill: Bill, tz: tzinfo) -> datetime:
    """The first moment the bill is late: local midnight after its due day."""
    return datetime.combine(bill.due_on + timedelta(days=1), time(0), tz)


def is_overdue(bill: Bill, now: datetime, tz: tzinfo) -> bool:
    return not bill.settled and now >= overdue_from(bill, tz)


def charge_bill(account: PostpaidAccount, bill: Bill, now: datetime) -> tuple[PostpaidAccount, list[LedgerEntry]]:
    """The bill's amount added to the dues (one ledger row)."""
    if not bill.amount:
        return account, []
    entry = LedgerEntry(Bucket.DUES, bill.amount, EntryKind.BILL, now)
    return replace(account, dues=account.dues + bill.amount), [entry]


def with_charges(bill: Bill, charges: Money) -> Bill:
    """The bill with the statement charges waiting for the next bill added to its amount (004 7.6)."""
    return replace(bill, amount=bill.amount + charges) if charges else bill


def take_unbilled(account: PostpaidAccount, usage: Money, charges: Money,
                  now: datetime) -> tuple[PostpaidAccount, list[LedgerEntry]]:
    """What a bill took off the unbilled usage: the rated usage it billed and the statement charges
    added to its amount (``with_charges``), a ledger row each (kind ``billed``) when not zero."""
    entries = [LedgerEntry(Bucket.UNBILLED, -amount, EntryKind.BILLED, now) for amount in (usage, charges) if amount]
    if not entries:
        return account, []
    return replace(account, unbilled=account.unbilled - usage - charges), entries


def apply_payment(account: PostpaidAccount, amount: Money, at: datetime) -> tuple[PostpaidAccount, list[LedgerEntry]]:
    """A payment lowers the dues (one ledger row); more than is due is kept as a credit.

    Raises:
        InvalidInput: not a positive amount.
    """
    if amount.minor <= 0:
        raise InvalidInput("a payment must be more than zero")
    entry = LedgerEntry(Bucket.DUES, -amount, EntryKind.PAYMENT, at)
    return replace(account, dues=account.dues - amount), [entry]


def allocate(bills: Sequence[Bill], dues: Money) -> list[Bill]:
    """Each bill's ``paid`` as the payments settle bills oldest first.

    Everything ever charged, less the dues and what disputes hold or credited
    (``Bill.payable``), is what was ever paid; it goes to the bills in due
    order. Returns the bills in that order.
    """
    ordered = sorted(bills, key=lambda b: (b.due_on, b.issued_on, b.bill_id or 0))
    payable = sum(b.payable.minor for b in ordered)
    # Dues above the bills' charges (a charge not on any bill) leave nothing paid.
    left = max(0, payable - dues.minor)
    out = []
    for bill in ordered:
        share = min(left, max(0, bill.payable.minor))
        left -= share
        out.append(bill if bill.paid.minor == share else replace(bill, paid=Money(share, dues.currency)))
    return out


def penalty_months_due(bill: Bill, now: datetime, tz: tzinfo) -> int:
    """Months begun since the bill became overdue (0: not overdue)."""
    start = overdue_from(bill, tz)
    if now < start:
        return 0
    local = now.astimezone(tz)
    months = (local.year - start.year) * 12 + (local.month - start.month)
    if _add_months(start, months, tz) > now:
        months -= 1
    return months + 1


def _add_months(moment: datetime, months: int, tz: tzinfo) -> datetime:
    local = moment.astimezone(tz)
    index = local.year * 12 + local.month - 1 + months
    year, month = divmod(index, 12)
    day = min(local.day, _days_in(year, month + 1))
    return datetime.combine(date(year, month + 1, day), local.time().replace(tzinfo=None), tz)


def _days_in(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def accrue_penalties(
    account: PostpaidAccount, bills: Sequence[Bill], now: datetime, tz: tzinfo, rule: LatePenalty | None,
) -> tuple[PostpaidAccount, list[Bill], list[LedgerEntry]]:
    """Charge every month of late penalty due by ``now`` that was not charged yet.

    Idempotent: at the same ``now`` a second call charges nothing. Each month's
    penalty is ``basis_points`` of what the bill still owed then (rounded half up
    to the minor unit), a ledger row dated at the month's start.
    """
    bills = allocate(bills, account.dues)
    if rule is None:
        return account, bills, []
    entries: list[LedgerEntry] = []
    out: list[Bill] = []
    for bill in bills:
        months = penalty_months_due(bill, now, tz)
        while bill.penalty_months < months and not bill.settled:
            charge = Money((bill.outstanding.minor * rule.basis_points + 5_000) // 10_000, bill.amount.currency)
            at = _add_months(overdue_from(bill, tz), bill.penalty_months, tz)
            bill = replace(bill, penalty=bill.penalty + charge, penalty_months=bill.penalty_months + 1)
            if charge:
                entries.append(LedgerEntry(Bucket.DUES, charge, EntryKind.LATE_PENALTY, at))
                account = replace(account, dues=account.dues + charge)
        out.append(bill)
    return account, allocate(out, account.dues), entries


class Review(enum.Enum):
    """What ``review`` did to the line (None of these: nothing changed)."""

    NOTICE = "notice"  # dues passed the line: notice sent
    WITHDRAWN = "withdrawn"  # dues fell back before the notice ran out
    DISCONTINUED = "discontinued"  # the notice ran out with the dues still above
    REACTIVATED = "reactivated"  # dues fell back on a discontinued line


def review(account: PostpaidAccount, now: datetime, rule: DepositRule | None) -> tuple[PostpaidAccount, Review | None]:
    """Apply 004 7.7 to the line as of ``now``; idempotent."""
    if rule is None:
        return account, None
    above = rule.exceeded(account.dues, account.deposit)
    if above and account.notice is None:
        return replace(account, notice=Notice(now, now + rule.notice)), Review.NOTICE
    if not above and account.notice is not None:
        outcome = Review.REACTIVATED if account.discontinued_at is not None else Review.WITHDRAWN
        return replace(account, notice=None, discontinued_at=None), outcome
    if (above and account.notice is not None and account.discontinued_at is None
            and now >= account.notice.discontinue_at):
        return replace(account, discontinued_at=account.notice.discontinue_at), Review.DISCONTINUED
    return account, None


def is_discontinued(account: PostpaidAccount, now: datetime) -> bool:
    """Discontinued as of ``now``: the notice ran out (whether or not the job recorded it yet)."""
    if account.discontinued_at is not None:
        return True
    return account.notice is not None and now >= account.notice.discontinue_at


def reminders_due(bill: Bill, now: datetime, tz: tzinfo, policy: PostpaidPolicy) -> list[int]:
    """The reminder offsets (days before the due day) whose day has begun, nearest last.

    None once the bill is settled or overdue: a reminder is for paying on time.
    """
    if bill.settled or now >= overdue_from(bill, tz):
        return []
    started = [d for d in policy.reminder_days
               if now >= datetime.combine(bill.due_on - timedelta(days=d), time(0), tz)]
    return sorted(started, reverse=True)
