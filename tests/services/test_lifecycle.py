"""Rule 5 through the job: expiry, barring, recycling, reminders; idempotent."""

from datetime import timedelta

import pytest

from gateway.domain.channels import Channel
from gateway.domain.errors import NumberRecycled, UnknownSubscriber

ME = "85512345678"


def test_states_move_with_time_and_a_topup_reactivates(world):
    """Outgoing barred at expiry, fully barred at 60 days, and active again after a top-up."""
    world.add(ME, "3.00", valid_days=1)
    [pin] = world.vouchers()
    world.clock.advance(timedelta(days=2))
    assert world.services.show_subscriber(ME)["state"] == "outgoing_barred"
    world.clock.advance(timedelta(days=60))
    assert world.services.show_subscriber(ME)["state"] == "fully_barred"
    from gateway.services.model import TopUp

    world.services.top_up(TopUp(ME, pin, Channel.USSD))
    shown = world.services.show_subscriber(ME)
    assert shown["state"] == "active" and shown["balances"]["main"]["minor"] == 500  # $3 forfeited long ago


def test_run_is_idempotent_and_matches_the_ledger(world):
    """A second run at the same time changes nothing; balances always equal the ledger."""
    world.add(ME, "6.00", valid_days=1)
    world.add("85512345679", "1.00", valid_days=100)
    world.services.grant_promo("85512345679", world.money("2"), 5)
    world.clock.advance(timedelta(days=10))
    first = world.services.run_lifecycle()
    assert (first.expired, first.forfeited, first.promo_expired) == (1, 1, 1)
    second = world.services.run_lifecycle()
    assert (second.settled, second.expired, second.forfeited, second.recycled, second.reminders) == (0, 0, 0, 0, 0)
    world.assert_ledger_matches()


def test_recycling_closes_the_account_and_frees_the_number(world):
    """After 90 days the number is recycled; a new subscriber on it starts fresh."""
    world.add(ME, "6.00", valid_days=1)
    world.services.set_marketing_consent(ME, False, Channel.USSD)
    world.clock.advance(timedelta(days=92))
    report = world.services.run_lifecycle()
    assert report.recycled == 1
    with pytest.raises(NumberRecycled):
        world.services.check_balance(ME)
    world.assert_ledger_matches()
    world.add(ME, "0.00")
    fresh = world.services.show_subscriber(ME)
    assert fresh["state"] == "active" and fresh["marketing_opt_in"] is True
    assert fresh["balances"]["main"]["minor"] == 0 and fresh["restorable"]["minor"] == 0
    assert len(world.sql("SELECT * FROM subscribers WHERE msisdn = ?", ME)) == 2  # history kept


def test_reminders_are_queued_once_per_cycle(world):
    """Expiry soon, barred, about to be recycled: each reminder once."""
    world.add(ME, "6.00", valid_days=2)
    world.services.run_lifecycle()
    world.services.run_lifecycle()
    world.clock.advance(timedelta(days=3))
    world.services.run_lifecycle()
    world.clock.advance(timedelta(days=61))
    world.services.run_lifecycle()
    world.services.run_lifecycle()
    kinds = [row["dedupe_key"].split(":")[2] for row in world.sql("SELECT dedupe_key FROM sms_outbox ORDER BY id")]
    assert kinds == ["expiry", "barred", "recycle_warning"]


def test_unknown_number_is_refused(world):
    """Reading a number that was never ours is refused, not an empty balance."""
    with pytest.raises(UnknownSubscriber):
        world.services.check_balance("85500000000")
