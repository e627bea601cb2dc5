"""Reading and administering subscribers: balance, add, show, promo, unblock, language."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.domain import account as rules
from gateway.domain import postpaid as postpaid_rules
from gateway.domain.errors import (
    InvalidInput,
    NotPostpaid,
    NumberRecycled,
    SubscriberExists,
    UnknownSubscriber,
)
from gateway.domain.lifecycle import GONE, LineFacts, LineState
from gateway.domain.limits import check_opening_balance
from gateway.domain.lost import check_may_originate
from gateway.domain.money import Money
from gateway.domain.postpaid import Bill
from gateway.domain.secrets import Sealed, normalise_id_number, seal
from gateway.services import postpaid
from gateway.services.model import BalanceView, BillView
from gateway.services.ports import Context
from gateway.store.port import DuplicateNumber, SubscriberRecord, UnitOfWork

SUBSCRIBER_TYPES = ("prepaid", "postpaid")
#: A row's ``status`` when its number was given up, as the state ``show`` gives it.
RELEASED = {"recycled": LineState.RECYCLED, "expired": LineState.EXPIRED}
ID_PURPOSE = "id-number"


def find(ctx: Context, uow: UnitOfWork, msisdn: str) -> SubscriberRecord:
    """The live subscriber, or the refusal a subscriber should see.

    Raises:
        NumberRecycled: the number was recycled and not reissued.
        UnknownSubscriber: never ours.
    """
    record = uow.accounts.load_live(msisdn, ctx.profile.currency)
    if record is not None:
        return record
    if uow.accounts.was_recycled(msisdn):
        raise NumberRecycled(f"number {msisdn} has been recycled", msisdn)
    raise UnknownSubscriber(f"unknown number {msisdn}", msisdn)


def find_originator(ctx: Context, uow: UnitOfWork, msisdn: str) -> SubscriberRecord:
    """``find`` for the line a request comes from: refused if its SIM is reported lost.

    Raises:
        LineLost, NumberRecycled, UnknownSubscriber
    """
    record = find(ctx, uow, msisdn)
    check_may_originate(record.lost_reference is not None, msisdn)
    return record


def refuse_lost_originator(uow: UnitOfWork, msisdn: str) -> None:
    """For requests any phone may make (a gift, a lost report): refused from a lost SIM.

    Raises:
        LineLost
    """
    check_may_originate(uow.accounts.is_lost(msisdn), msisdn)


def line_facts(record: SubscriberRecord, account: rules.Account | None = None) -> LineFacts:
    """What the profile's life cycle computes the line's state from."""
    expires = (account or record.account).main_expires_at
    return LineFacts(record.type, expires, record.active_since, record.deactivated_at)


def view_of(ctx: Context, record: SubscriberRecord, now: datetime,
            bills: list[Bill] | None = None) -> BalanceView:
    """The subscriber as of ``now``: expiries applied in memory, nothing written.

    ``bills``: a postpaid line's bills (its ``postpaid`` view is left out without them).
    """
    policy = ctx.profile.policy
    account, _ = rules.settle(record.account, now, policy)
    facts = line_facts(record, account)
    lifecycle = ctx.profile.lifecycle
    state = lifecycle.state(facts, now)
    bill_view = None
    if record.postpaid is not None and policy.postpaid is not None:
        if postpaid_rules.is_discontinued(record.postpaid, now):
            state = LineState.DISCONTINUED
        if bills is not None:
            bill_view = postpaid.view(ctx, record, bills, now)
    return BalanceView(
        msisdn=record.msisdn,
        language=record.language,
        type=record.type,
        state=state,
        main=account.main,
        main_expires_at=account.main_expires_at,
        promo=account.promo_total,
        promo_expires_at=account.promo_expires_at,
        restorable=account.restorable,
        restorable_until=account.restorable_until if account.restorable else None,
        next_deadline=lifecycle.next_deadline(facts, now),
        lost=record.lost_reference is not None,
        postpaid=bill_view,
    )


def check_balance(ctx: Context, msisdn: str) -> BalanceView:
    """The caller's own balance (refused from a lost SIM). Writes nothing."""
    now = ctx.clock.now()
    uow = ctx.store.read_uow()
    record = find_originator(ctx, uow, msisdn)
    bills = None
    if record.postpaid is not None and ctx.profile.policy.postpaid is not None:
        # A second read (channels may already hold a snapshot around this call; a bill import
        # between the two reads shows at the next check).
        bills = uow.postpaid.bills(record.subscriber_id, ctx.profile.currency)
    view = view_of(ctx, record, now, bills)
    if view.state in GONE:
        raise NumberRecycled(f"number {msisdn} is due for recycling", msisdn)
    return view


