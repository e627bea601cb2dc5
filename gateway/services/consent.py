"""Marketing consent: opt out by dialling 1204 (000 "Marketing ..." 2), opt back in."""

from __future__ import annotations

from gateway.domain.channels import Channel
from gateway.services.accounts import find_originator
from gateway.services.model import ConsentView
from gateway.services.ports import Context
from gateway.store.db import from_iso, iso


def set_marketing_consent(ctx: Context, msisdn: str, opt_in: bool, channel: Channel) -> ConsentView:
    """Record the choice with its time and channel; saying it twice records it once."""
    now = ctx.clock.now()
    with ctx.store.write() as conn:
        record = find_originator(ctx, conn, msisdn)
        if record.marketing_opt_in != opt_in:
            conn.execute(
                "UPDATE subscribers SET marketing_opt_in = ? WHERE id = ?", (int(opt_in), record.subscriber_id)
            )
            conn.execute(
                "INSERT INTO consent_events (subscriber_id, opt_in, at, channel) VALUES (?, ?, ?, ?)",
                (record.subscriber_id, int(opt_in), iso(now), channel.value),
            )
    return marketing_consent(ctx, msisdn)


def marketing_consent(ctx: Context, msisdn: str) -> ConsentView:
    conn = ctx.store.read()
    record = find_originator(ctx, conn, msisdn)
    last = conn.execute(
        "SELECT at, channel FROM consent_events WHERE subscriber_id = ? ORDER BY id DESC LIMIT 1",
        (record.subscriber_id,),
    ).fetchone()
    return ConsentView(
        msisdn=msisdn,
        opt_in=record.marketing_opt_in,
        changed_at=from_iso(last["at"]) if last else None,
        channel=last["channel"] if last else None,
    )
