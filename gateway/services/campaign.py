"""Marketing campaigns: queue one SMS per number, skipping those who opted out.

Consent is checked twice: here (so the operator sees how many were skipped)
and again by the sender when each message is sent (``store.sms.claim_due``),
so a STOP that arrives while a campaign is queued still wins. Skipped numbers
get an outbox row with status ``skipped`` for the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.domain.errors import InvalidInput
from gateway.services.model import OutgoingSms
from gateway.services.ports import Context
from gateway.store.db import iso
from gateway.store.outbox import enqueue


@dataclass(frozen=True)
class CampaignResult:
    queued: int
    skipped: int


def queue_campaign(ctx: Context, text: str, msisdns: Iterable[str]) -> CampaignResult:
    """Queue ``text`` (kind ``marketing``) to every distinct number; all or nothing.

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
    with ctx.store.write() as conn:
        for msisdn in numbers:
            row = conn.execute(
                "SELECT marketing_opt_in FROM subscribers WHERE msisdn = ? AND status = 'live'",
                (msisdn,),
            ).fetchone()
            if row is not None and row["marketing_opt_in"]:
                enqueue(conn, OutgoingSms(msisdn, text, source, "marketing"), now)
                queued += 1
                continue
            reason = "opted out" if row is not None else "not a subscriber"
            conn.execute(
                "INSERT INTO sms_outbox (source, destination, text, kind, status, attempts, "
                "next_attempt_at, created_at, updated_at, error) "
                "VALUES (?, ?, ?, 'marketing', 'skipped', 0, ?, ?, ?, ?)",
                (source, msisdn, text, iso(now), iso(now), iso(now), reason),
            )
            skipped += 1
    return CampaignResult(queued, skipped)