def check_bill(ctx: Context, msisdn: str) -> BillView:
    """The caller's latest bill, dues against the deposit and unbilled usage (refused from a lost SIM).

    Raises:
        NotPostpaid: a prepaid line. LineLost, NumberRecycled, UnknownSubscriber.
    """
    now = ctx.clock.now()
    uow = ctx.store.read_uow()  # channels may hold a snapshot around this call already
    record = find_originator(ctx, uow, msisdn)
    if record.postpaid is None or ctx.profile.policy.postpaid is None:
        raise NotPostpaid(f"{msisdn} is not a postpaid line", msisdn)
    bills = uow.postpaid.bills(record.subscriber_id, ctx.profile.currency)
    return postpaid.view(ctx, record, bills, now)


def subscriber_language(ctx: Context, msisdn: str, uow: UnitOfWork | None = None) -> str:
    """The saved language of a live subscriber, else the profile default.

    ``uow`` lets a use case ask inside its own transaction.
    """
    language = (uow or ctx.store.read_uow()).accounts.language(msisdn)
    return language if language is not None else ctx.profile.default_language


def set_language(ctx: Context, msisdn: str, language: str) -> str:
    language = language.lower()
    if language not in ctx.profile.languages:
        raise InvalidInput(f"language must be one of {', '.join(ctx.profile.languages)}")
    with ctx.store.write_uow() as uow:
        record = find_originator(ctx, uow, msisdn)
        uow.accounts.set_language(record.subscriber_id, language)
    return language


def hash_id_number(ctx: Context, id_number: str | Sealed) -> str | None:
    """The keyed hash ID numbers are compared by (None: no ID number given).

    Raises:
        InvalidInput: too long to be an ID number.
    """
    sealed = id_number if isinstance(id_number, Sealed) else seal_id_number(ctx, id_number)
    if not sealed.length:
        return None
    if sealed.length > 32:
        raise InvalidInput("ID number too long")
    return sealed.digest


def seal_id_number(ctx: Context, id_number: str) -> Sealed:
    """``id_number`` as a message waiting to be answered may keep it (see ``ReportLost``)."""
    return seal(ctx.pin_secret, ID_PURPOSE, normalise_id_number(id_number))


def add_subscriber(
    ctx: Context,
    msisdn: str,
    *,
    balance: Money,
    expires_at: datetime | None = None,
    valid_days: int | None = None,
    id_number: str | None = None,
    language: str | None = None,
    type_: str = "prepaid",
    deposit: Money | None = None,
    uow: UnitOfWork | None = None,
) -> int:
    """Create a live subscriber with an opening balance (one ledger row).

    A postpaid line (profiles with postpaid) holds ``deposit`` as its security
    deposit (004 1.5, 7.1; a ledger row of its own); ``deposit`` is refused on
    a prepaid line.

    ``expires_at`` may lie in the past: a subscriber migrated from another
    system keeps their dates, and is then as expired or barred as they were.

    Raises:
        SubscriberExists, InvalidInput
    """
    now = ctx.clock.now()
    language = (language or ctx.profile.default_language).lower()
    if language not in ctx.profile.languages:
        raise InvalidInput(f"language must be one of {', '.join(ctx.profile.languages)}")
    if type_ not in SUBSCRIBER_TYPES:
        raise InvalidInput("type must be prepaid or postpaid")
    if type_ == "postpaid" and ctx.profile.policy.postpaid is None:
        raise InvalidInput(f"profile {ctx.profile.key} has no postpaid lines")
    if deposit is not None and type_ != "postpaid":
        raise InvalidInput("a deposit is for a postpaid line (--type postpaid)")
    if balance.minor < 0:
        raise InvalidInput("balance must not be negative")
    check_opening_balance(balance, ctx.profile.policy)
    if expires_at is not None and valid_days is not None:
        raise InvalidInput("give --valid-days or --expires-at, not both")
    if valid_days is not None and valid_days <= 0:
        raise InvalidInput("valid days must be more than zero")
    if type_ == "prepaid" and expires_at is None:
        expires_at = now + timedelta(days=valid_days or ctx.profile.policy.default_valid_days)
    if type_ == "postpaid":
        expires_at = None
    id_hash = hash_id_number(ctx, id_number) if id_number else None

    def insert(u: UnitOfWork) -> int:
        if u.accounts.load_live(msisdn, ctx.profile.currency) is not None:
            raise SubscriberExists(f"subscriber {msisdn} already exists")
        try:
            sid = u.accounts.insert(msisdn=msisdn, type_=type_, language=language, id_hash=id_hash, now=now)
        except DuplicateNumber:  # added by another process after the check above (PostgreSQL)
            raise SubscriberExists(f"subscriber {msisdn} already exists") from None
        account, entries = rules.Account.opening(balance, expires_at, now)
        u.accounts.save_account(sid, account, entries, now=now, reference="opening", channel="cli")
        if type_ == "postpaid":
            postpaid.open_line(ctx, u, sid, deposit or Money.zero(ctx.profile.currency), now)
        return sid

    if uow is not None:
        return insert(uow)
    with ctx.store.write_uow() as u:
        return insert(u)


