"""Rules 7 and 8: lost or stolen SIM, and marketing consent."""

from datetime import timedelta

import pytest

from gateway.domain.channels import Channel
from gateway.domain.errors import LineLost, LostDetailsMismatch, LostReportLocked
from gateway.services.model import ReportLost

ME = "85512345678"
FINDER = "85598765432"
STRANGER = "85577777777"


def test_report_blocks_at_the_moment_of_the_report(world):
    """000 SIM clause: liability ends when notified — the block carries that instant and a reference."""
    world.add(ME, id_number="N 0123-45")
    world.add(FINDER)
    result = world.services.report_lost_sim(ReportLost(FINDER, ME, "n012345", Channel.USSD))
    assert result.reported_at == world.clock.now()
    assert result.reference.startswith("LS-")
    shown = world.services.show_subscriber(ME)
    assert shown["lost"]["reference"] == result.reference
    assert shown["lost"]["reported_at"] == world.clock.now().astimezone(world.services.profile.time_zone).isoformat()
    with pytest.raises(LineLost):
        world.services.check_balance(ME)
    confirmation = world.sql("SELECT destination, text FROM sms_outbox")
    assert confirmation[0]["destination"] == FINDER and result.reference in confirmation[0]["text"]


def test_wrong_id_and_unknown_number_answer_the_same(world):
    """A wrong ID blocks nothing, and reads exactly like a number that does not exist."""
    world.add(ME, id_number="N0123")
    with pytest.raises(LostDetailsMismatch) as wrong_id:
        world.services.report_lost_sim(ReportLost(FINDER, ME, "X9999", Channel.USSD))
    with pytest.raises(LostDetailsMismatch) as unknown:
        world.services.report_lost_sim(ReportLost(STRANGER, "85511111111", "N0123", Channel.SMS))
    assert str(wrong_id.value) == str(unknown.value)
    assert wrong_id.value.attempts_left == unknown.value.attempts_left == 4
    assert world.services.show_subscriber(ME)["lost"] is None


def test_reporting_attempts_are_limited_per_reporting_phone(world):
    """Five mismatches from one phone lock it out of reporting; other phones are unaffected."""
    world.add(ME, id_number="N0123")
    for _ in range(4):
        with pytest.raises(LostDetailsMismatch):
            world.services.report_lost_sim(ReportLost(STRANGER, ME, "guess", Channel.USSD))
    with pytest.raises(LostReportLocked):
        world.services.report_lost_sim(ReportLost(STRANGER, ME, "guess", Channel.USSD))
    with pytest.raises(LostReportLocked):
        world.services.report_lost_sim(ReportLost(STRANGER, ME, "N0123", Channel.USSD))
    assert world.services.report_lost_sim(ReportLost(FINDER, ME, "N0123", Channel.USSD)).reference


def test_unblock_lifts_the_block(world):
    """The operator lifts the block when a replacement SIM is issued."""
    world.add(ME, id_number="N0123")
    result = world.services.report_lost_sim(ReportLost(FINDER, ME, "N0123", Channel.USSD))
    assert world.services.unblock(ME) == result.reference
    assert world.services.check_balance(ME).lost is False
    assert world.services.show_subscriber(ME)["lost"] is None


def test_consent_changes_are_recorded_with_time_and_channel(world):
    """000 Marketing 2: opting out and back in is stored with when and how."""
    world.add(ME)
    assert world.services.marketing_consent(ME).opt_in is True
    view = world.services.set_marketing_consent(ME, False, Channel.USSD)
    assert view.opt_in is False and view.channel == "ussd" and view.changed_at == world.clock.now()
    world.clock.advance(timedelta(hours=1))
    view = world.services.set_marketing_consent(ME, True, Channel.SMS)
    assert view.opt_in is True and view.channel == "sms"
    world.services.set_marketing_consent(ME, True, Channel.SMS)  # no change, no new event
    assert len(world.sql("SELECT * FROM consent_events")) == 2
