"""The SQLite adapter reads its hot rows by position: each position is the column it means.

A subscriber's line, a voucher and a session row are read on every USSD
step, by position rather than by name (a ``sqlite3.Row`` looks each name up
among all the columns). A statement whose columns were reordered would then
hand a balance the expiry's value; these tests read back what was written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.domain.money import Currency
from gateway.store import open_store
from gateway.store.accounts import _LOAD_LIVE, _record

USD = Currency("USD", 2, "$")
NOW = datetime(2026, 12, 23, 10, 5, 7, 123456, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(tmp_path / "rows.db", migrate=True, synchronous="normal")
    yield store
    store.close()


def test_a_line_reads_back_field_by_field(store) -> None:
    conn = store.conn
    conn.execute(
        "INSERT INTO subscribers (id, msisdn, type, language, id_hash, status, created_at, recycled_at, "
        "marketing_opt_in, main_minor, main_expires_at, restorable_minor, restorable_until, last_active_at, "
        "deactivated_at) VALUES (7, '85512345678', 'prepaid', 'km', 'h4sh', 'live', ?, NULL, 0, 1234, ?, 56, ?, ?, ?)",
        (NOW.isoformat(), (NOW + timedelta(days=30)).isoformat(), (NOW + timedelta(days=40)).isoformat(),
         (NOW - timedelta(days=2)).isoformat(), (NOW - timedelta(days=1)).isoformat()),
    )
    conn.execute("INSERT INTO lost_reports (subscriber_id, reference, reported_at, reporter_msisdn, channel) "
                 "VALUES (7, 'L-1', ?, '85512345678', 'ussd')", (NOW.isoformat(),))
    row = conn.execute(_LOAD_LIVE, ("85512345678",)).fetchone()
    record = _record(conn, row, USD)
    assert (record.subscriber_id, record.msisdn, record.type, record.language, record.id_hash, record.status,
            record.created_at, record.recycled_at, record.marketing_opt_in) == (
        7, "85512345678", "prepaid", "km", "h4sh", "live", NOW, None, False)
    account = record.account
    assert (account.main.minor, account.main_expires_at, account.restorable.minor, account.restorable_until,
            account.promos) == (1234, NOW + timedelta(days=30), 56, NOW + timedelta(days=40), ())
    assert (record.lost_reference, record.lost_reported_at) == ("L-1", NOW)
    assert (record.last_active_at, record.deactivated_at, record.postpaid) == (
        NOW - timedelta(days=2), NOW - timedelta(days=1), None)
    # Every position of the statement is the column of that name.
    assert [d[0] for d in conn.execute(_LOAD_LIVE, ("85512345678",)).description] == [
        "id", "msisdn", "type", "language", "id_hash", "status", "created_at", "recycled_at", "marketing_opt_in",
        "main_minor", "main_expires_at", "restorable_minor", "restorable_until", "last_active_at",
        "deactivated_at", "deposit_minor", "dues_minor", "unbilled_minor", "notice_sent_at", "discontinue_at",
        "discontinued_at", "lost_reference", "lost_reported_at", "has_promos"]


def test_a_voucher_and_a_session_read_back_field_by_field(store) -> None:
    conn = store.conn
    conn.execute("INSERT INTO vouchers (serial, pin_hash, amount_minor, active_days, expires_on, batch, status, "
                 "created_at) VALUES ('S-9', 'p1n', 500, 30, '2027-03-01', 'b', 'active', ?)", (NOW.isoformat(),))
    voucher = store.read_uow().vouchers.by_pin_hash("p1n", USD)
    assert voucher is not None
    assert (voucher.serial, voucher.amount.minor, voucher.active_days, str(voucher.expires_on),
            voucher.status.value) == ("S-9", 500, 30, "2027-03-01", "active")
    with store.write_uow() as uow:
        uow.sessions.save([("sid-1", "85512345678", "*100#", '{"language": "en"}', NOW, NOW,
                            NOW + timedelta(seconds=180))])
    row = store.read_uow().sessions.load("sid-1")
    assert row is not None
    assert (row.session_id, row.msisdn, row.service_code, row.state, row.created_at, row.expires_at) == (
        "sid-1", "85512345678", "*100#", '{"language": "en"}', NOW, NOW + timedelta(seconds=180))
