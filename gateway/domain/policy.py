"""The operator's periods and limits, as one value the rules take.

Built from the operator profile (``config/operators/*.toml``) by
``gateway.profile``; the rules never hold a literal period of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.domain.money import Currency, Money


@dataclass(frozen=True)
class AttemptLimit:
    """``max_failures`` within ``window`` locks the key for ``lockout``."""

    max_failures: int
    window: timedelta
    lockout: timedelta


@dataclass(frozen=True)
class Policy:
    currency: Currency
    #: Active Period of a new subscriber without explicit dates.
    default_valid_days: int
    #: 000 "Prepaid": expired funds are restored by a top-up within this period.
    restore_window: timedelta
    #: 000 "Prepaid": promotional funds' Active Period unless stated.
    promo_valid_days: int
    #: 000 "SIM Card LifeCycle": outgoing barred for 60 days after expiry ...
    outgoing_barred: timedelta
    #: ... then incoming and outgoing barred for 30 days, then recycled.
    fully_barred: timedelta
    #: Wrong voucher PINs per requesting number.
    pin_attempts: AttemptLimit
    #: Lost-SIM reports whose number/ID pair did not match, per reporting number.
    lost_attempts: AttemptLimit
    #: The same mismatches per reported number, from any phones: bounds the ID
    #: guesses against one subscriber however many phones make them.
    lost_attempts_per_number: AttemptLimit
    #: Reminder "your funds expire in N days" this many days ahead (0: none).
    expiry_reminder_days: int
    #: Largest voucher amount that may be generated or imported.
    max_voucher: Money
    #: Largest sum of a line's funds (main, restorable, promotional).
    max_balance: Money
