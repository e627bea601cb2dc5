"""The postpaid repository of the store port (migration 12), the same on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.domain.account import Bucket, EntryKind, LedgerEntry
from gateway.domain.money import Currency, Money
from gateway.domain.postpaid import Bill, Notice, PostpaidAccount
from gateway.store.port import DuplicateBill

NPR = Currency("NPR", 2, "Rs ")
NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def _line(store, msisdn: str = "9779801234567") -> int:
    with store.write_uow() as uow:
        return int(uow.accounts.insert(msisdn=msisdn, type_="postpaid", language="ne", id_hash=None, now=NOW))


def test_postpaid_buckets_notice_and_ledger_round_trip(backend):
    """What ``save`` writes is what a record reads back, and each bucket equals its ledger rows."""
    store = backend.store
    sid = _line(store)
    account = PostpaidAccount(Money(50_000, NPR), Money(47_501, NPR), Money(1_200, NPR),
                              Notice(NOW, NOW + timedelta(days=7)), None)
    entries = [LedgerEntry(Bucket.DEPOSIT, Money(50_000, NPR), EntryKind.DEPOSIT, NOW),
               LedgerEntry(Bucket.DUES, Money(47_501, NPR), EntryKind.BILL, NOW),
               LedgerEntry(Bucket.UNBILLED, Money(1_200, NPR), EntryKind.USAGE, NOW)]
    with store.write_uow() as uow:
        uow.postpaid.save(sid, account, entries, now=NOW, reference="test", channel="cli")
    record = store.read_uow().accounts.load_live("9779801234567", NPR)
    assert record is not None and record.postpaid == account
    totals = store.read_uow().accounts.ledger_totals(sid)
    assert (totals[Bucket.DEPOSIT], totals[Bucket.DUES], totals[Bucket.UNBILLED]) == (50_000, 47_501, 1_200)
    assert store.read_uow().postpaid.due_for_review() == ["9779801234567"]


def test_a_bill_for_the_same_period_is_refused_and_a_payment_reference_is_kept(backend):
    """One bill per line and period (a file imported twice is refused); references are looked up."""
    store = backend.store
    sid = _line(store)
    zero = Money(0, NPR)
    bill = Bill(date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 16),
                Money(99_950, NPR), zero, zero)
    with store.write_uow() as uow:
        bill_id = uow.postpaid.add_bill(sid, bill, NOW)
        with pytest.raises(DuplicateBill):
            uow.postpaid.add_bill(sid, bill, NOW)
        uow.postpaid.update_bills([Bill(**{**bill.__dict__, "paid": Money(100, NPR), "bill_id": bill_id})])
        uow.postpaid.add_payment(sid, 100, NOW, "BANK-1", NOW)
    [stored] = store.read_uow().postpaid.bills(sid, NPR)
    assert (stored.due_on, stored.paid, stored.bill_id) == (date(2026, 11, 16), Money(100, NPR), bill_id)
    assert store.read_uow().postpaid.payment_exists("BANK-1")
    assert not store.read_uow().postpaid.payment_exists("BANK-2")
