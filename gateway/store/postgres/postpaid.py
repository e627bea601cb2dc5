"""Postpaid lines on PostgreSQL (as ``gateway.store.postpaid`` on SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from psycopg import errors as pg_errors

from gateway.domain.account import LedgerEntry
from gateway.domain.money import Currency
from gateway.domain.postpaid import Bill, PostpaidAccount
from gateway.store.port import DuplicateBill, DuplicatePayment
from gateway.store.postpaid import BILLS_OF, DUE_FOR_REVIEW, bill_of, check_entries

if TYPE_CHECKING:
    from gateway.store.postgres.sql import Sql


class PgPostpaid:
    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def save(self, subscriber_id: int, account: PostpaidAccount, entries: list[LedgerEntry], *,
             now: datetime, reference: str | None = None, channel: str | None = None) -> None:
        check_entries(entries)
        self._sql.executemany(
            "INSERT INTO ledger (subscriber_id, bucket, delta_minor, kind, at, recorded_at, reference, channel) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(subscriber_id, e.bucket.value, e.delta.minor, e.kind.value, e.at, now, e.reference or reference, channel)
             for e in entries],
        )
        notice = account.notice
        self._sql.execute(
            "UPDATE subscribers SET deposit_minor = %s, dues_minor = %s, unbilled_minor = %s, "
            "notice_sent_at = %s, discontinue_at = %s, discontinued_at = %s WHERE id = %s",
            (account.deposit.minor, account.dues.minor, account.unbilled.minor,
             notice.sent_at if notice else None, notice.discontinue_at if notice else None,
             account.discontinued_at, subscriber_id),
        )

    def bills(self, subscriber_id: int, currency: Currency) -> list[Bill]:
        return [bill_of(row, currency) for row in self._sql.execute(BILLS_OF.replace("?", "%s"), (subscriber_id,))]

    def add_bill(self, subscriber_id: int, bill: Bill, now: datetime) -> int:
        assert self._sql.conn is not None, "a bill is added inside write_uow"
        try:
            with self._sql.conn.transaction():  # a savepoint: the duplicate leaves the transaction usable
                return int(self._sql.scalar(
                    "INSERT INTO bills (subscriber_id, period_start, period_end, issued_on, due_on, amount_minor, "
                    "paid_minor, penalty_minor, penalty_months, imported_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (subscriber_id, bill.period_start, bill.period_end, bill.issued_on, bill.due_on,
                     bill.amount.minor, bill.paid.minor, bill.penalty.minor, bill.penalty_months, now),
                ))
        except pg_errors.UniqueViolation as exc:
            raise DuplicateBill(str(exc)) from exc

    def update_bills(self, bills: Sequence[Bill]) -> None:
        self._sql.executemany(
            "UPDATE bills SET paid_minor = %s, penalty_minor = %s, penalty_months = %s WHERE id = %s",
            [(b.paid.minor, b.penalty.minor, b.penalty_months, b.bill_id) for b in bills if b.bill_id is not None],
        )

    def payment_exists(self, reference: str) -> bool:
        return self._sql.execute("SELECT 1 FROM payments WHERE reference = %s", (reference,)).fetchone() is not None

    def add_payment(self, subscriber_id: int, amount_minor: int, paid_at: datetime, reference: str,
                    now: datetime) -> int:
        assert self._sql.conn is not None, "a payment is added inside write_uow"
        try:
            # A savepoint: the duplicate leaves the transaction usable. Another import may hold the same
            # new reference uncommitted; the INSERT then waits for it and fails here if it commits.
            with self._sql.conn.transaction():
                return int(self._sql.scalar(
                    "INSERT INTO payments (subscriber_id, amount_minor, paid_at, reference, imported_at) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    (subscriber_id, amount_minor, paid_at, reference, now),
                ))
        except pg_errors.UniqueViolation as exc:
            raise DuplicatePayment(str(exc)) from exc

    def due_for_review(self) -> list[str]:
        return [row["msisdn"] for row in self._sql.execute(DUE_FOR_REVIEW)]
