"""The postpaid rules as pure functions: 004_1cabed6f540fdada.txt 7.4 and 7.7, 000_... "pay for the Services"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.account import Bucket
from gateway.domain.money import Currency, Money
from gateway.domain.policy import DepositRule, LatePenalty, PostpaidPolicy
from gateway.domain.postpaid import (
    PostpaidAccount,
    Review,
    accrue_penalties,
    allocate,
    apply_payment,
    charge_bill,
    is_discontinued,
    new_bill,
    overdue_from,
    review,
)

NPR = Currency("NPR", 2, "Rs ")
KTM = ZoneInfo("Asia/Kathmandu")
NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
RULE = DepositRule(95, timedelta(days=7))
TERMS = PostpaidPolicy(15, (3, 1), RULE, None)


def rs(minor: int) -> Money:
    return Money(minor, NPR)


def line(deposit: int, dues: int) -> PostpaidAccount:
    return PostpaidAccount(rs(deposit), rs(dues), rs(0))


def test_004_7_7_exactly_95_percent_is_not_above_the_line():
    """95.00% of the deposit gives no notice; one paisa more does."""
    assert review(line(100_000, 95_000), NOW, RULE) == (line(100_000, 95_000), None)
    account, outcome = review(line(100_000, 95_001), NOW, RULE)
    assert outcome is Review.NOTICE and account.notice is not None
    assert account.notice.discontinue_at == NOW + timedelta(days=7)


def test_004_7_7_notice_runs_out_then_a_payment_reactivates():
    """Discontinued when the notice ends with the dues still above; back below: reactivated."""
    account, _ = review(line(100_000, 99_000), NOW, RULE)
    assert not is_discontinued(account, NOW + timedelta(days=7) - timedelta(microseconds=1))
    account, outcome = review(account, NOW + timedelta(days=7), RULE)
    assert outcome is Review.DISCONTINUED and is_discontinued(account, NOW + timedelta(days=7))
    account, _ = apply_payment(account, rs(4_000), NOW + timedelta(days=8))
    account, outcome = review(account, NOW + timedelta(days=8), RULE)
    assert outcome is Review.REACTIVATED and account.notice is None and account.discontinued_at is None


def test_004_7_4_due_15_days_after_issue_and_overdue_from_the_next_kathmandu_midnight():
    """Issued 01/11, due 16/11; late from 17/11 00:00 +05:45 (16/11 18:15 UTC)."""
    bill = new_bill(date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1), rs(100), TERMS)
    assert bill.due_on == date(2026, 11, 16)
    assert overdue_from(bill, KTM) == datetime(2026, 11, 16, 18, 15, tzinfo=UTC)


def test_000_late_penalty_for_every_month_begun_past_the_due_day():
    """1% of what is still owed on the first late day, and again a month later; idempotent."""
    bill = new_bill(date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1), rs(10_000), TERMS)
    account, entries = charge_bill(line(0, 0), bill, NOW)
    late = overdue_from(bill, KTM)
    penalty = LatePenalty(100)
    before = accrue_penalties(account, [bill], late - timedelta(microseconds=1), KTM, penalty)
    assert before[2] == []
    account, bills, charged = accrue_penalties(account, [bill], late, KTM, penalty)
    assert [e.delta.minor for e in charged] == [100]
    again = accrue_penalties(account, bills, late, KTM, penalty)
    assert again[2] == []
    account, bills, charged = accrue_penalties(account, bills, late + timedelta(days=31), KTM, penalty)
    assert [e.delta.minor for e in charged] == [101] and account.dues == rs(10_201)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("bill"), st.integers(0, 200_000)),
        st.tuples(st.just("pay"), st.integers(1, 200_000)),
        st.tuples(st.just("wait"), st.integers(1, 40)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(operations, st.integers(0, 300_000))
def test_dues_always_equal_the_ledger_and_bills_are_paid_oldest_first(ops, deposit):
    """Any sequence of bills, payments and days (with penalties and the 7.7 review): the dues are the
    sum of their ledger rows, and the bills' paid shares add up to what was paid, oldest first."""
    account, entries = PostpaidAccount.opening(rs(deposit), NOW)
    ledger = {Bucket.DEPOSIT: sum(e.delta.minor for e in entries), Bucket.DUES: 0}
    bills = []
    now = NOW
    month = 0
    paid_total = 0
    for op, value in ops:
        if op == "bill":
            start = date(2026, 1, 1) + timedelta(days=31 * month)
            month += 1
            bill = new_bill(start, start + timedelta(days=27), start + timedelta(days=28), rs(value), TERMS)
            bill = type(bill)(**{**bill.__dict__, "bill_id": month})
            bills.append(bill)
            account, new = charge_bill(account, bill, now)
        elif op == "pay":
            account, new = apply_payment(account, rs(value), now)
            paid_total += value
        else:
            now += timedelta(days=value)
            new = []
        account, bills, penalties = accrue_penalties(account, bills, now, KTM, LatePenalty(100))
        account, _ = review(account, now, RULE)
        for entry in new + penalties:
            ledger[entry.bucket] += entry.delta.minor
        assert ledger[Bucket.DUES] == account.dues.minor
        assert ledger[Bucket.DEPOSIT] == account.deposit.minor
        charged = sum(b.charged.minor for b in bills)
        assert sum(b.paid.minor for b in bills) == min(charged, paid_total)
        assert allocate(bills, account.dues) == bills
        first_open = next((i for i, b in enumerate(bills) if not b.settled), len(bills))
        assert all(b.paid.minor == 0 for b in bills[first_open + 1:])
        assert (account.notice is not None) == RULE.exceeded(account.dues, account.deposit)
