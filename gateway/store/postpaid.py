"""Postpaid lines on either database: the buckets and notice on the subscriber row, bills, payments.

``save`` is the only writer of ``deposit_minor``, ``dues_minor`` and
``unbilled_minor`` and writes their ledger rows in the same batch, as
``gateway.store.accounts.save_account`` does for the prepaid buckets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from gateway.domain.account import Bucket, LedgerEntry
from gateway.domain.money import Currency, Money
from gateway.domain.postpaid import Bill, Notice, PostpaidAccount
from gateway.store.port import DuplicateBill, DuplicatePayment
from gateway.store.portable import SqliteFlavour

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


class PostpaidSql(SqliteFlavour):
    """``port.Postpaid`` in the SQLite flavour; ``PgFlavour`` mixed in before it makes the PostgreSQL one."""

    __slots__ = ()

    def save(self, subscriber_id: int, account: PostpaidAccount, entries: list[LedgerEntry], *,
             now: datetime, reference: str | None = None, channel: str | None = None) -> None:
        check_entries(entries)
        recorded = self._instant(now)
        self._many(
            "INSERT INTO ledger (subscriber_id, bucket, delta_minor, kind, at, recorded_at, reference, channel) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(subscriber_id, e.bucket.value, e.delta.minor, e.kind.value, self._instant(e.at), recorded,
              e.reference or reference, channel) for e in entries],
        )
        notice = account.notice
        self._run(
            "UPDATE subscribers SET deposit_minor = ?, dues_minor = ?, unbilled_minor = ?, notice_sent_at = ?, "
            "discontinue_at = ?, discontinued_at = ? WHERE id = ?",
            (account.deposit.minor, account.dues.minor, account.unbilled.minor,
             self._instant(notice.sent_at) if notice else None,
             self._instant(notice.discontinue_at) if notice else None,
             self._instant(account.discontinued_at), subscriber_id),
        )

    def bills(self, subscriber_id: int, currency: Currency) -> list[Bill]:
        return [bill_of(row, currency) for row in self._run(BILLS_OF, (subscriber_id,))]

    def add_bill(self, subscriber_id: int, bill: Bill, now: datetime) -> int:
        """Raises: DuplicateBill (nothing was written; the transaction goes on)."""
        return self._insert_unique(
            "INSERT INTO bills (subscriber_id, period_start, period_end, issued_on, due_on, amount_minor, "
            "paid_minor, penalty_minor, penalty_months, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (subscriber_id, self._day(bill.period_start), self._day(bill.period_end), self._day(bill.issued_on),
             self._day(bill.due_on), bill.amount.minor, bill.paid.minor, bill.penalty.minor, bill.penalty_months,
             self._instant(now)),
            DuplicateBill,
        )

    def update_bills(self, bills: Sequence[Bill]) -> None:
        self._many(
            "UPDATE bills SET paid_minor = ?, penalty_minor = ?, penalty_months = ? WHERE id = ?",
            [(b.paid.minor, b.penalty.minor, b.penalty_months, b.bill_id) for b in bills if b.bill_id is not None],
        )

    def payment_exists(self, reference: str) -> bool:
        return self._run("SELECT 1 FROM payments WHERE reference = ?", (reference,)).fetchone() is not None

    def add_payment(self, subscriber_id: int, amount_minor: int, paid_at: datetime, reference: str,
                    now: datetime) -> int:
        """Raises: DuplicatePayment. On PostgreSQL another import may hold the same new reference
        uncommitted: the INSERT waits for it, and fails if that one commits."""
        return self._insert_unique(
            "INSERT INTO payments (subscriber_id, amount_minor, paid_at, reference, imported_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (subscriber_id, amount_minor, self._instant(paid_at), reference, self._instant(now)),
            DuplicatePayment,
        )

    def due_for_review(self) -> list[str]:
        return [row["msisdn"] for row in self._run(DUE_FOR_REVIEW)]


class SqlitePostpaid(PostpaidSql):
    """``port.Postpaid`` on SQLite (the ``sqlite3`` connection of its unit of work)."""

    __slots__ = ()
