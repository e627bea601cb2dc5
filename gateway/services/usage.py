"""``usage import``: the network's usage records, rated and charged, all or nothing.

CSV header ``msisdn,started_at,kind,quantity``; ``kind`` is ``voice``
(seconds), ``sms`` (messages) or ``data`` (bytes); ``started_at`` is ISO-8601
(a time without an offset is in the operator's zone). Each record is rated
with the profile's tariff (``gateway.domain.rating``), then

- on a prepaid line debited from the funds as they stand at the import, in
  the profile's spending order, never below zero: a record started with no
  funds, or on a line the network would not have carried (deactivated, fully
  barred), is refused; one the funds cover only in part is charged what was
  there. Both are stored and reported with their amounts, never dropped;
- on a postpaid line added to the line's unbilled usage.

A record's identity is ``(msisdn, started_at, kind, quantity)``: the CSV
carries no record id, and what a mediation system sends twice (a file
imported again, two exports whose windows overlap) repeats all four; two
genuine records equal in all four cannot be told apart by anyone reading the
file, so the second is refused rather than risk charging one twice. A record
seen before (in the file or an earlier import) fails the import naming its
line, as any bad line does; nothing of the file is kept.

The file is read once, in one transaction, in chunks: the chunk's lines are
loaded together (one query), its records inserted by one bulk statement (a
repeated identity is caught by the unique index, and only then looked for),
the accounts written once at the end. Every debit is a ledger row whose
reference is ``usage:<record id>``. Imported usage is activity for the
inactivity rule: ``last_active_at`` moves to the latest start among a line's
records, those refused for want of funds too (the SIM was in use), not those
on a line the network no longer carried.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from gateway.domain import account as funds
from gateway.domain.account import Account, Bucket, EntryKind, LedgerEntry
from gateway.domain.errors import BadImportFile, GatewayError
from gateway.domain.lifecycle import CARRIED, LineFacts
from gateway.domain.money import Money
from gateway.domain.rating import Refusal, UsageKind, debit, rate
from gateway.services.accounts_import import parse_expiry
from gateway.services.csvfile import read_rows
from gateway.services.ports import Context
from gateway.store.port import DuplicateUsage, RatedUsage, SubscriberRecord, UnitOfWork, UsageLine

FIELDS = ("msisdn", "started_at", "kind", "quantity")
CHUNK = 20_000


@dataclass(frozen=True)
class UsageImportReport:
    """What ``usage import`` did; amounts are the rated prices."""

    records: int
    lines: int
    #: Debited from prepaid funds.
    charged: Money
    #: Added to postpaid lines' unbilled usage.
    unbilled: Money
    #: Records the network would have refused (no funds, line not carried), and their price.
    refused: int
    refused_amount: Money
    #: Records the funds covered only in part, and the part left uncharged.
    short: int
    uncharged: Money


@dataclass
class _Line:
    record: SubscriberRecord
    account: Account
    facts: LineFacts
    entries: list[LedgerEntry] = field(default_factory=list)
    unbilled: int = 0
    postpaid_entries: list[LedgerEntry] = field(default_factory=list)
    #: The latest start of a record the network carried (activity), if any.
    used_at: datetime | None = None


@dataclass
class _Totals:
    charged: int = 0
    unbilled: int = 0
    refused: int = 0
    refused_minor: int = 0
    short: int = 0
    uncharged: int = 0


_Parsed = tuple[int, str, datetime, UsageKind, int]  # line, msisdn, started_at, kind, quantity


def import_usage(ctx: Context, path: Path) -> UsageImportReport:
    """Rate and charge every record in ``path``, or none.

    Raises:
        BadImportFile: unreadable file, bad header, a bad line, a record seen before.
    """
    now = ctx.clock.now()
    profile = ctx.profile
    totals = _Totals()
    lines: dict[str, _Line] = {}
    count = 0
    with ctx.store.write_uow() as uow:
        first = uow.usage.next_id()
        line_of = array("q")  # line_of[record_id - first]: the line it came from
        chunk: list[_Parsed] = []
        for line, row in read_rows(path, FIELDS):
            try:
                chunk.append(_parse(ctx, line, row, now))
            except GatewayError as exc:
                raise BadImportFile(f"{path}: line {line}: {exc}") from None
            if len(chunk) >= CHUNK:
                _charge(ctx, uow, path, chunk, lines, line_of, first, totals, now)
                chunk.clear()
        _charge(ctx, uow, path, chunk, lines, line_of, first, totals, now)
        count = len(line_of)
        if not count:
            raise BadImportFile(f"{path}: no usage records in the file")
        currency = profile.currency
        changed = [(ln.record.subscriber_id, ln.account, ln.entries) for ln in lines.values() if ln.entries]
        uow.usage.save_accounts(changed, now=now, channel="import")
        for ln in lines.values():
            if ln.postpaid_entries and ln.record.postpaid is not None:
                unbilled = ln.record.postpaid.unbilled + Money(ln.unbilled, currency)
                account = replace(ln.record.postpaid, unbilled=unbilled)
                uow.postpaid.save(ln.record.subscriber_id, account, ln.postpaid_entries, now=now, channel="import")
        uow.usage.note_used([(ln.record.subscriber_id, ln.used_at) for ln in lines.values()
                             if ln.used_at is not None])
    currency = profile.currency
    return UsageImportReport(
        records=count, lines=len(lines), charged=Money(totals.charged, currency),
        unbilled=Money(totals.unbilled, currency), refused=totals.refused,
        refused_amount=Money(totals.refused_minor, currency), short=totals.short,
        uncharged=Money(totals.uncharged, currency),
    )


def _parse(ctx: Context, line: int, row: dict[str, str], now: datetime) -> _Parsed:
    msisdn = ctx.profile.number_plan.normalise(row["msisdn"])
    try:
        started = parse_expiry(row["started_at"], ctx.profile.time_zone)
    except ValueError:
        raise BadImportFile(f"started_at is not an ISO-8601 time: {row['started_at']!r}") from None
    if started > now:
        raise BadImportFile(f"started_at {row['started_at']} lies after the import ({now.isoformat()})")
    try:
        kind = UsageKind(row["kind"].lower())
    except ValueError:
        raise BadImportFile(f"kind must be voice, sms or data, not {row['kind']!r}") from None
    text = row["quantity"]
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        raise BadImportFile(f"quantity must be a whole number of {_UNITS[kind]}, not {text!r}")
    quantity = int(text)
    if kind is UsageKind.SMS and quantity == 0:
        raise BadImportFile("an sms record counts at least one message")
    return line, msisdn, started, kind, quantity


_UNITS = {UsageKind.VOICE: "seconds", UsageKind.SMS: "messages", UsageKind.DATA: "bytes"}


def _charge(
    ctx: Context, uow: UnitOfWork, path: Path, chunk: list[_Parsed], lines: dict[str, _Line],
    line_of: array[int], first: int, totals: _Totals, now: datetime,
) -> None:
    """Rate and charge one chunk in file order, and insert its records."""
    if not chunk:
        return
    profile = ctx.profile
    tariff, lifecycle = profile.tariff, profile.lifecycle
    new = sorted({msisdn for _, msisdn, *_ in chunk if msisdn not in lines})
    if new:
        for msisdn, record in uow.usage.load_live_many(new, profile.currency).items():
            account, settling = funds.settle(record.account, now, profile.policy)
            facts = LineFacts(record.type, account.main_expires_at, record.active_since, record.deactivated_at)
            lines[msisdn] = _Line(record, account, facts, list(settling))
    rated: list[RatedUsage] = []
    for line, msisdn, started, kind, quantity in chunk:
        state = lines.get(msisdn)
        if state is None:
            raise BadImportFile(f"{path}: line {line}: no live subscriber {msisdn}")
        record_id = first + len(line_of)
        line_of.append(line)
        charge = rate(kind, quantity, tariff)
        charged, outcome = 0, "charged"
        if lifecycle.state(state.facts, started) not in CARRIED:
            outcome = "refused"
        elif state.record.postpaid is not None:
            charged, outcome = charge.amount.minor, "unbilled"
            state.unbilled += charged
            if charged:
                state.postpaid_entries.append(LedgerEntry(Bucket.UNBILLED, charge.amount, EntryKind.USAGE, now,
                                                          reference=f"usage:{record_id}"))
        elif charge.amount:
            state.account, entries, result = debit(state.account, charge.amount, now, tariff.spending_order,
                                                   f"usage:{record_id}")
            state.entries += entries
            charged = result.charged.minor
            if result.refusal is Refusal.NO_FUNDS:
                outcome = "no_funds"
            elif result.refusal is Refusal.SHORT:
                outcome = "short"
                totals.short += 1
                totals.uncharged += result.uncharged.minor
        if outcome in ("refused", "no_funds"):
            totals.refused += 1
            totals.refused_minor += charge.amount.minor
        elif outcome == "unbilled":
            totals.unbilled += charged
        else:
            totals.charged += charged
        if outcome != "refused":
            # The SIM was in use (a record refused for want of funds too): activity for 3(B).12.
            if state.used_at is None or started > state.used_at:
                state.used_at = started
            if started > state.facts.active_since:
                state.facts = replace(state.facts, active_since=started)
        rated.append(RatedUsage(state.record.subscriber_id, msisdn, UsageLine(
            record_id, started, kind.value, quantity, charge.units, charge.amount.minor, charged, outcome)))
    try:
        uow.usage.record_many(rated, now)
    except DuplicateUsage:
        _raise_duplicate(uow, path, rated, line_of, first, ctx)
        raise  # not a repeated record after all: a bug, keep the traceback


def _raise_duplicate(
    uow: UnitOfWork, path: Path, rated: list[RatedUsage], line_of: array[int], first: int, ctx: Context,
) -> None:
    """Name the first record of the chunk seen before: earlier in the file, or in an earlier import."""
    here: dict[tuple[str, datetime, str, int], int] = {}
    for r in rated:
        key = (r.msisdn, r.line.started_at, r.line.kind, r.line.quantity)
        line = line_of[r.line.record_id - first]
        if key in here:
            raise BadImportFile(f"{path}: line {line}: record seen before (repeats line {here[key]})")
        here[key] = line
        found = uow.usage.seen(*key)
        if found is None or found[0] == r.line.record_id:
            continue
        earlier, imported_at = found
        if earlier >= first:
            raise BadImportFile(f"{path}: line {line}: record seen before (repeats line {line_of[earlier - first]})")
        when = imported_at.astimezone(ctx.profile.time_zone).isoformat(timespec="seconds")
        raise BadImportFile(f"{path}: line {line}: record seen before (imported {when})")
