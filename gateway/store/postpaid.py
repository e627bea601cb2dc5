"""Postpaid lines on SQLite: the buckets and notice on the subscriber row, bills, payments.

``save`` is the only writer of ``deposit_minor``, ``dues_minor`` and
``unbilled_minor`` and writes their ledger rows in the same batch, as
``gateway.store.accounts.save_account`` does for the prepaid buckets.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from gateway.domain.account import Bucket, LedgerEntry
from gateway.domain.money import Currency, Money
from gateway.domain.postpaid import Bill, Notice, PostpaidAccount
from gateway.store.port import DuplicateBill, DuplicatePayment
from gateway.store.times import iso

#: The subscriber columns a postpaid record is read from (``SELECT s.<these>``).
COLUMNS = ("deposit_minor", "dues_minor", "unbilled_minor", "notice_sent_at", "discontinue_at", "discontinued_at")
POSTPAID_BUCKETS = frozenset({Bucket.DEPOSIT, Bucket.DUES, Bucket.UNBILLED})


def account_of(row: Any, currency: Currency) -> PostpaidAccount:
    """The postpaid account of a subscriber row holding ``COLUMNS`` (either adapter's row)."""
    sent, until = row["notice_sent_at"], row["discontinue_at"]
    notice = None
    if sent is not None and until is not None:
        notice = Notice(_moment(sent), _moment(until))
    discontinued = row["discontinued_at"]
    return PostpaidAccount(
        deposit=Money(row["deposit_minor"], currency),
        dues=Money(row["dues_minor"], currency),
        unbilled=Money(row["unbilled_minor"], currency),
        notice=notice,
        discontinued_at=None if discontinued is None else _moment(discontinued),
    )


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def bill_of(row: Any, currency: Currency) -> Bill:
    return Bill(
        period_start=_day(row["period_start"]), period_end=_day(row["period_end"]),
        issued_on=_day(row["issued_on"]), due_on=_day(row["due_on"]),
        amount=Money(row["amount_minor"], currency), paid=Money(row["paid_minor"], currency),
        penalty=Money(row["penalty_minor"], currency), penalty_months=row["penalty_months"],
        bill_id=row["id"],
        held=None if row["held_minor"] is None else Money(row["held_minor"], currency),
        credited=None if row["credited_minor"] is None else Money(row["credited_minor"], currency),
    )


def check_entries(entries: list[LedgerEntry]) -> None:
    wrong = [e.bucket.value for e in entries if e.bucket not in POSTPAID_BUCKETS]
    if wrong:
        raise ValueError(f"not postpaid buckets: {wrong}")


#: A line's bills (``?``: its subscriber id), with what a dispute of each holds (open) or credited
#: (settled): ``bill_of`` reads them into ``Bill.held`` and ``Bill.credited`` (004 3(B).4, 9.3).
BILLS_OF = (
    "SELECT b.id, b.period_start, b.period_end, b.issued_on, b.due_on, b.amount_minor, b.paid_minor, "
    "b.penalty_minor, b.penalty_months, "
    "CASE WHEN d.status = 'open' THEN d.amount_minor END AS held_minor, "
    "CASE WHEN d.status <> 'open' THEN d.credit_minor END AS credited_minor "
    "FROM bills b LEFT JOIN disputes d ON d.bill_id = b.id WHERE b.subscriber_id = ? "
    "ORDER BY b.due_on, b.issued_on, b.id"
)
DUE_FOR_REVIEW = (
    "SELECT s.msisdn FROM subscribers s WHERE s.status = 'live' AND s.type = 'postpaid' AND ("
    " s.notice_sent_at IS NOT NULL OR EXISTS (SELECT 1 FROM bills b WHERE b.subscriber_id = s.id"
    " AND b.paid_minor < b.amount_minor + b.penalty_minor)) ORDER BY s.id"
)


class SqlitePostpaid:
    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def save(self, subscriber_id: int, account: PostpaidAccount, entries: list[LedgerEntry], *,
             now: datetime, reference: str | None = None, channel: str | None = None) -> None:
        check_entries(entries)
        recorded = iso(now)
        self._conn.executemany(
            "INSERT INTO ledger (subscriber_id, bucket, delta_minor, kind, at, recorded_at, reference, channel) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(subscriber_id, e.bucket.value, e.delta.minor, e.kind.value, iso(e.at), recorded,
              e.reference or reference, channel) for e in entries],
        )
        notice = account.notice
        self._conn.execute(
            "UPDATE subscribers SET deposit_minor = ?, dues_minor = ?, unbilled_minor = ?, notice_sent_at = ?, "
            "discontinue_at = ?, discontinued_at = ? WHERE id = ?",
            (account.deposit.minor, account.dues.minor, account.unbilled.minor,
             iso(notice.sent_at) if notice else None, iso(notice.discontinue_at) if notice else None,
             iso(account.discontinued_at), subscriber_id),
        )

    def bills(self, subscriber_id: int, currency: Currency) -> list[Bill]:
        return [bill_of(row, currency) for row in self._conn.execute(BILLS_OF, (subscriber_id,))]

    def add_bill(self, subscriber_id: int, bill: Bill, now: datetime) -> int:
        try:
            cur = self._conn.execute(
                "INSERT INTO bills (subscriber_id, period_start, period_end, issued_on, due_on, amount_minor, "
                "paid_minor, penalty_minor, penalty_months, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (subscriber_id, bill.period_start.isoformat(), bill.period_end.isoformat(),
                 bill.issued_on.isoformat(), bill.due_on.isoformat(), bill.amount.minor, bill.paid.minor,
                 bill.penalty.minor, bill.penalty_months, iso(now)),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateBill(str(exc)) from exc
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_bills(self, bills: Sequence[Bill]) -> None:
        self._conn.executemany(
            "UPDATE bills SET paid_minor = ?, penalty_minor = ?, penalty_months = ? WHERE id = ?",
            [(b.paid.minor, b.penalty.minor, b.penalty_months, b.bill_id) for b in bills if b.bill_id is not None],
        )

    def payment_exists(self, reference: str) -> bool:
        return self._conn.execute("SELECT 1 FROM payments WHERE reference = ?", (reference,)).fetchone() is not None

    def add_payment(self, subscriber_id: int, amount_minor: int, paid_at: datetime, reference: str,
                    now: datetime) -> int:
        try:
            cur = self._conn.execute(
                "INSERT INTO payments (subscriber_id, amount_minor, paid_at, reference, imported_at) "
                "VALUES (?, ?, ?, ?, ?)", (subscriber_id, amount_minor, iso(paid_at), reference, iso(now)),
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicatePayment(str(exc)) from exc
        assert cur.lastrowid is not None
        return cur.lastrowid

    def due_for_review(self) -> list[str]:
        return [row[0] for row in self._conn.execute(DUE_FOR_REVIEW)]
