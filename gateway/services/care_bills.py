"""The money side of care requests: the latest bill, the usage a statement lists, the arrears a number
change is refused for, and the ledger rows a statement charge and a dispute move (``gateway.services.care``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gateway.domain import postpaid as postpaid_rules
from gateway.domain.account import Bucket, EntryKind, LedgerEntry
from gateway.domain.errors import (
    NoBill,
)
from gateway.domain.money import Money
from gateway.domain.postpaid import Bill
from gateway.services.model import (
    StatementLine,
)
from gateway.services.ports import Context
from gateway.services.postpaid import settle_line
from gateway.store.port import SubscriberRecord, UnitOfWork


def latest_bill(ctx: Context, uow: UnitOfWork, record: SubscriberRecord) -> tuple[int, Bill]:
    """The subscriber's latest bill (the last issued; the newest stored of one day) and its id.

    Raises:
        NoBill
    """
    bills = [bill for bill in uow.postpaid.bills(record.subscriber_id, ctx.profile.currency)
             if bill.bill_id is not None]
    if not bills:
        raise NoBill()
    latest = max(bills, key=lambda bill: (bill.issued_on, bill.bill_id or 0))
    assert latest.bill_id is not None
    return latest.bill_id, latest


def usage_lines(ctx: Context, uow: UnitOfWork, record: SubscriberRecord, start: datetime,
                 until: datetime) -> list[StatementLine]:
    """The rated usage records that started in ``[start, until)``, oldest first (the usage import's)."""
    currency = ctx.profile.currency
    return [StatementLine(line.started_at, line.kind, line.quantity, Money(line.charged_minor, currency))
            for line in uow.usage.lines(record.subscriber_id, start, until)]


def arrears(ctx: Context, uow: UnitOfWork, record: SubscriberRecord, now: datetime) -> Money:
    """What is overdue: the unpaid part of bills past their due day (a prepaid line has none)."""
    zero = Money.zero(ctx.profile.currency)
    if record.postpaid is None:
        return zero
    bills = postpaid_rules.allocate(uow.postpaid.bills(record.subscriber_id, ctx.profile.currency),
                                    record.postpaid.dues)
    overdue = [bill.outstanding for bill in bills if postpaid_rules.is_overdue(bill, now, ctx.profile.time_zone)]
    return sum(overdue, zero)


def charge_next_bill(ctx: Context, uow: UnitOfWork, record: SubscriberRecord, charge: Money, reference: str,
                      now: datetime) -> None:
    """Put the statement's charge on the next bill: a ledger row on the line's unbilled bucket.

    Unbilled, not dues: it is not on a bill yet, so it has no due day and does
    not count towards the deposit rule (7.7) or arrears (5.1(b)) before the
    next imported bill adds it to its amount (``postpaid.import_bills``); the
    balance screens show it with the unbilled usage.
    """
    account = record.postpaid
    assert account is not None  # the request checked the type
    if not charge:
        return
    entry = LedgerEntry(Bucket.UNBILLED, charge, EntryKind.STATEMENT_CHARGE, now)
    uow.postpaid.save(record.subscriber_id, replace(account, unbilled=account.unbilled + charge), [entry],
                      now=now, reference=reference, channel="system")


def hold_disputed(ctx: Context, uow: UnitOfWork, record: SubscriberRecord, amount: Money, reference: str,
                   now: datetime) -> None:
    """3(B).4: the disputed amount is held (out of the dues) while the dispute is open.

    A ledger row on the dues (kind ``dispute_hold``): while it is held the
    disputed bill neither counts towards the deposit rule (7.7) nor as arrears
    (5.1(b)). Not a row on the deposit: nobody has paid that money, and a
    deposit that grew by it would raise the 95% line with money nobody holds.
    """
    _move_dues(ctx, uow, record, [(-amount, EntryKind.DISPUTE_HOLD)], reference, now)


def release_disputed(ctx: Context, uow: UnitOfWork, record: SubscriberRecord, final: Money, credit: Money,
                      reference: str, now: datetime) -> None:
    """9.3: the dispute is settled: the held amount is due again, less the credit (two ledger rows)."""
    rows = [(final + credit, EntryKind.DISPUTE_RELEASE)]
    if credit:
        rows.append((-credit, EntryKind.DISPUTE_CREDIT))
    _move_dues(ctx, uow, record, rows, reference, now)


def _move_dues(ctx: Context, uow: UnitOfWork, record: SubscriberRecord, rows: list[tuple[Money, EntryKind]],
               reference: str, now: datetime) -> None:
    """Change the dues by ``rows`` (ledger rows in one save), as a payment does: the bills' paid shares
    follow and the deposit rule (7.7) is reviewed at once (a notice withdrawn or sent, a line reactivated)."""
    account = record.postpaid
    if account is None:
        return
    entries = [LedgerEntry(Bucket.DUES, delta, kind, now) for delta, kind in rows if delta]
    if not entries:
        return
    dues = account.dues + sum((e.delta for e in entries), Money.zero(ctx.profile.currency))
    settle_line(ctx, uow, record, replace(account, dues=dues), entries, now, reference=reference, channel="system")
