"""Marketing consent: opt out by dialling 1204 (000 "Marketing ..." 2), opt back in."""

from __future__ import annotations

from gateway.domain.channels import Channel
from gateway.services.accounts import find_originator
from gateway.services.model import ConsentView
from gateway.services.ports import Context


def set_marketing_consent(ctx: Context, msisdn: str, opt_in: bool, channel: Channel) -> ConsentView:
    """Record the choice with its time and channel; saying it twice records it once."""
    now = ctx.clock.now()
    with ctx.store.write_uow() as uow:
        record = find_originator(ctx, uow, msisdn)
        if record.marketing_opt_in != opt_in:
            uow.consent.set_opt_in(record.subscriber_id, opt_in, now, channel.value)
    return marketing_consent(ctx, msisdn)


def marketing_consent(ctx: Context, msisdn: str) -> ConsentView:
    uow = ctx.store.read_uow()
    record = find_originator(ctx, uow, msisdn)
    last = uow.consent.last_change(record.subscriber_id)
    return ConsentView(
        msisdn=msisdn,
        opt_in=record.marketing_opt_in,
        changed_at=last[0] if last else None,
        channel=last[1] if last else None,
    )
