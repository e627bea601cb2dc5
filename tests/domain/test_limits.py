"""Upper bounds on money: the largest voucher and the largest balance a line may hold.

Profile keys ``limits.max_voucher_amount`` and ``limits.max_balance`` (smart-kh:
$100.00 and $1,000.00); without them the 9,224th top-up of a huge voucher
overflowed SQLite's 64-bit integer.
"""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.account import Account, apply_top_up, grant_promo
from gateway.domain.errors import BalanceAboveMaximum, InvalidAmount
from gateway.domain.limits import check_opening_balance, check_voucher_amount
from gateway.domain.money import Money
from tests.support.domain import USD

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def usd(minor: int) -> Money:
    return Money(minor, USD)


def account(main: int, expires: datetime) -> Account:
    return Account.opening(usd(main), expires, T0)[0]


def test_topup_up_to_the_maximum_is_credited_beyond_it_refused(policy):
    """A top-up that brings the funds exactly to the maximum is credited; one cent more is refused."""
    near = account(policy.max_balance.minor - 500, T0 + timedelta(days=10))

    new, _, _ = apply_top_up(near, usd(500), 30, T0, policy)
    assert new.main == policy.max_balance

    with pytest.raises(BalanceAboveMaximum) as info:
        apply_top_up(near, usd(501), 30, T0, policy)
    assert info.value.maximum == policy.max_balance


def test_restored_and_promotional_funds_count_towards_the_maximum(policy):
    """Funds a top-up restores, and promotional funds, are part of the balance the maximum bounds."""
    expired = account(policy.max_balance.minor - 100, T0)  # expires at T0, restorable for 7 days
    with pytest.raises(BalanceAboveMaximum):
        apply_top_up(expired, usd(200), 30, T0 + timedelta(days=1), policy)

    promoted, _, _ = grant_promo(account(100, T0 + timedelta(days=10)), usd(500), 30, T0, policy)
    with pytest.raises(BalanceAboveMaximum):
        apply_top_up(promoted, usd(policy.max_balance.minor - 550), 30, T0, policy)


def test_promotion_beyond_the_maximum_is_refused(policy):
    """A promotional grant that would take the funds over the maximum is refused."""
    full = account(policy.max_balance.minor, T0 + timedelta(days=10))
    with pytest.raises(BalanceAboveMaximum):
        grant_promo(full, usd(1), 30, T0, policy)


def test_opening_balance_and_voucher_amount_bounds(policy):
    """An opening balance above the balance maximum, or a voucher above the voucher maximum, is refused."""
    check_opening_balance(policy.max_balance, policy)
    with pytest.raises(BalanceAboveMaximum):
        check_opening_balance(policy.max_balance + usd(1), policy)
    check_voucher_amount(policy.max_voucher, policy)
    with pytest.raises(InvalidAmount, match=r"at most \$100.00"):
        check_voucher_amount(policy.max_voucher + usd(1), policy)
