"""The ``Vouchers`` repository on either database: a voucher found by its PIN's hash, taken once, stocked.

A voucher is taken by a conditional UPDATE (``status = 'active'``): of two takers the second
changes no row. On PostgreSQL a write transaction also locks the row it finds (``_row_lock``),
so a second redeemer waits for the first's commit and then finds it used.
"""

from __future__ import annotations

from datetime import date, datetime

from gateway.domain.money import Currency, Money
from gateway.domain.vouchers import Voucher, VoucherStatus
from gateway.store.portable import SqliteFlavour


class VouchersSql(SqliteFlavour):
    """``port.Vouchers`` in the SQLite flavour; ``PgFlavour`` mixed in before it makes the PostgreSQL one."""

    __slots__ = ()

    #: What follows the SELECT of the voucher a top-up is computed from (SQLite's one writer needs nothing).
    _row_lock = ""

    def by_pin_hash(self, pin_hash: str, currency: Currency) -> Voucher | None:
        row = self._run("SELECT id, serial, amount_minor, active_days, expires_on, status FROM vouchers "
                        "WHERE pin_hash = ?" + self._row_lock, (pin_hash,)).fetchone()
        if row is None:
            return None
        return Voucher(row["id"], row["serial"], Money(row["amount_minor"], currency), row["active_days"],
                       self._read_day(row["expires_on"]), VoucherStatus(row["status"]))

    def take(self, voucher_id: int, now: datetime, subscriber_id: int) -> bool:
        """Mark the voucher used by ``subscriber_id``; False if it was not active any more."""
        return bool(self._run(
            "UPDATE vouchers SET status = 'used', used_at = ?, used_by = ? WHERE id = ? AND status = 'active'",
            (self._instant(now), subscriber_id, voucher_id),
        ).rowcount == 1)

    def pin_hash_exists(self, pin_hash: str) -> bool:
        return self._run("SELECT 1 FROM vouchers WHERE pin_hash = ?", (pin_hash,)).fetchone() is not None

    def serial_exists(self, serial: str) -> bool:
        return self._run("SELECT 1 FROM vouchers WHERE serial = ?", (serial,)).fetchone() is not None

    def next_id(self) -> int:
        return int(self._scalar("SELECT COALESCE(MAX(id), 0) FROM vouchers")) + 1

    def insert_many(self, rows: list[tuple[str, str, int, int, date | str | None, str, datetime]]) -> None:
        """Active vouchers ``(serial, pin_hash, amount_minor, active_days, expires_on, batch, created_at)``."""
        self._many(
            "INSERT INTO vouchers (serial, pin_hash, amount_minor, active_days, expires_on, batch, status, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
            [(serial, hashed, minor, days, None if expires is None else self._day(
                date.fromisoformat(expires) if isinstance(expires, str) else expires),
              batch, self._instant(created)) for serial, hashed, minor, days, expires, batch, created in rows],
        )


class SqliteVouchers(VouchersSql):
    """``port.Vouchers`` on SQLite (the ``sqlite3`` connection of its unit of work)."""

    __slots__ = ()
