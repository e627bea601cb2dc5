"""Every way a business operation can be refused.

Entry points turn these into a polite USSD ``END`` screen, an SMS reply, a
``400`` or a one-line CLI error (exit code 2); none of them is a crash.

    GatewayError
    ├── InvalidInput                 the request itself is malformed
    │   ├── InvalidAmount
    │   ├── InvalidMsisdn
    │   ├── InvalidPin
    │   └── InvalidIdNumber
    ├── SubscriberError
    │   ├── UnknownSubscriber        no such (live) number
    │   ├── SubscriberExists         add/import over a live number
    │   ├── NumberRecycled           the number was recycled; nothing to act on
    │   ├── LineLost                 the SIM is reported lost: its own menus are closed
    │   ├── NotPrepaid               a prepaid-only service asked for a postpaid line
    │   └── NotPostpaid              a postpaid service (bill) asked for a prepaid line
    ├── TopUpError
    │   ├── WrongPin                 no voucher has that PIN (attempts_left)
    │   │   └── GiftRefused          a gift not made, one answer for every cause (attempts_left)
    │   ├── VoucherAlreadyUsed
    │   ├── VoucherExpired
    │   └── TopUpLocked              too many wrong PINs (until)
    ├── LostReportError
    │   ├── LostDetailsMismatch      number/ID pair not recognised (never says which)
    │   └── LostReportLocked         too many mismatches from this phone (until)
    ├── CareRequestError             a written request to customer care refused (004 clauses 5.1, 7.6, 9)
    │   ├── NoBill                   the line has no bill yet
    │   ├── StatementRefused         7.6: the period or the ask is too late (reason, last_day)
    │   ├── DisputeSettled           the latest bill's dispute is settled already (status)
    │   ├── ArrearsOutstanding       5.1(b): no number change while arrears (amount)
    │   ├── EmptyComplaint           (also InvalidInput) COMPLAINT without its text
    │   ├── ComplaintTooLong         (also InvalidInput) over the profile's length (maximum)
    │   ├── UnknownReference         no dispute or complaint with that reference
    │   └── CaseClosed               resolving or closing it twice
    ├── BalanceAboveMaximum          the line's funds would exceed the profile maximum
    ├── RateLimited                  too many requests from one number (until)
    └── BadImportFile                 a bulk file is unreadable or malformed (line)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol


class Amount(Protocol):
    """The sum a refusal names (a ``gateway.domain.money.Money``, which parses its amounts with the
    refusals of this module): shown in the message as it displays."""

    def display(self) -> str: ...


class GatewayError(Exception):
    """Base of every refusal; ``str()`` is a one-line reason for operators."""


class InvalidInput(GatewayError):
    pass


class InvalidAmount(InvalidInput):
    pass


class InvalidMsisdn(InvalidInput):
    pass


class InvalidPin(InvalidInput):
    pass


class InvalidIdNumber(InvalidInput):
    pass


class SubscriberError(GatewayError):
    def __init__(self, message: str, msisdn: str | None = None) -> None:
        super().__init__(message)
        #: The number concerned, for the reply ("012345678 is not ...").
        self.msisdn = msisdn


class UnknownSubscriber(SubscriberError):
    pass


class SubscriberExists(SubscriberError):
    pass


class NumberRecycled(SubscriberError):
    pass


class LineLost(SubscriberError):
    pass


class NotPrepaid(SubscriberError):
    pass


class NotPostpaid(SubscriberError):
    pass


class TopUpError(GatewayError):
    pass


class WrongPin(TopUpError):
    def __init__(self, attempts_left: int, locked_until: datetime | None = None) -> None:
        super().__init__(
            "wrong voucher PIN"
            + (f"; top-up locked until {locked_until.isoformat()}" if locked_until else
               f"; {attempts_left} attempt(s) left")
        )
        self.attempts_left = attempts_left
        self.locked_until = locked_until


class GiftRefused(WrongPin):
    """A top-up of another number refused before any voucher was redeemed.

    Wrong, used or expired PIN, or a number that cannot be credited (unknown,
    recycled, postpaid): one answer for all, counted like a wrong PIN, so that
    nobody learns from a gift whether a number is a subscriber's. ``cause``
    names the real reason, for the operator's log only.
    """

    def __init__(self, attempts_left: int, locked_until: datetime | None = None, cause: str = "") -> None:
        super().__init__(attempts_left, locked_until)
        self.cause = cause


class VoucherAlreadyUsed(TopUpError):
    def __init__(self) -> None:
        super().__init__("this voucher has already been used")


class VoucherExpired(TopUpError):
    def __init__(self) -> None:
        super().__init__("this voucher has expired")


class TopUpLocked(TopUpError):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"top-up locked after too many wrong PINs, until {until.isoformat()}")
        self.until = until


class LostReportError(GatewayError):
    pass


class LostDetailsMismatch(LostReportError):
    def __init__(self, attempts_left: int) -> None:
        super().__init__("the number and ID number do not match our records")
        self.attempts_left = attempts_left


class LostReportLocked(LostReportError):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"too many attempts; try again after {until.isoformat()}")
        self.until = until


class BalanceAboveMaximum(GatewayError):
    """A credit would take a line's funds over ``maximum``; nothing was changed."""

    def __init__(self, maximum: Amount) -> None:
        super().__init__(f"the balance would exceed the maximum of {maximum.display()}")
        self.maximum = maximum


class RateLimited(GatewayError):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"too many requests; try again after {until.isoformat()}")
        self.until = until


class BadImportFile(GatewayError):
    """A bulk file is unreadable or malformed; the message names the line."""


class CareRequestError(GatewayError):
    pass


class NoBill(CareRequestError):
    def __init__(self) -> None:
        super().__init__("the line has no bill yet")


class StatementRefused(CareRequestError):
    """004 clause 7.6: ``reason`` is ``period_too_old`` or ``asked_too_late``; ``last_day`` the last local
    day a statement was owed."""

    def __init__(self, reason: str, last_day: date) -> None:
        what = ("the bill period ended more than the terms allow" if reason == "period_too_old"
                else "asked too long after the bill was received")
        super().__init__(f"no detailed statement: {what} (last day {last_day.isoformat()})")
        self.reason = reason
        self.last_day = last_day


class DisputeSettled(CareRequestError):
    """The latest bill was disputed and that dispute is settled (``reference``, ``status``)."""

    def __init__(self, reference: str, status: str) -> None:
        super().__init__(f"the dispute {reference} of this bill is settled ({status})")
        self.reference = reference
        self.status = status


class ArrearsOutstanding(CareRequestError):
    """004 clause 5.1(b): no action on a number change until the arrears are cleared."""

    def __init__(self, arrears: Amount) -> None:
        super().__init__(f"arrears of {arrears.display()} must be cleared first")
        self.arrears = arrears


class EmptyComplaint(CareRequestError, InvalidInput):
    pass


class ComplaintTooLong(CareRequestError, InvalidInput):
    def __init__(self, maximum: int) -> None:
        super().__init__(f"a complaint may have at most {maximum} characters")
        self.maximum = maximum


class UnknownReference(CareRequestError):
    def __init__(self, reference: str) -> None:
        super().__init__(f"no such reference: {reference!r}")
        self.reference = reference


class CaseClosed(CareRequestError):
    def __init__(self, reference: str, status: str) -> None:
        super().__init__(f"{reference} is {status} already")
        self.reference = reference
        self.status = status
