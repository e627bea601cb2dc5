"""Voucher top-up (000 "Prepaid" 2-3), for one's own line or another number.

One ``BEGIN IMMEDIATE`` transaction does everything: the lock check, the
voucher lookup by keyed hash, marking it used (``WHERE status = 'active'``),
the credit with its ledger rows, the top-up record and the confirmation SMS.
Two redemptions of one PIN, even from two processes, are serialised by
SQLite's write lock: exactly one succeeds, the other sees the voucher used.

A refused attempt consumes nothing. It is recorded (and a wrong PIN, or any
refused gift, counted towards the requester's lockout) in the same
transaction, which is committed before the refusal is raised, so the count
survives the refusal and a restart. A gift answers the same for every target
until a voucher is redeemed (``_gift_target_and_voucher``); a SIM reported
lost can top up nothing, neither itself nor another number.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.domain import account as rules
from gateway.domain.channels import Channel
from gateway.logs import get_logger
from gateway.domain.attempts import is_locked
from gateway.domain.errors import (
    GatewayError,
    GiftRefused,
    NotPrepaid,
    NumberRecycled,
    TopUpLocked,
    UnknownSubscriber,
    WrongPin,
)
from gateway.domain.lifecycle import LineState, line_state
from gateway.domain.money import Money
from gateway.domain.secrets import Sealed, keyed_hash, seal
from gateway.domain.vouchers import (
    Voucher,
    VoucherStatus,
    check_pin_format,
    check_pin_shape,
    check_redeemable,
    clean_pin,
)
from gateway.services.accounts import find, find_originator, refuse_lost_originator, subscriber_language
from gateway.services.model import OutgoingSms, TopUp, TopUpResult
from gateway.services.ports import Context
from gateway.store import locks
from gateway.store.accounts import SubscriberRecord, line_summary, save_account
from gateway.store.db import date_from_iso, from_iso, iso
from gateway.store.outbox import enqueue

log = get_logger(__name__)

PIN_PURPOSE = "voucher-pin"
REQUEST_KEY_PURPOSE = "request-key"
LOCK_KIND = "topup"


def pin_hash(ctx: Context, pin: str) -> str:
    return keyed_hash(ctx.pin_secret, PIN_PURPOSE, pin)


def seal_pin(ctx: Context, pin: str) -> Sealed:
    """``pin`` as a message waiting to be answered may keep it (see ``TopUp.pin``)."""
    return seal(ctx.pin_secret, PIN_PURPOSE, clean_pin(pin))


def stored_request_key(ctx: Context, request_key: str) -> str:
    """The form of a request key kept in ``topups``: its kind in clear, the rest keyed-hashed.

    A USSD key holds the typed answers (the PIN among them); the kind
    (``ussd``, ``sms``) stays readable for an operator.
    """
    kind, _, rest = request_key.partition(":")
    return f"{kind}:{keyed_hash(ctx.pin_secret, REQUEST_KEY_PURPOSE, rest)}"


def _pin_digest(ctx: Context, pin: str | Sealed) -> str:
    """The keyed hash vouchers are looked up by, after the format check.

    Raises:
        InvalidPin
    """
    if isinstance(pin, Sealed):
        check_pin_shape(pin.length, pin.digits)
        return pin.digest
    return pin_hash(ctx, check_pin_format(pin))


def top_up(ctx: Context, cmd: TopUp) -> TopUpResult:
    """Redeem ``cmd.pin`` onto ``cmd.target`` (default: the requester's own line).

    Raises:
        InvalidPin: not a PIN at all (not counted as a wrong PIN).
        LineLost: the requester's own SIM is reported lost.
        TopUpLocked, WrongPin, VoucherAlreadyUsed, VoucherExpired,
        UnknownSubscriber, NumberRecycled, NotPrepaid (own line);
        GiftRefused (another number, any of these reasons)
    """
    hashed = _pin_digest(ctx, cmd.pin)
    request_key = None if cmd.request_key is None else stored_request_key(ctx, cmd.request_key)
    target = cmd.target or cmd.requester
    now = ctx.clock.now()
    refusal: GatewayError | None = None
    with ctx.store.write() as conn:
        if request_key is not None:
            earlier = _replay(ctx, conn, request_key)
            if earlier is not None:
                return earlier
        try:
            result = _redeem(ctx, conn, cmd, hashed, target, now, request_key)
        except GatewayError as exc:
            refusal = exc
            _record_attempt(conn, cmd, now, type(exc).__name__)
    if refusal is not None:
        log.info("topup_refused", requester=cmd.requester, target=target, channel=cmd.channel.value,
                 reason=type(refusal).__name__, cause=getattr(refusal, "cause", None))
        raise refusal
    log.info("voucher_redeemed", requester=cmd.requester, target=target, channel=cmd.channel.value,
             serial=result.serial, amount_minor=result.credited.minor, restored_minor=result.restored.minor)
    return result


def _redeem(
    ctx: Context, conn: sqlite3.Connection, cmd: TopUp, hashed: str, target: str, now: datetime,
    request_key: str | None,
) -> TopUpResult:
    limit = ctx.profile.policy.pin_attempts
    locked_until = locks.get(conn, LOCK_KIND, cmd.requester)
    if target != cmd.requester:
        record, voucher = _gift_target_and_voucher(ctx, conn, cmd, hashed, target, locked_until, now)
    else:
        if is_locked(locked_until, now):
            raise TopUpLocked(locked_until)  # type: ignore[arg-type]
        record = find_originator(ctx, conn, target)
        if record.type != "prepaid":
            raise NotPrepaid(f"{target} is a postpaid line", target)
        if line_state(record.account.main_expires_at, now, ctx.profile.policy) is LineState.RECYCLED:
            raise NumberRecycled(f"number {target} is due for recycling", target)
        found = _voucher_by_pin(ctx, conn, hashed)
        if found is None:
            state = locks.register_failure(conn, LOCK_KIND, cmd.requester, locked_until, now, limit)
            raise WrongPin(state.attempts_left, state.locked_until)
        voucher = found
        check_redeemable(voucher, now.astimezone(ctx.profile.time_zone).date())
    # Before the voucher is taken: a credit over the balance maximum is refused with the card unused.
    account, entries, outcome = rules.apply_top_up(
        record.account, voucher.amount, voucher.active_days, now, ctx.profile.policy
    )

    taken = conn.execute(
        "UPDATE vouchers SET status = 'used', used_at = ?, used_by = ? WHERE id = ? AND status = 'active'",
        (iso(now), record.subscriber_id, voucher.voucher_id),
    ).rowcount
    if taken != 1:  # pragma: no cover - the write lock makes this unreachable
        raise RuntimeError("voucher changed under the write lock")

    save_account(conn, record.subscriber_id, account, entries, now=now,
                 reference=voucher.serial, channel=cmd.channel.value)
    cur = conn.execute(
        "INSERT INTO topups (request_key, requester_msisdn, subscriber_id, voucher_id, amount_minor, "
        "restored_minor, balance_after_minor, expires_at, at, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (request_key, cmd.requester, record.subscriber_id, voucher.voucher_id,
         outcome.credited.minor, outcome.restored.minor, outcome.new_main.minor,
         iso(outcome.new_expires_at), iso(now), cmd.channel.value),
    )
    assert cur.lastrowid is not None
    result = TopUpResult(
        msisdn=target, requester=cmd.requester, credited=outcome.credited, restored=outcome.restored,
        balance=outcome.new_main, expires_at=outcome.new_expires_at, serial=voucher.serial,
        topup_id=cur.lastrowid,
    )
    _queue_confirmations(ctx, conn, result, record.language, now, cmd.channel)
    return result


def _gift_target_and_voucher(
    ctx: Context, conn: sqlite3.Connection, cmd: TopUp, hashed: str, target: str,
    locked_until: datetime | None, now: datetime,
) -> tuple[SubscriberRecord, Voucher]:
    """The line to credit and the voucher of a gift, or one ``GiftRefused`` for any reason not to.

    Until a voucher is actually redeemed, a gift must not tell the sender
    anything about the target: the target (one summary row) and the voucher
    are both looked up whatever either turns out to be (the same statements
    every time; the whole account is read only to credit it), and
    a wrong, used or expired PIN, or a target that cannot be credited
    (unknown, recycled, postpaid), all give the same answer and count
    towards the sender's lockout. Active, barred and lost lines are credited.

    Raises:
        LineLost (the sender's own SIM is reported lost), TopUpLocked, GiftRefused
    """
    refuse_lost_originator(conn, cmd.requester)
    if is_locked(locked_until, now):
        raise TopUpLocked(locked_until)  # type: ignore[arg-type]
    line = line_summary(conn, target)
    voucher = _voucher_by_pin(ctx, conn, hashed)
    cause: GatewayError | None = None
    if line is None:
        cause = UnknownSubscriber("unknown", target)
    elif not line.live:
        cause = NumberRecycled("recycled", target)
    elif line.type != "prepaid":
        cause = NotPrepaid("postpaid", target)
    elif line_state(line.main_expires_at, now, ctx.profile.policy) is LineState.RECYCLED:
        cause = NumberRecycled("due for recycling", target)
    if voucher is None:
        cause = WrongPin(0)
    else:
        try:
            check_redeemable(voucher, now.astimezone(ctx.profile.time_zone).date())
        except GatewayError as exc:
            cause = exc
    if cause is not None or voucher is None:
        limit = ctx.profile.policy.pin_attempts
        state = locks.register_failure(conn, LOCK_KIND, cmd.requester, locked_until, now, limit)
        raise GiftRefused(state.attempts_left, state.locked_until, type(cause).__name__)
    return find(ctx, conn, target), voucher


def _voucher_by_pin(ctx: Context, conn: sqlite3.Connection, hashed: str) -> Voucher | None:
    row = conn.execute(
        "SELECT id, serial, amount_minor, active_days, expires_on, status FROM vouchers WHERE pin_hash = ?",
        (hashed,),
    ).fetchone()
    if row is None:
        return None
    return Voucher(row["id"], row["serial"], Money(row["amount_minor"], ctx.profile.currency),
                   row["active_days"], date_from_iso(row["expires_on"]), VoucherStatus(row["status"]))


def _record_attempt(conn: sqlite3.Connection, cmd: TopUp, now: datetime, outcome: str) -> None:
    conn.execute(
        "INSERT INTO topup_attempts (msisdn, at, outcome, channel) VALUES (?, ?, ?, ?)",
        (cmd.requester, iso(now), outcome, cmd.channel.value),
    )


def _replay(ctx: Context, conn: sqlite3.Connection, request_key: str) -> TopUpResult | None:
    row = conn.execute(
        "SELECT t.id, t.requester_msisdn, t.amount_minor, t.restored_minor, t.balance_after_minor, "
        "t.expires_at, v.serial, s.msisdn FROM topups t JOIN vouchers v ON v.id = t.voucher_id "
        "JOIN subscribers s ON s.id = t.subscriber_id WHERE t.request_key = ?",
        (request_key,),
    ).fetchone()
    if row is None:
        return None
    cur = ctx.profile.currency
    return TopUpResult(
        msisdn=row["msisdn"], requester=row["requester_msisdn"], credited=Money(row["amount_minor"], cur),
        restored=Money(row["restored_minor"], cur), balance=Money(row["balance_after_minor"], cur),
        expires_at=from_iso(row["expires_at"]), serial=row["serial"], topup_id=row["id"],  # type: ignore[arg-type]
        replayed=True,
    )


def _queue_confirmations(
    ctx: Context, conn: sqlite3.Connection, result: TopUpResult, language: str, now: datetime,
    channel: Channel,
) -> None:
    """Confirm by SMS to the credited number, and to the giver of a gift.

    A top-up made by SMS is already answered by the keyword reply, so the
    person who sent it gets no second message saying the same.
    """
    if ctx.notices is None:
        return
    source = ctx.profile.codes.sms_keywords
    answered_by_reply = channel is Channel.SMS
    if not (answered_by_reply and not result.gift):
        enqueue(conn, OutgoingSms(result.msisdn, ctx.notices.topup_confirmation(result, language), source,
                                  "notification", f"topup:{result.topup_id}"), now)
    if result.gift and not answered_by_reply:
        sender_language = subscriber_language(ctx, result.requester, conn)
        enqueue(conn, OutgoingSms(result.requester, ctx.notices.gift_sent(result, sender_language), source,
                                  "notification", f"topup-gift:{result.topup_id}"), now)
