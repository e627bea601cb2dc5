"""Marketing campaigns: queue one SMS per number, skipping those who opted out.

Consent is checked twice: here (so the operator sees how many were skipped)
and again by the sender when each message is sent (``Outbox.claim_due``),
so a STOP that arrives while a campaign is queued still wins. Skipped numbers
get an outbox row with status ``skipped`` for the record. Every row of one
campaign names it (``campaigns``, migration 18), so its progress can be
followed message by message (``gateway.services.oversight``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.domain.errors import InvalidInput
from gateway.services.model import OutgoingSms
from gateway.services.ports import Context


@dataclass(frozen=True)
class CampaignResult:
    queued: int
    skipped: int
    campaign_id: int | None = None


def queue_campaign(ctx: Context, text: str, msisdns: Iterable[str], channel: str = "cli") -> CampaignResult:
    """Queue ``text`` (kind ``marketing``) to every distinct number, as one campaign; all or nothing.

    Raises:
        InvalidInput: empty text or no numbers.
        InvalidMsisdn: a number is not one of this operator's (nothing is queued).
    """
    if not text.strip():
        raise InvalidInput("campaign text is empty")
    numbers = list(dict.fromkeys(ctx.profile.number_plan.normalise(m) for m in msisdns))
    if not numbers:
        raise InvalidInput("no numbers to send to")
    source = ctx.profile.codes.sms_marketing
    now = ctx.clock.now()
    queued = skipped = 0
    with ctx.store.write_uow() as uow:
        campaign_id = uow.outbox.add_campaign(text, now, channel)
        for msisdn in numbers:
            opted_in = uow.accounts.marketing_opt_in(msisdn)
            sms = OutgoingSms(msisdn, text, source, "marketing", campaign_id=campaign_id)
            if opted_in:
                uow.outbox.enqueue(sms, now)
                queued += 1
                continue
            uow.outbox.skipped(sms, now, "opted out" if opted_in is not None else "not a subscriber")
            skipped += 1
    return CampaignResult(queued, skipped, campaign_id)
