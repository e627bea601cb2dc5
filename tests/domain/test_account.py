"""Rules 2-4: Active Period, expiry and restoration, promotional funds.

Source: seeds/000_bae17f1119540322.txt, section "Prepaid", clauses 2-4.
"""

from datetime import UTC, datetime, timedelta

from gateway.domain.account import Account, Bucket, EntryKind, apply_top_up, grant_promo, settle
from gateway.domain.money import Money
from tests.support.domain import USD

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def usd(minor: int) -> Money:
    return Money(minor, USD)


def account(main: int, expires: datetime) -> Account:
    return Account.opening(usd(main), expires, T0)[0]


def test_topup_before_expiry_adds_funds_and_keeps_the_later_expiry(policy):
    """000 Prepaid 3: funds combine; validity is the later of current expiry and now + days."""
    acc = account(600, T0 + timedelta(days=20))
    new, _, outcome = apply_top_up(acc, usd(500), 7, T0, policy)
    assert new.main == usd(1100)
    assert new.main_expires_at == T0 + timedelta(days=20)  # a 7-day card does not shorten 20 days
    new, _, _ = apply_top_up(acc, usd(500), 30, T0, policy)
    assert new.main_expires_at == T0 + timedelta(days=30)
    assert outcome.restored == usd(0)


def test_funds_expire_at_the_end_of_the_active_period(policy):
    """000 Prepaid 2: at the expiry instant the main balance is gone (but restorable)."""
    acc = account(600, T0)
    before, entries = settle(acc, T0 - timedelta(microseconds=1), policy)
    assert before.main == usd(600) and entries == []
    after, entries = settle(acc, T0, policy)
    assert after.main == usd(0)
    assert after.restorable == usd(600)
    assert after.restorable_until == T0 + timedelta(days=7)
    assert {(e.bucket, e.delta.minor, e.kind) for e in entries} == {
        (Bucket.MAIN, -600, EntryKind.EXPIRE), (Bucket.RESTORABLE, 600, EntryKind.EXPIRE)}


def test_topup_within_seven_days_restores_expired_funds(policy):
    """000 Prepaid 3: a top-up within seven days of expiry brings the expired funds back."""
    acc = account(600, T0)
    new, _, outcome = apply_top_up(acc, usd(500), 30, T0 + timedelta(days=6, hours=23), policy)
    assert outcome.restored == usd(600)
    assert new.main == usd(1100)
    assert new.restorable == usd(0)
    assert new.main_expires_at == T0 + timedelta(days=36, hours=23)


def test_topup_after_seven_days_does_not_restore(policy):
    """000 Prepaid 3: after the seven days the expired funds are forfeited."""
    acc = account(600, T0)
    new, entries, outcome = apply_top_up(acc, usd(500), 30, T0 + timedelta(days=7), policy)
    assert outcome.restored == usd(0)
    assert new.main == usd(500)
    assert any(e.kind is EntryKind.FORFEIT and e.delta == usd(-600) for e in entries)


def test_promotional_funds_have_their_own_period_and_are_not_extended(policy):
    """000 Prepaid 4: promo funds last 30 days unless stated; a top-up neither extends nor restores them."""
    acc = account(0, T0 + timedelta(days=60))
    acc, _, lot = grant_promo(acc, usd(200), policy.promo_valid_days, T0, policy)
    assert lot.expires_at == T0 + timedelta(days=30)
    acc, _, _ = apply_top_up(acc, usd(500), 90, T0 + timedelta(days=29), policy)
    assert acc.promo_total == usd(200)
    assert acc.promo_expires_at == T0 + timedelta(days=30)  # not extended by the 90-day card
    later, entries = settle(acc, T0 + timedelta(days=30), policy)
    assert later.promo_total == usd(0)
    assert later.restorable == usd(0)  # promo funds never become restorable
    acc2, _, outcome = apply_top_up(later, usd(100), 30, T0 + timedelta(days=31), policy)
    assert acc2.promo_total == usd(0) and outcome.restored == usd(0)


def test_settle_is_idempotent(policy):
    """Settling twice at the same time changes nothing the second time."""
    acc = account(600, T0)
    once, _ = settle(acc, T0 + timedelta(days=3), policy)
    twice, entries = settle(once, T0 + timedelta(days=3), policy)
    assert twice == once and entries == []


def test_entries_sum_to_the_buckets(policy):
    """Every change is a ledger entry: summed per bucket they give the new balances."""
    acc, entries = Account.opening(usd(600), T0, T0)
    acc, more, _ = grant_promo(acc, usd(100), 10, T0, policy)
    entries += more
    acc, more, _ = apply_top_up(acc, usd(250), 30, T0 + timedelta(days=2), policy)
    entries += more
    acc, more = settle(acc, T0 + timedelta(days=45), policy)
    entries += more
    buckets = ((Bucket.MAIN, acc.main), (Bucket.RESTORABLE, acc.restorable), (Bucket.PROMO, acc.promo_total))
    for bucket, value in buckets:
        assert sum(e.delta.minor for e in entries if e.bucket is bucket) == value.minor
