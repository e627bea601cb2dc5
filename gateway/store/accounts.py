"""Subscribers and their accounts: the SQL behind every balance change.

``save_account`` is the only function that writes bucket columns, and it
writes the ledger rows of the same change in the same statement batch, so
the invariant ``sum(ledger.delta_minor) == bucket`` for every subscriber and
bucket cannot be broken by a caller (the caller owns the transaction).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.domain.account import Account, Bucket, LedgerEntry, PromoLot
from gateway.domain.money import Currency, Money
from gateway.store import postpaid as postpaid_sql
from gateway.store.port import LineSummary, SubscriberRecord
from gateway.store.times import from_iso, iso

_SUBSCRIBER_COLUMNS = (
    "id, msisdn, type, language, id_hash, status, created_at, recycled_at, marketing_opt_in, "
    "main_minor, main_expires_at, restorable_minor, restorable_until, last_active_at, deactivated_at, "
    + ", ".join(postpaid_sql.COLUMNS)
)


# The hot path (every USSD dialogue starts here): the subscriber, an open
# lost-SIM report and whether any promo lot holds money, in one statement;
# the lots themselves are read only when there are some.
_SELECT_RECORD = (
    f"SELECT {', '.join('s.' + c.strip() for c in _SUBSCRIBER_COLUMNS.split(','))}, "
    "l.reference AS lost_reference, l.reported_at AS lost_reported_at, "
    "EXISTS (SELECT 1 FROM promo_lots p WHERE p.subscriber_id = s.id AND p.amount_minor != 0) AS has_promos "
    "FROM subscribers s LEFT JOIN lost_reports l ON l.subscriber_id = s.id AND l.resolved_at IS NULL "
)
_LOAD_LIVE = _SELECT_RECORD + "WHERE s.msisdn = ? AND s.status = 'live'"
# A number's newest row: the live subscriber if there is one (a re-added number
# gets a new row), else the kept history of its last recycled owner.
_LOAD_LATEST = _SELECT_RECORD + "WHERE s.msisdn = ? ORDER BY s.id DESC LIMIT 1"


def load_live(conn: sqlite3.Connection, msisdn: str, currency: Currency) -> SubscriberRecord | None:
    """The live subscriber on ``msisdn`` with its account, or None."""
    row = conn.execute(_LOAD_LIVE, (msisdn,)).fetchone()
    if row is None:
        return None
    return _record(conn, row, currency)


def line_summary(conn: sqlite3.Connection, msisdn: str) -> LineSummary | None:
    """The live subscriber on ``msisdn``, else its newest recycled one, else None.

    One statement, whatever it finds, so that the work (and its time) does not
    tell a real number from a missing one.
    """
    row = conn.execute(
        "SELECT type, main_expires_at, status FROM subscribers WHERE msisdn = ? "
        "ORDER BY status = 'live' DESC, id DESC LIMIT 1", (msisdn,)
    ).fetchone()
    if row is None:
        return None
    return LineSummary(row["type"], from_iso(row["main_expires_at"]), row["status"] == "live")


def is_lost(conn: sqlite3.Connection, msisdn: str) -> bool:
    """Whether the live subscriber on ``msisdn`` has an open lost-SIM report."""
    row = conn.execute(
        "SELECT 1 FROM subscribers s JOIN lost_reports l ON l.subscriber_id = s.id AND l.resolved_at IS NULL "
        "WHERE s.msisdn = ? AND s.status = 'live'", (msisdn,)
    ).fetchone()
    return row is not None


def load_latest(conn: sqlite3.Connection, msisdn: str, currency: Currency) -> SubscriberRecord | None:
    """The newest subscriber row on ``msisdn``, live or recycled, or None."""
    row = conn.execute(_LOAD_LATEST, (msisdn,)).fetchone()
    if row is None:
        return None
    return _record(conn, row, currency)


def was_recycled(conn: sqlite3.Connection, msisdn: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM subscribers WHERE msisdn = ? AND status = 'recycled' LIMIT 1", (msisdn,)
    ).fetchone()
    return row is not None


def _record(conn: sqlite3.Connection, row: sqlite3.Row, currency: Currency) -> SubscriberRecord:
    """``row``: a row of ``_SELECT_RECORD``, read by position (a ``sqlite3.Row`` looks each name
    up among all the columns; this runs for every USSD step)."""
    (subscriber_id, msisdn, type_, language, id_hash, status, created_at, recycled_at, opt_in,
     main_minor, main_expires_at, restorable_minor, restorable_until, last_active_at, deactivated_at,
     *_postpaid, lost_reference, lost_reported_at, has_promos) = row
    promos: tuple[PromoLot, ...] = ()
    if has_promos:
        promos = tuple(
            PromoLot(Money(lot["amount_minor"], currency), from_iso(lot["expires_at"]), lot["id"])  # type: ignore[arg-type]
            for lot in conn.execute(
                "SELECT id, amount_minor, expires_at FROM promo_lots "
                "WHERE subscriber_id = ? AND amount_minor != 0 ORDER BY expires_at, id",
                (subscriber_id,),
            )
        )
    account = Account(
        main=Money(main_minor, currency),
        main_expires_at=None if main_expires_at is None else datetime.fromisoformat(main_expires_at),
        restorable=Money(restorable_minor, currency),
        restorable_until=None if restorable_until is None else datetime.fromisoformat(restorable_until),
        promos=promos,
    )
    return SubscriberRecord(
        subscriber_id=subscriber_id,
        msisdn=msisdn,
        type=type_,
        language=language,
        id_hash=id_hash,
        created_at=datetime.fromisoformat(created_at),
        marketing_opt_in=bool(opt_in),
        account=account,
        lost_reference=lost_reference,
        lost_reported_at=from_iso(lost_reported_at) if lost_reference is not None else None,
        status=status,
        recycled_at=None if recycled_at is None else datetime.fromisoformat(recycled_at),
        last_active_at=None if last_active_at is None else datetime.fromisoformat(last_active_at),
        deactivated_at=None if deactivated_at is None else datetime.fromisoformat(deactivated_at),
        postpaid=postpaid_sql.account_of(row, currency) if type_ == "postpaid" else None,
    )


def insert_subscriber(
    conn: sqlite3.Connection,
    *,
    msisdn: str,
    type_: str,
    language: str,
    id_hash: str | None,
    now: datetime,
) -> int:
    cur = conn.execute(
        "INSERT INTO subscribers (msisdn, type, language, id_hash, status, created_at, "
        "marketing_opt_in, main_minor, restorable_minor) VALUES (?, ?, ?, ?, 'live', ?, 1, 0, 0)",
        (msisdn, type_, language, id_hash, iso(now)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def save_account(
    conn: sqlite3.Connection,
    subscriber_id: int,
    account: Account,
    entries: list[LedgerEntry],
    *,
    now: datetime,
    reference: str | None = None,
    channel: str | None = None,
) -> Account:
    """Write the new buckets and their ledger rows; returns the account with lot ids.

    Promo lots created by ``entries`` (``lot_id`` None) are inserted first so
    their ledger rows can point at them.
    """
    lot_ids: dict[int, int] = {}  # id(PromoLot) of new lots -> row id
    for entry in entries:
        lot = entry.lot
        if lot is not None and lot.lot_id is None and id(lot) not in lot_ids:
            cur = conn.execute(
                "INSERT INTO promo_lots (subscriber_id, amount_minor, granted_at, expires_at) "
                "VALUES (?, 0, ?, ?)",
                (subscriber_id, iso(entry.at), iso(lot.expires_at)),
            )
            assert cur.lastrowid is not None
            lot_ids[id(lot)] = cur.lastrowid
    recorded = iso(now)
    rows = []
    for entry in entries:
        lot_id = None
        if entry.lot is not None:
            lot_id = entry.lot.lot_id if entry.lot.lot_id is not None else lot_ids[id(entry.lot)]
        rows.append(
            (subscriber_id, entry.bucket.value, lot_id, entry.delta.minor, entry.kind.value,
             iso(entry.at), recorded, entry.reference or reference, channel)
        )
        if lot_id is not None:
            conn.execute(
                "UPDATE promo_lots SET amount_minor = amount_minor + ? WHERE id = ?",
                (entry.delta.minor, lot_id),
            )
    conn.executemany(
        "INSERT INTO ledger (subscriber_id, bucket, promo_lot_id, delta_minor, kind, at, "
        "recorded_at, reference, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute(
        "UPDATE subscribers SET main_minor = ?, main_expires_at = ?, restorable_minor = ?, "
        "restorable_until = ? WHERE id = ?",
        (account.main.minor, iso(account.main_expires_at), account.restorable.minor,
         iso(account.restorable_until), subscriber_id),
    )
    if lot_ids:
        promos = tuple(
            PromoLot(lot.amount, lot.expires_at, lot_ids.get(id(lot), lot.lot_id))
            for lot in account.promos
        )
        account = Account(account.main, account.main_expires_at, account.restorable,
                          account.restorable_until, promos)
    return account


def ledger_totals(conn: sqlite3.Connection, subscriber_id: int) -> dict[Bucket, int]:
    """Sum of ledger deltas per bucket (the audit side of the invariant)."""
    totals = {bucket: 0 for bucket in Bucket}
    for row in conn.execute(
        "SELECT bucket, COALESCE(SUM(delta_minor), 0) AS total FROM ledger "
        "WHERE subscriber_id = ? GROUP BY bucket",
        (subscriber_id,),
    ):
        totals[Bucket(row["bucket"])] = row["total"]
    return totals