def grant_promo(ctx: Context, msisdn: str, amount: Money, valid_days: int | None = None) -> BalanceView:
    """Promotional funds in their own lot (000 "Prepaid" 4)."""
    if amount.minor <= 0:
        raise InvalidInput("the amount must be more than zero")
    if valid_days is not None and valid_days <= 0:
        raise InvalidInput("valid days must be more than zero")
    now = ctx.clock.now()
    days = valid_days or ctx.profile.policy.promo_valid_days
    with ctx.store.write_uow() as uow:
        record = find(ctx, uow, msisdn)
        account, entries, _ = rules.grant_promo(record.account, amount, days, now, ctx.profile.policy)
        uow.accounts.save_account(record.subscriber_id, account, entries, now=now, reference="promo",
                                  channel="cli")
        record = find(ctx, uow, msisdn)
    return view_of(ctx, record, now)


def unblock(ctx: Context, msisdn: str) -> str:
    """Lift a lost-SIM block once a replacement SIM is issued; returns the report reference."""
    now = ctx.clock.now()
    with ctx.store.write_uow() as uow:
        record = find(ctx, uow, msisdn)
        if record.lost_reference is None:
            raise InvalidInput(f"{msisdn} is not blocked")
        uow.lost.resolve(record.subscriber_id, now)
        return record.lost_reference


def show(ctx: Context, msisdn: str) -> dict[str, Any]:
    """``subscribers show``: the JSON shape of DESIGN.md, as of the context's clock.

    A recycled number is shown (state ``recycled``, its closed balances and
    history) until it is added again; nothing is written.
    """
    with ctx.store.snapshot_uow() as uow:
        return describe(ctx, uow, msisdn)[1]


def describe(ctx: Context, uow: UnitOfWork, msisdn: str) -> tuple[SubscriberRecord, dict[str, Any]]:
    """``show`` inside the caller's read (the operator console adds the line's history to it): the
    newest subscriber row on ``msisdn`` and its JSON.

    Raises:
        UnknownSubscriber
    """
    now = ctx.clock.now()
    tz = ctx.profile.time_zone
    record = uow.accounts.load_latest(msisdn, ctx.profile.currency)
    if record is None:
        raise UnknownSubscriber(f"unknown number {msisdn}", msisdn)
    bills = (uow.postpaid.bills(record.subscriber_id, ctx.profile.currency)
             if record.postpaid is not None and ctx.profile.policy.postpaid is not None else None)
    view = view_of(ctx, record, now, bills)
    consent = uow.consent.history(record.subscriber_id)
    released = RELEASED.get(record.status)

    def when(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat() if moment is not None else None

    def money(amount: Money, until: datetime | None) -> dict[str, Any]:
        return {"minor": amount.minor, "display": amount.display(), "expires_at": when(until)}

    return record, {
        "msisdn": record.msisdn,
        "type": record.type,
        "language": record.language,
        "state": released.value if released else view.state.value,
        "balances": {
            "main": money(view.main, view.main_expires_at),
            "promo": money(view.promo, view.promo_expires_at),
        },
        "restorable": {"minor": view.restorable.minor, "display": view.restorable.display(),
                       "until": when(view.restorable_until)},
        "lost": (
            {"reported_at": when(record.lost_reported_at), "reference": record.lost_reference}
            if record.lost_reference else None
        ),
        "marketing_opt_in": record.marketing_opt_in,
        "consent": [{"opt_in": opt_in, "channel": channel, "at": when(at)} for opt_in, channel, at in consent],
        "next_deadline": None if released else when(view.next_deadline),
        "created_at": when(record.created_at),
        "recycled_at": when(record.recycled_at) if released is LineState.RECYCLED else None,
        # 004 3(B).12: the activity the inactivity rule counts from, and the life cycle's moments.
        "last_active_at": when(record.last_active_at),
        "deactivated_at": when(record.deactivated_at),
        "expired_at": when(record.recycled_at) if released is LineState.EXPIRED else None,
        **({"postpaid": _postpaid_block(view.postpaid, when)} if view.postpaid is not None else {}),
    }


def _postpaid_block(bill: BillView, when: Any) -> dict[str, Any]:
    """DESIGN.md's ``postpaid`` block: deposit, dues, unbilled, bills (oldest first), notice."""

    def money(amount: Money) -> dict[str, Any]:
        return {"minor": amount.minor, "display": amount.display()}

    return {
        "deposit": money(bill.deposit),
        "dues": money(bill.dues),
        "unbilled": money(bill.unbilled),
        "bills": [
            {"period_start": b.period_start.isoformat(), "period_end": b.period_end.isoformat(),
             "issued_on": b.issued_on.isoformat(), "due_on": b.due_on.isoformat(),
             "amount": money(b.amount), "paid": b.paid_up, "disputed": b.disputed,
             **({"late_penalty": money(b.penalty)} if b.penalty else {})}
            for b in bill.bills
        ],
        "notice": (None if bill.notice_sent_at is None else
                   {"sent_at": when(bill.notice_sent_at), "discontinue_on": when(bill.discontinue_at)}),
    }
