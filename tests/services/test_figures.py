"""The figures of ``/metrics`` read from the store (``gateway.services.figures``), on both backends.

Messages go through the real outbox path: a campaign queued by the
service, a reply queued, claimed and submitted by the sender's functions,
a receipt saved as the SMPP hook saves it; lockouts are earned by wrong
PINs. What a dashboard shows is then checked against what happened.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from gateway.domain.channels import Channel
from gateway.domain.errors import WrongPin
from gateway.monitoring import StoreGauges
from gateway.services import sms_delivery
from gateway.services.campaign import queue_campaign
from gateway.services.figures import read_figures
from gateway.services.model import OutgoingSms, TopUp
from gateway.store.port import DeliveryReport, Submitted

A, B, C, D = "85512000001", "85512000002", "85512000003", "85512000004"
STRANGER = "85512999999"  # not a subscriber: the campaign skips it
WAIT = timedelta(minutes=10)


def _save(world, *events) -> None:
    sms_delivery.save_events(world.services.ctx.store, list(events), [], world.clock.now(),
                             decode=lambda data, coding: data.decode(), dedupe_window=timedelta(minutes=2),
                             part_key=b"k" * 32)


def _traffic(world) -> None:
    """t0: a campaign to A, B, C and a stranger, and a reply to A; +1 min: the reply and A's offer
    are submitted; +5 min: the reply's receipt comes back. The clock ends at t0 + 5 min."""
    for number in (A, B, C, D):
        world.add(number)
    store = world.services.ctx.store
    result = queue_campaign(world.services.ctx, "Offer", [A, B, C, STRANGER])
    assert (result.queued, result.skipped) == (3, 1)
    with store.write_uow() as uow:
        uow.outbox.enqueue(OutgoingSms(A, "Your balance", "888", "reply"), world.clock.now())
    world.clock.advance(timedelta(minutes=1))
    claimed = sms_delivery.claim_outbox(store, world.clock.now(), 2)
    assert [row.kind for row in claimed] == ["reply", "marketing"]  # replies go first
    _save(world, *(Submitted(row.id, (f"m{row.id}",)) for row in claimed))
    world.clock.advance(timedelta(minutes=4))
    reply = next(row for row in claimed if row.kind == "reply")
    _save(world, DeliveryReport(f"m{reply.id}", "DELIVRD"))


def test_outbox_figures_follow_the_messages(world):
    """Depth by kind and state, the oldest due message, overdue receipts and campaign progress."""
    _traffic(world)
    start = world.clock.now() - timedelta(minutes=5)
    now = world.clock.now() + timedelta(minutes=7)  # t0 + 12 min
    figures = read_figures(world.services.ctx.store, now, WAIT).outbox
    assert {key: n for key, n in figures.live.items() if n} == {
        ("marketing", "queued"): 2, ("marketing", "submitted"): 1}
    assert figures.live["reply", "queued"] == 0  # every kind and live state is there, 0 or not
    assert figures.oldest_due == {"marketing": start}  # B's and C's offers, due since t0
    assert figures.receipts_overdue == {"reply": 0, "notification": 0, "reminder": 0, "marketing": 1}
    assert figures.marketing == {"queued": 2, "sending": 0, "submitted": 1, "delivered": 0,
                                 "undeliverable": 0, "expired": 0, "failed": 0, "skipped": 1}
    # Submitted at t0 + 1 min: not overdue yet at t0 + 10 min.
    early = read_figures(world.services.ctx.store, start + timedelta(minutes=10), WAIT).outbox
    assert early.receipts_overdue["marketing"] == 0


def test_lockouts_in_force_count_numbers_until_their_lock_ends(world):
    """Five wrong PINs lock a number's top-ups: one topup lockout, gone when the lock ends."""
    world.add(D)
    for _ in range(5):
        with pytest.raises(WrongPin):
            world.services.top_up(TopUp(D, "99999999999999", Channel.USSD))
    store = world.services.ctx.store
    assert read_figures(store, world.clock.now(), WAIT).lockouts == {"topup": 1, "lost": 0, "lost-number": 0}
    later = world.clock.now() + timedelta(hours=25)
    assert read_figures(store, later, WAIT).lockouts == {"topup": 0, "lost": 0, "lost-number": 0}


def test_the_gauges_show_one_reading(world):
    """The gauges of ``/metrics`` from one reading: waiting time in seconds, counts by label."""
    _traffic(world)
    registry = CollectorRegistry()
    gauges = StoreGauges(registry)
    now = world.clock.now() + timedelta(minutes=7)
    gauges.show(read_figures(world.services.ctx.store, now, WAIT))
    value = registry.get_sample_value
    assert value("selfcare_sms_outbox_oldest_due_seconds", {"kind": "marketing"}) == 12 * 60
    assert value("selfcare_sms_outbox_oldest_due_seconds", {"kind": "reply"}) == 0
    assert value("selfcare_sms_outbox", {"kind": "marketing", "status": "queued"}) == 2
    assert value("selfcare_sms_receipts_overdue", {"kind": "marketing"}) == 1
    assert value("selfcare_campaign_messages", {"status": "skipped"}) == 1
    assert value("selfcare_lockouts", {"kind": "topup"}) == 0
    assert value("selfcare_figures_timestamp_seconds") == now.timestamp()
