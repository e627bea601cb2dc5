"""``subscribers import``: a whole subscriber base from CSV, all or nothing.

Header ``msisdn,balance,expires_at,id_number,language,type`` and, optionally,
``deposit`` (a postpaid line's security deposit, 004 1.5); empty cells take
the defaults of ``subscribers add``. The file is read once, in one ``BEGIN
IMMEDIATE`` transaction: rows are validated and go in as batched
``executemany`` inserts of ``CHUNK`` rows with ids assigned here, one opening
ledger row per non-zero balance. The first bad line (by number) rolls the
whole import back.

Memory stays bounded by the chunk, not the file: a number that repeats an
earlier line or a live subscriber is caught by the unique index on live
numbers, and only then is the offending row looked for (an array of line
numbers by id says which line it repeats). A million rows load in well under
a minute on a laptop-class machine (``scripts/measure-import``).
"""

from __future__ import annotations

from array import array
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.domain.errors import BadImportFile, GatewayError
from gateway.domain.limits import check_opening_balance
from gateway.domain.money import Money, parse_amount
from gateway.services.accounts import SUBSCRIBER_TYPES, hash_id_number
from gateway.services.csvfile import read_rows
from gateway.services.ports import Context
from gateway.services.postpaid import open_line
from gateway.store.port import DuplicateNumber, UnitOfWork

FIELDS = ("msisdn", "balance", "expires_at", "id_number", "language", "type")
OPTIONAL = ("deposit",)
CHUNK = 50_000



def parse_expiry(text: str, tz: object) -> datetime:
    """ISO-8601 date or date-time; a date or naive time is in the operator's zone."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # type: ignore[arg-type]
    return moment


def import_subscribers(ctx: Context, path: Path) -> int:
    """Add every subscriber in ``path`` or none; returns how many.

    Raises:
        BadImportFile: unreadable file, bad header, or the first bad line.
    """
    now = ctx.clock.now()
    stamp = now
    profile = ctx.profile
    default_expiry = now + timedelta(days=profile.policy.default_valid_days)
    # Exports repeat a few expiry dates many times: parse each once.
    expiries: dict[str, datetime] = {}

    with ctx.store.write_uow() as uow:
        first = uow.accounts.next_id()
        lines = array("q")  # lines[id - first]: the line the subscriber came from
        subscribers: list[tuple[Any, ...]] = []
        ledger: list[tuple[Any, ...]] = []
        deposits: list[tuple[int, Money]] = []  # postpaid lines' deposits, opened after their chunk
        for line, row in read_rows(path, FIELDS, OPTIONAL):
            try:
                msisdn = profile.number_plan.normalise(row["msisdn"])
                balance = parse_amount(row["balance"] or "0", profile.currency)
                check_opening_balance(balance, profile.policy)
                type_ = row["type"].lower() or "prepaid"
                if type_ not in SUBSCRIBER_TYPES:
                    raise BadImportFile("type must be prepaid or postpaid")
                if type_ == "postpaid" and profile.policy.postpaid is None:
                    raise BadImportFile(f"profile {profile.key} has no postpaid lines")
                deposit_text = row.get("deposit", "")
                if deposit_text and type_ != "postpaid":
                    raise BadImportFile("a deposit is for a postpaid line")
                deposit = parse_amount(deposit_text or "0", profile.currency)
                language = row["language"].lower() or profile.default_language
                if language not in profile.languages:
                    raise BadImportFile(f"language must be one of {', '.join(profile.languages)}")
                if type_ == "postpaid":
                    expires = None
                elif text := row["expires_at"]:
                    if text not in expiries:
                        try:
                            expiries[text] = parse_expiry(text, profile.time_zone)
                        except ValueError:
                            raise BadImportFile(f"expires_at is not an ISO-8601 date: {text!r}") from None
                    expires = expiries[text]
                else:
                    expires = default_expiry
                id_hash = hash_id_number(ctx, row["id_number"]) if row["id_number"] else None
            except GatewayError as exc:
                raise BadImportFile(f"{path}: line {line}: {exc}") from None
            sid = first + len(lines)
            lines.append(line)
            subscribers.append((sid, msisdn, type_, language, id_hash, stamp, balance.minor, expires))
            if balance.minor:
                ledger.append((sid, balance.minor, stamp, stamp))
            if deposit:
                deposits.append((sid, deposit))
            if len(subscribers) >= CHUNK:
                _flush(uow, path, first, lines, subscribers, ledger)
                _open_deposits(ctx, uow, deposits, stamp)
        _flush(uow, path, first, lines, subscribers, ledger)
        _open_deposits(ctx, uow, deposits, stamp)
        if not lines:
            raise BadImportFile(f"{path}: no subscribers in the file")
    return len(lines)


def _open_deposits(ctx: Context, uow: UnitOfWork, deposits: list[tuple[int, Money]], now: datetime) -> None:
    for sid, deposit in deposits:
        open_line(ctx, uow, sid, deposit, now)
    deposits.clear()


def _flush(
    uow: UnitOfWork, path: Path, first: int, lines: array[int],
    subscribers: list[tuple[Any, ...]], ledger: list[tuple[Any, ...]],
) -> None:
    """Insert one chunk (subscribers before their ledger rows) and empty the lists."""
    try:
        uow.accounts.insert_many(subscribers, ledger)
    except DuplicateNumber:
        _raise_duplicate(uow, path, first, lines, subscribers)
        raise  # not a repeated number after all: a bug, keep the traceback
    subscribers.clear()
    ledger.clear()


def _raise_duplicate(
    uow: UnitOfWork, path: Path, first: int, lines: array[int], subscribers: list[tuple[Any, ...]],
) -> None:
    """Name the first row of the chunk whose number is already live (earlier rows went in)."""
    for sid, msisdn, *_ in subscribers:
        live = uow.accounts.live_id(msisdn)
        if live is None or live == sid:
            continue
        line = lines[sid - first]
        if live >= first:
            raise BadImportFile(f"{path}: line {line}: {msisdn} repeats line {lines[live - first]}")
        raise BadImportFile(f"{path}: line {line}: subscriber {msisdn} already exists")
