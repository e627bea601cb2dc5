"""The operator's periods, limits and rules, as one value the rules take.

Built from the operator profile (``config/operators/*.toml``) by
``gateway.profile``; the rules never hold a literal period of their own, and
never ask which operator they serve: what differs is a policy object here,
chosen by the profile's data.

- ``lifecycle``: what makes a line worse off with time. ``ExpiryLifecycle``
  (000 "SIM Card LifeCycle": barred after the funds expire, then recycled) or
  ``InactivityLifecycle`` (004 3(B).12: deactivated after months unused,
  re-issuable for a fee, then expired).
- ``postpaid``: None when the operator has no postpaid lines; else the bill
  terms, and optionally the deposit rule (004 7.7) and a late penalty (000
  "pay for the Services").
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
class ExpiryLifecycle:
    """000 "SIM Card LifeCycle": after the funds expire, outgoing barred for
    ``outgoing_barred``, then fully barred for ``fully_barred``, then recycled."""

    outgoing_barred: timedelta
    fully_barred: timedelta


@dataclass(frozen=True)
class InactivityLifecycle:
    """004 3(B).12: a line unused for ``inactive_months`` is deactivated; it may be
    reissued to its subscriber within ``reissue_window`` for ``reissue_fee``; then it
    has expired and the number may go to a new subscriber. ``reminder_days``:
    reminders this many days before each step (each sent once).

    The data only; the rule is ``gateway.domain`` code of its own (issue 15, np2).
    """

    inactive_months: int
    reissue_window: timedelta
    reissue_fee: Money
    reminder_days: tuple[int, ...] = ()


Lifecycle = ExpiryLifecycle | InactivityLifecycle


@dataclass(frozen=True)
class DepositRule:
    """004 7.7: "If due amount exceeds more than 95% of the Security Deposit, service
    can be discontinued by giving prior notice".

    Dues strictly above ``threshold_percent`` of the deposit start a notice; the
    line is discontinued ``notice`` after it unless the dues fall back to the line
    or below.
    """

    threshold_percent: int
    notice: timedelta

    def exceeded(self, dues: Money, deposit: Money) -> bool:
        """Integer arithmetic: exactly ``threshold_percent`` is not above it."""
        return dues.minor * 100 > deposit.minor * self.threshold_percent


@dataclass(frozen=True)
class LatePenalty:
    """000 "pay for the Services": "penalties of 1% on the outstanding amount are
    applicable per month". ``basis_points`` per whole month a bill is overdue (100 = 1%)."""

    basis_points: int


@dataclass(frozen=True)
class PostpaidPolicy:
    """Postpaid bills: due ``due_days`` after issue (004 7.4: "within 15 days after
    receipt of the bill statement"); reminders ``reminder_days`` before the due day."""

    due_days: int
    reminder_days: tuple[int, ...] = ()
    deposit_rule: DepositRule | None = None
    late_penalty: LatePenalty | None = None


@dataclass(frozen=True)
class Policy:
    currency: Currency
    #: Active Period of a new subscriber without explicit dates.
    default_valid_days: int
    #: 000 "Prepaid": expired funds are restored by a top-up within this period.
    restore_window: timedelta
    #: 000 "Prepaid": promotional funds' Active Period unless stated.
    promo_valid_days: int
    #: What happens to a line with time (see the module docstring).
    lifecycle: Lifecycle
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
    #: None: the operator has no postpaid lines.
    postpaid: PostpaidPolicy | None = None
