"""Voucher stock: generating new vouchers and importing a printer's file.

PINs exist in clear only in the operator's file; the database keeps their
keyed hash. Both paths are all or nothing: one transaction, and for
``generate`` the PIN file is written (to a temporary name) before the
vouchers are committed and renamed into place after, so no voucher exists
whose PIN was never written down.
"""

from __future__ import annotations

import csv
import os
import secrets
from datetime import date
from pathlib import Path

from gateway.domain.errors import BadImportFile, InvalidInput, InvalidPin
from gateway.domain.limits import check_voucher_amount
from gateway.domain.money import Money, parse_amount
from gateway.domain.vouchers import PIN_DIGITS_GENERATED, check_pin_format
from gateway.services.csvfile import read_rows
from gateway.services.ports import Context
from gateway.services.topup import pin_hash

FIELDS = ("serial", "pin", "amount", "active_days")
OPTIONAL = ("expires_on",)
MAX_ACTIVE_DAYS = 3650


def generate(
    ctx: Context, *, count: int, amount: Money, active_days: int, out: Path,
    batch: str | None = None, expires_on: date | None = None,
) -> list[tuple[str, str]]:
    """Create ``count`` vouchers; returns (serial, pin) pairs, also written to ``out``."""
    if count <= 0 or count > 1_000_000:
        raise InvalidInput("count must be between 1 and 1000000")
    if amount.minor <= 0:
        raise InvalidInput("the amount must be more than zero")
    check_voucher_amount(amount, ctx.profile.policy)
    if not 0 < active_days <= MAX_ACTIVE_DAYS:
        raise InvalidInput(f"active days must be between 1 and {MAX_ACTIVE_DAYS}")
    if out.exists():
        raise InvalidInput(f"{out}: already exists (PIN files are never overwritten)")
    now = ctx.clock.now()
    batch = batch or f"gen-{now:%Y%m%d%H%M%S}"
    temp = out.with_name(f".{out.name}.partial")
    with ctx.store.write_uow() as uow:
        start = uow.vouchers.next_id()
        pairs: list[tuple[str, str]] = []
        hashes: set[str] = set()
        number = start
        while len(pairs) < count:
            pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS_GENERATED))
            hashed = pin_hash(ctx, pin)
            if hashed in hashes or uow.vouchers.pin_hash_exists(hashed):
                continue
            hashes.add(hashed)
            # An imported printer's file may already hold a serial of this form.
            serial = f"{now:%y%m}{number:010d}"
            while uow.vouchers.serial_exists(serial):
                number += 1
                serial = f"{now:%y%m}{number:010d}"
            number += 1
            pairs.append((serial, pin))
        try:
            # Owner-only from the first byte: the file holds every PIN in clear.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(FIELDS + OPTIONAL)
                for serial, pin in pairs:
                    writer.writerow((serial, pin, _plain(amount), active_days,
                                     expires_on.isoformat() if expires_on else ""))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise InvalidInput(f"{out}: cannot write: {exc.strerror or exc}") from None
        try:
            uow.vouchers.insert_many([
                (serial, pin_hash(ctx, pin), amount.minor, active_days, expires_on, batch, now)
                for serial, pin in pairs
            ])
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    temp.replace(out)
    return pairs


def import_file(ctx: Context, path: Path, batch: str | None = None) -> int:
    """Load ``serial,pin,amount,active_days[,expires_on]``; returns how many.

    Every PIN of one file has the same number of digits, as a printer makes
    them; a shorter one is refused naming its line.
    """
    now = ctx.clock.now()
    batch = batch or f"import-{path.name}"
    rows = []
    serials: dict[str, int] = {}
    hashes: dict[str, int] = {}
    first_pin: tuple[int, int] | None = None  # (digits, line) of the batch's first PIN
    for line, row in read_rows(path, FIELDS, OPTIONAL):
        where = f"{path}: line {line}"
        try:
            pin = check_pin_format(row["pin"])
            amount = parse_amount(row["amount"], ctx.profile.currency, allow_zero=False)
            check_voucher_amount(amount, ctx.profile.policy)
        except (InvalidPin, InvalidInput) as exc:
            raise BadImportFile(f"{where}: {exc}") from None
        if first_pin is None:
            first_pin = (len(pin), line)
        elif len(pin) != first_pin[0]:
            # A spreadsheet that read PINs as numbers dropped their leading zeros.
            raise BadImportFile(f"{where}: PIN has {len(pin)} digits, line {first_pin[1]} has {first_pin[0]}; "
                               "a batch has one PIN length (leading zeros lost in a spreadsheet?)")
        serial = row["serial"]
        if not serial or len(serial) > 40:
            raise BadImportFile(f"{where}: serial must be 1 to 40 characters")
        days = row["active_days"]
        if not (days.isascii() and days.isdigit()) or not 0 < int(days) <= MAX_ACTIVE_DAYS:
            raise BadImportFile(f"{where}: active_days must be a whole number from 1 to {MAX_ACTIVE_DAYS}")
        expires_on = row.get("expires_on") or None
        if expires_on is not None:
            try:
                date.fromisoformat(expires_on)
            except ValueError:
                raise BadImportFile(f"{where}: expires_on must be a date like 2027-12-31") from None
        hashed = pin_hash(ctx, pin)
        if serial in serials:
            raise BadImportFile(f"{where}: serial {serial} repeats line {serials[serial]}")
        if hashed in hashes:
            raise BadImportFile(f"{where}: PIN repeats line {hashes[hashed]}")
        serials[serial], hashes[hashed] = line, line
        rows.append((serial, hashed, amount.minor, int(row["active_days"]), expires_on, batch, now, line))
    if not rows:
        raise BadImportFile(f"{path}: no vouchers in the file")
    with ctx.store.write_uow() as uow:
        for serial, hashed, *_, line in rows:
            if uow.vouchers.serial_exists(serial):
                raise BadImportFile(f"{path}: line {line}: serial {serial} already exists")
            if uow.vouchers.pin_hash_exists(hashed):
                raise BadImportFile(f"{path}: line {line}: this PIN already exists")
        uow.vouchers.insert_many([(serial, hashed, minor, days, expires, batch, at)
                                  for serial, hashed, minor, days, expires, batch, at, _ in rows])
    return len(rows)


def _plain(amount: Money) -> str:
    digits = amount.currency.minor_digits
    whole, frac = divmod(amount.minor, 10**digits)
    return f"{whole}.{frac:0{digits}d}" if digits else str(whole)
