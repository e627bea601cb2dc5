"""Upper bounds on money: the largest voucher and the largest balance a line may hold.

Not from the operator's terms but fraud and error control: a printer's file
with a misplaced decimal point, or a script redeeming vouchers in a loop,
must not create funds no prepaid line holds (nor overflow SQLite's 64-bit
integer). Both bounds come from the profile (``limits.max_voucher_amount``,
``limits.max_balance``); the balance is every fund of the line (main,
restorable and promotional), checked after the change that adds to it.
"""

from __future__ import annotations

from gateway.domain.errors import BalanceAboveMaximum, InvalidAmount
from gateway.domain.money import Money
from gateway.domain.policy import Policy


def check_voucher_amount(amount: Money, policy: Policy) -> None:
    """Raises: InvalidAmount: a voucher above the profile's largest amount."""
    if amount.minor > policy.max_voucher.minor:
        raise InvalidAmount(f"a voucher is at most {policy.max_voucher.display()}")


def check_balance(funds: Money, policy: Policy) -> None:
    """``funds``: all of a line's funds after a credit.

    Raises:
        BalanceAboveMaximum: above ``policy.max_balance``.
    """
    if funds.minor > policy.max_balance.minor:
        raise BalanceAboveMaximum(policy.max_balance)


def check_opening_balance(balance: Money, policy: Policy) -> None:
    """A new or imported subscriber's opening balance (raises BalanceAboveMaximum)."""
    check_balance(balance, policy)
