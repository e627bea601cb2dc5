"""Voucher top-up (000 "Prepaid" 2-3), for one's own line or another number.

One unit of work does everything: the lock check, the voucher lookup by
keyed hash, taking it (``vouchers.take``: only an active voucher is taken),
the credit with its ledger rows, the top-up record and the confirmation SMS.
Two redemptions of one PIN, even from two processes, are serialised by the
database (on SQLite its write lock, taken when the unit of work begins):
exactly one succeeds, the other sees the voucher used.

A refused attempt consumes nothing. It is recorded (and a wrong PIN, or any
refused gift, counted towards the requester's lockout) in the same
transaction, which is committed before the refusal is raised, so the count
survives the refusal and a restart. A gift answers the same for every target
until a voucher is redeemed (``_gift_target_and_voucher``); a SIM reported
lost can top up nothing, neither itself nor another number.
"""

from __future__ import annotations

from datetime import datetime

from gateway.domain import account as rules
from gateway.domain.attempts import is_locked
from gateway.domain.channels import Channel
from gateway.domain.errors import (
    GatewayError,
    GiftRefused,
    NotPrepaid,
    NumberRecycled,
    TopUpLocked,
    UnknownSubscriber,
    WrongPin,
)
from gateway.domain.lifecycle import GONE, LineFacts
from gateway.domain.money import Money
from gateway.domain.secrets import Sealed, keyed_hash, seal
from gateway.domain.vouchers import (
    Voucher,
    check_pin_format,
    check_pin_shape,
    check_redeemable,
    clean_pin,
)
from gateway.logs import get_logger
from gateway.services.accounts import find, find_originator, line_facts, refuse_lost_originator, subscriber_language
from gateway.services.model import OutgoingSms, TopUp, TopUpResult
from gateway.services.ports import Context
from gateway.store.port import StoredTopUp, SubscriberRecord, UnitOfWork

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
    with ctx.store.write_uow() as uow:
        earlier, locked_until = uow.topups.replay_and_lock(request_key, LOCK_KIND, cmd.requester)
        if earlier is not None:
            return _replayed(ctx, earlier)
        try:
            result = _redeem(ctx, uow, cmd, hashed, target, now, request_key, locked_until)
        except GatewayError as exc:
            refusal = exc
            uow.topups.record_attempt(cmd.requester, now, type(exc).__name__, cmd.channel.value)
    if refusal is not None:
        log.info("topup_refused", requester=cmd.requester, target=target, channel=cmd.channel.value,
                 reason=type(refusal).__name__, cause=getattr(refusal, "cause", None))
        raise refusal
    log.info("voucher_redeemed", requester=cmd.requester, target=target, channel=cmd.channel.value,
             serial=result.serial, amount_minor=result.credited.minor, restored_minor=result.restored.minor)
    return result


def _redeem(
    ctx: Context, uow: UnitOfWork, cmd: TopUp, hashed: str, target: str, now: datetime,
    request_key: str | None, locked_until: datetime | None,
) -> TopUpResult:
    limit = ctx.profile.policy.pin_attempts
    if target != cmd.requester:
        record, voucher = _gift_target_and_voucher(ctx, uow, cmd, hashed, target, locked_until, now)
    else:
        if is_locked(locked_until, now):
            raise TopUpLocked(locked_until)  # type: ignore[arg-type]
        record = find_originator(ctx, uow, target)
        if record.type != "prepaid":
            raise NotPrepaid(f"{target} is a postpaid line", target)
        if ctx.profile.lifecycle.state(line_facts(record), now) in GONE:
            raise NumberRecycled(f"number {target} is due for recycling", target)
        found = uow.vouchers.by_pin_hash(hashed, ctx.profile.currency)
        if found is None:
            state = uow.locks.register_failure(LOCK_KIND, cmd.requester, locked_until, now, limit)
            raise WrongPin(state.attempts_left, state.locked_until)
        voucher = found
        check_redeemable(voucher, now.astimezone(ctx.profile.time_zone).date())
    # Before the voucher is taken: a credit over the balance maximum is refused with the card unused.
    account, entries, outcome = rules.apply_top_up(
        record.account, voucher.amount, voucher.active_days, now, ctx.profile.policy
    )

    if not uow.vouchers.take(voucher.voucher_id, now, record.subscriber_id):  # pragma: no cover
        raise RuntimeError("voucher changed under the write lock")  # the write lock makes this unreachable

    uow.accounts.save_account(record.subscriber_id, account, entries, now=now,
                              reference=voucher.serial, channel=cmd.channel.value)
    topup_id = uow.topups.record(
        request_key=request_key, requester=cmd.requester, subscriber_id=record.subscriber_id,
        voucher_id=voucher.voucher_id, credited_minor=outcome.credited.minor,
        restored_minor=outcome.restored.minor, balance_minor=outcome.new_main.minor,
        expires_at=outcome.new_expires_at, now=now, channel=cmd.channel.value,
    )
    result = TopUpResult(
        msisdn=target, requester=cmd.requester, credited=outcome.credited, restored=outcome.restored,
        balance=outcome.new_main, expires_at=outcome.new_expires_at, serial=voucher.serial,
        topup_id=topup_id,
    )
    _queue_confirmations(ctx, uow, result, record.language, now, cmd.channel)
    return result


def _gift_target_and_voucher(
    ctx: Context, uow: UnitOfWork, cmd: TopUp, hashed: str, target: str,
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
    refuse_lost_originator(uow, cmd.requester)
    if is_locked(locked_until, now):
        raise TopUpLocked(locked_until)  # type: ignore[arg-type]
    line = uow.accounts.line_summary(target)
    voucher = uow.vouchers.by_pin_hash(hashed, ctx.profile.currency)
    cause: GatewayError | None = None
    if line is None:
        cause = UnknownSubscriber("unknown", target)
    elif not line.live:
        cause = NumberRecycled("recycled", target)
    elif line.type != "prepaid":
        cause = NotPrepaid("postpaid", target)
    elif ctx.profile.lifecycle.state(LineFacts(line.type, line.main_expires_at, now), now) in GONE:
        # (A line summary has no activity: a gift is refused for recycling only.)
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
        state = uow.locks.register_failure(LOCK_KIND, cmd.requester, locked_until, now, limit)
        raise GiftRefused(state.attempts_left, state.locked_until, type(cause).__name__)
    return find(ctx, uow, target), voucher


def _replayed(ctx: Context, row: StoredTopUp) -> TopUpResult:
    cur = ctx.profile.currency
    return TopUpResult(
        msisdn=row.msisdn, requester=row.requester, credited=Money(row.credited_minor, cur),
        restored=Money(row.restored_minor, cur), balance=Money(row.balance_minor, cur),
        expires_at=row.expires_at, serial=row.serial, topup_id=row.topup_id, replayed=True,
    )


def _queue_confirmations(
    ctx: Context, uow: UnitOfWork, result: TopUpResult, language: str, now: datetime,
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
        uow.outbox.enqueue(OutgoingSms(result.msisdn, ctx.notices.topup_confirmation(result, language), source,
                                  "notification", f"topup:{result.topup_id}"), now)
    if result.gift and not answered_by_reply:
        sender_language = subscriber_language(ctx, result.requester, uow)
        uow.outbox.enqueue(OutgoingSms(result.requester, ctx.notices.gift_sent(result, sender_language), source,
                                  "notification", f"topup-gift:{result.topup_id}"), now)
