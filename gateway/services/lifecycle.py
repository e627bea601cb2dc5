"""The life-cycle job: bring every account and line to ``now``.

- Expired main funds move to the restorable bucket, forfeited after the
  restore window; expired promotional lots are closed (ledger rows for each).
- Numbers past the end of the fully-barred period are recycled (000 "SIM Card
  LifeCycle"): the account is closed out through the ledger, the row keeps
  its history with status ``recycled``, and the number is free for a new
  subscriber whose balances and consent start afresh.
- Reminders are queued once per expiry cycle: funds expiring soon, line
  barred, number about to be recycled.
- With an inactivity life cycle (004 3(B).12) instead of recycling on expiry:
  lines unused for months are deactivated, and expire unclaimed after the
  reissue window (``gateway.services.inactivity``).

Running it twice at the same ``now`` changes nothing the second time.
Balance checks never depend on this job having run (they settle in memory);
the job makes the ledger and the reminders catch up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.domain import account as rules
from gateway.domain.account import EntryKind
from gateway.domain.lifecycle import LineState, line_state, recycle_at
from gateway.domain.policy import ExpiryLifecycle
from gateway.services import inactivity, postpaid
from gateway.services.accounts import view_of
from gateway.services.batches import live_lines
from gateway.services.model import OutgoingSms
from gateway.services.ports import Context


@dataclass(frozen=True)
class LifecycleReport:
    now: datetime
    settled: int
    expired: int
    forfeited: int
    promo_expired: int
    recycled: int
    reminders: int
    #: Postpaid lines (``gateway.services.postpaid.run``).
    postpaid: postpaid.PostpaidReport | None = None
    #: 004 3(B).12 (profiles with an inactivity life cycle): lines deactivated, numbers expired.
    deactivated: int = 0
    line_expired: int = 0


def run(ctx: Context, now: datetime | None = None) -> LifecycleReport:
    now = now or ctx.clock.now()
    policy = ctx.profile.policy
    cycle = policy.lifecycle
    # Without an expiry life cycle no line is recycled for its expiry: a cutoff before any line.
    recycle_cutoff = (now - cycle.outgoing_barred - cycle.fully_barred if isinstance(cycle, ExpiryLifecycle)
                      else datetime.min.replace(tzinfo=UTC))
    due = ctx.store.read_uow().accounts.due_for_lifecycle(now, recycle_cutoff)
    counts = {"settled": 0, "expire": 0, "forfeit": 0, "promo_expire": 0, "recycled": 0}
    recycles = ctx.profile.lifecycle.recycles_on_expiry
    for uow, record in live_lines(ctx, due):
        account, entries = rules.settle(record.account, now, policy)
        expires = account.main_expires_at if record.type == "prepaid" else None
        if (recycles and expires is not None
                and line_state(expires, now, policy) is LineState.RECYCLED):
            moment = recycle_at(expires, policy)
            account, closing = rules.close_out(account, moment)
            entries += closing
            uow.accounts.mark_recycled(record.subscriber_id, moment)
            counts["recycled"] += 1
        if entries:
            uow.accounts.save_account(record.subscriber_id, account, entries, now=now,
                                      reference="lifecycle", channel="system")
            counts["settled"] += 1
        for entry in entries:
            if entry.kind is EntryKind.EXPIRE and entry.delta.minor < 0:
                counts["expire"] += 1
            elif entry.kind is EntryKind.FORFEIT:
                counts["forfeit"] += 1
            elif entry.kind is EntryKind.PROMO_EXPIRE:
                counts["promo_expire"] += 1
    reminders = _queue_reminders(ctx, now)
    bills = postpaid.run(ctx, now) if ctx.profile.policy.postpaid is not None else None
    lines = inactivity.advance(ctx, now)
    return LifecycleReport(now, counts["settled"], counts["expire"], counts["forfeit"],
                           counts["promo_expire"], counts["recycled"], reminders + lines.reminders, bills,
                           lines.deactivated, lines.expired)


def _queue_reminders(ctx: Context, now: datetime) -> int:
    """One reminder per kind and expiry date, for lines that are not reported lost."""
    if ctx.notices is None:
        return 0
    policy = ctx.profile.policy
    life = policy.lifecycle
    windows: dict[str, tuple[datetime, datetime]] = {}
    if isinstance(life, ExpiryLifecycle):
        windows["barred"] = (now - life.outgoing_barred, now)
        windows["recycle_warning"] = (now - life.outgoing_barred - life.fully_barred, now - life.outgoing_barred)
    if policy.expiry_reminder_days:
        windows["expiry"] = (now, now + timedelta(days=policy.expiry_reminder_days))
    sent = 0
    for kind, (after, until) in windows.items():
        numbers = ctx.store.read_uow().accounts.due_for_reminder(kind, after, until)
        for uow, record in live_lines(ctx, numbers):
            expires = record.account.main_expires_at
            if not uow.accounts.mark_reminded(record.subscriber_id, kind, expires, now):
                continue
            # The expiry in UTC to the microsecond: one key per cycle, as earlier runs queued it.
            cycle = expires.astimezone(UTC).isoformat(timespec="microseconds") if expires else None
            view = view_of(ctx, record, now)
            text = ctx.notices.reminder(kind, view, record.language)
            uow.outbox.enqueue(OutgoingSms(record.msisdn, text, ctx.profile.codes.sms_keywords, "reminder",
                                           f"reminder:{record.subscriber_id}:{kind}:{cycle}"), now)
            sent += 1
    return sent
