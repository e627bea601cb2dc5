"""What the channels send to the services, and what they get back.

Commands and results are frozen dataclasses; money is ``Money``, times are
aware UTC datetimes (render them in the operator's time zone). Refusals are
the exceptions of ``gateway.domain.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gateway.domain.commands import ReportLost, TopUp
from gateway.domain.lifecycle import LineState
from gateway.domain.money import Money
from gateway.domain.postpaid import Bill
from gateway.store.port import OutgoingSms

__all__ = ["BalanceView", "BillView", "ComplaintResult", "ConsentView", "DisputeResolved", "DisputeResult",
           "LostReportResult", "NumberChangeResult", "OutgoingSms", "ReportLost", "StatementLine", "StatementResult",
           "TopUp", "TopUpResult"]


@dataclass(frozen=True)
class BalanceView:
    msisdn: str
    language: str
    type: str
    state: LineState
    main: Money
    main_expires_at: datetime | None
    promo: Money
    promo_expires_at: datetime | None
    restorable: Money
    restorable_until: datetime | None
    #: When the state next gets worse without a top-up (barring, recycling).
    next_deadline: datetime | None
    lost: bool
    #: A postpaid line's bill, dues, deposit and unbilled usage (None on a prepaid line).
    postpaid: BillView | None = None


@dataclass(frozen=True)
class BillView:
    """A postpaid line as of a moment (late penalties due by then counted in, nothing written)."""

    msisdn: str
    language: str
    deposit: Money
    dues: Money
    unbilled: Money
    #: The newest bill (by issue day), None before the first.
    latest: Bill | None
    #: Its due day has passed with something still owed.
    overdue: bool
    #: Late penalties charged on all bills so far (000 "pay for the Services").
    penalties: Money
    #: 004 7.7: when the notice was sent and when the line is discontinued (None: no notice).
    notice_sent_at: datetime | None
    discontinue_at: datetime | None
    discontinued: bool
    #: The profile charges a late penalty (the screen says so on an overdue bill).
    penalty_basis_points: int = 0
    #: Every bill, oldest due first, with its paid share and penalties as of the moment.
    bills: tuple[Bill, ...] = ()


@dataclass(frozen=True)
class TopUpResult:
    msisdn: str  # the credited number
    requester: str
    credited: Money
    restored: Money
    balance: Money
    expires_at: datetime
    serial: str
    topup_id: int
    #: True when ``request_key`` had been seen: nothing new was credited.
    replayed: bool = False

    @property
    def gift(self) -> bool:
        return self.msisdn != self.requester


@dataclass(frozen=True)
class LostReportResult:
    reference: str
    reported_at: datetime


@dataclass(frozen=True)
class LostLocksCleared:
    """What ``clear_lost_locks`` lifted: the lock each had (None: it was not locked)."""

    as_target: datetime | None  # reports naming this number
    as_reporter: datetime | None  # reports made from this phone


@dataclass(frozen=True)
class ConsentView:
    msisdn: str
    opt_in: bool
    changed_at: datetime | None
    channel: str | None


# --- written requests to customer care (seeds/004_1cabed6f540fdada.txt) ------------------


@dataclass(frozen=True)
class StatementLine:
    """One usage record of a bill period as a statement shows it."""

    started_at: datetime
    kind: str  # voice | sms | data
    quantity: int  # seconds | messages | bytes, as imported
    amount: Money


@dataclass(frozen=True)
class StatementResult:
    """004 clause 7.6: a detailed statement accepted; its lines go out by SMS.

    ``charged`` is False when the statement of this bill had been given before:
    it is sent again and charged once.
    """

    reference: str
    period_start: date
    period_end: date
    issued_on: date
    bill_amount: Money
    charge: Money
    charged: bool
    lines: tuple[StatementLine, ...]
    #: SMS the lines were queued in.
    messages: int


@dataclass(frozen=True)
class DisputeResult:
    """004 clauses 3(B).4, 9.3: a bill disputed (``repeated``: it already was, by this reference)."""

    reference: str
    period_start: date
    period_end: date
    amount: Money
    raised_at: datetime
    own_network_by: datetime
    other_provider_by: datetime
    repeated: bool = False


@dataclass(frozen=True)
class DisputeResolved:
    """What ``disputes resolve`` did, and what the subscriber was told."""

    reference: str
    msisdn: str
    status: str  # upheld | rejected
    period_start: date
    period_end: date
    amount: Money
    credit: Money
    final: Money
    late: bool
    note: str | None = None
    #: False: the number is no longer the disputing subscriber's, so nobody was told (nor charged).
    told: bool = True


@dataclass(frozen=True)
class ComplaintResult:
    """004 clauses 9.1, 10.1: a written complaint recorded."""

    reference: str
    received_at: datetime


@dataclass(frozen=True)
class NumberChangeResult:
    """004 clause 5.1: a number change request accepted (``repeated``: one was open already)."""

    reference: str
    requested_at: datetime
    fee: Money
    change_within_days: int
    repeated: bool = False
