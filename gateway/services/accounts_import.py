"""``subscribers import``: a whole subscriber base from CSV, all or nothing.

Header ``msisdn,balance,expires_at,id_number,language,type``; empty cells take
the defaults of ``subscribers add``. Every row is validated before anything
is written (the first bad line is reported by number), then the rows go in
as batched ``executemany`` inserts with ids assigned here, in one
transaction, with one opening ledger row per non-zero balance. A million
rows load in well under a minute on a laptop-class machine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from gateway.domain.errors import GatewayError, ImportError_
from gateway.domain.money import parse_amount
from gateway.services.accounts import SUBSCRIBER_TYPES, hash_id_number
from gateway.services.csvfile import read_rows
from gateway.services.ports import Context
from gateway.store.db import iso

FIELDS = ("msisdn", "balance", "expires_at", "id_number", "language", "type")
CHUNK = 50_000


def parse_expiry(text: str, tz: object) -> datetime:
    """ISO-8601 date or date-time; a date or naive time is in the operator's zone."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # type: ignore[arg-type]
    return moment


def import_subscribers(ctx: Context, path: Path) -> int:
    now = ctx.clock.now()
    stamp = iso(now)
    profile = ctx.profile
    default_expiry = iso(now + timedelta(days=profile.policy.default_valid_days))
    seen: dict[str, int] = {}
    subscribers: list[tuple[object, ...]] = []
    balances: list[tuple[int, int]] = []  # (row index, minor)
    for line, row in read_rows(path, FIELDS):
        where = f"{path}: line {line}"
        try:
            msisdn = profile.number_plan.normalise(row["msisdn"])
            balance = parse_amount(row["balance"] or "0", profile.currency)
            type_ = row["type"].lower() or "prepaid"
            if type_ not in SUBSCRIBER_TYPES:
                raise ImportError_("type must be prepaid or postpaid")
            language = row["language"].lower() or profile.default_language
            if language not in profile.languages:
                raise ImportError_(f"language must be one of {', '.join(profile.languages)}")
            if type_ == "postpaid":
                expires = None
            elif row["expires_at"]:
                try:
                    expires = iso(parse_expiry(row["expires_at"], profile.time_zone))
                except ValueError:
                    raise ImportError_(f"expires_at is not an ISO-8601 date: {row['expires_at']!r}") from None
            else:
                expires = default_expiry
            id_hash = hash_id_number(ctx, row["id_number"]) if row["id_number"] else None
        except GatewayError as exc:
            raise ImportError_(f"{where}: {exc}") from None
        if msisdn in seen:
            raise ImportError_(f"{where}: {msisdn} repeats line {seen[msisdn]}")
        seen[msisdn] = line
        subscribers.append((msisdn, type_, language, id_hash, stamp, balance.minor, expires))
        if balance.minor:
            balances.append((len(subscribers) - 1, balance.minor))
    if not subscribers:
        raise ImportError_(f"{path}: no subscribers in the file")

    with ctx.store.write() as conn:
        live = conn.execute("SELECT msisdn FROM subscribers WHERE status = 'live'")
        for (existing,) in live:
            if existing in seen:
                raise ImportError_(f"{path}: line {seen[existing]}: subscriber {existing} already exists")
        first = conn.execute("SELECT COALESCE(MAX(id), 0) FROM subscribers").fetchone()[0] + 1
        for start in range(0, len(subscribers), CHUNK):
            conn.executemany(
                "INSERT INTO subscribers (id, msisdn, type, language, id_hash, status, created_at, "
                "marketing_opt_in, main_minor, main_expires_at, restorable_minor) "
                "VALUES (?, ?, ?, ?, ?, 'live', ?, 1, ?, ?, 0)",
                [(first + start + i, *row) for i, row in enumerate(subscribers[start:start + CHUNK])],
            )
        for start in range(0, len(balances), CHUNK):
            conn.executemany(
                "INSERT INTO ledger (subscriber_id, bucket, delta_minor, kind, at, recorded_at, reference, channel) "
                "VALUES (?, 'main', ?, 'opening', ?, ?, 'import', 'import')",
                [(first + index, minor, stamp, stamp) for index, minor in balances[start:start + CHUNK]],
            )
    return len(subscribers)
