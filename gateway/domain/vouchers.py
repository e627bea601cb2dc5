"""Smart Top Up Cards (vouchers): who may redeem one, and when.

``seeds/000_bae17f1119540322.txt``, "Prepaid" clause 2: funds are added with a
Smart Top Up Card. A voucher carries an amount and an Active Period in days,
may carry a last day of validity, and is redeemed at most once. Its PIN is
kept only as a keyed hash (``gateway.domain.secrets``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from gateway.domain.errors import InvalidPin, VoucherAlreadyUsed, VoucherExpired
from gateway.domain.money import Money

PIN_MIN_DIGITS = 10
PIN_MAX_DIGITS = 20
PIN_DIGITS_GENERATED = 14


class VoucherStatus(enum.StrEnum):
    ACTIVE = "active"
    USED = "used"


@dataclass(frozen=True)
class Voucher:
    voucher_id: int
    serial: str
    amount: Money
    active_days: int
    expires_on: date | None
    status: VoucherStatus


def check_pin_format(pin: str) -> str:
    """A PIN as typed: digits only, spaces and dashes ignored.

    Raises:
        InvalidPin: not a plausible PIN (this is not counted as a wrong PIN).
    """
    cleaned = clean_pin(pin)
    check_pin_shape(len(cleaned), cleaned.isascii() and cleaned.isdigit())
    return cleaned


def clean_pin(pin: str) -> str:
    """A PIN without the spaces and dashes it may be written with."""
    return pin.replace(" ", "").replace("-", "")


def check_pin_shape(length: int, digits: bool) -> None:
    """The format rule of ``check_pin_format`` on a PIN known only by its shape (``Sealed``).

    Raises:
        InvalidPin: not a plausible PIN.
    """
    if not digits or not PIN_MIN_DIGITS <= length <= PIN_MAX_DIGITS:
        raise InvalidPin(f"a voucher PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")


def check_redeemable(voucher: Voucher, today: date) -> None:
    """``today`` is the operator's local date: a voucher is good through its last day.

    Raises:
        VoucherAlreadyUsed, VoucherExpired
    """
    if voucher.status is VoucherStatus.USED:
        raise VoucherAlreadyUsed()
    if voucher.expires_on is not None and today > voucher.expires_on:
        raise VoucherExpired()
