"""``subscribers add|show|unblock`` and ``promo grant``, as an operator runs them."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from gateway.clock import FixedClock
from gateway.domain.channels import Channel
from tests.support.cli import Gateway
from tests.support.world import make_world


class TestAddAndShow:
    def test_show_prints_the_design_shape_in_the_operator_time_zone(self, gateway: Gateway) -> None:
        """A subscriber added with a balance and expiry shows them as DESIGN.md's JSON, times at +07:00."""
        out = gateway("subscribers", "add", "012 345 678", "--balance", "6.00",
                      "--expires-at", "2099-12-22T10:00:00Z", "--language", "KM").stdout
        assert out.strip() == "added 85512345678"

        shown = gateway.show("+85512345678")

        assert shown["msisdn"] == "85512345678"
        assert shown["type"] == "prepaid"
        assert shown["language"] == "km"
        assert shown["state"] == "active"
        assert shown["balances"] == {
            "main": {"minor": 600, "display": "$6.00", "expires_at": "2099-12-22T17:00:00+07:00"},
            "promo": {"minor": 0, "display": "$0.00", "expires_at": None},
        }
        assert shown["restorable"]["minor"] == 0 and shown["restorable"]["until"] is None
        assert shown["lost"] is None
        assert shown["marketing_opt_in"] is True

    def test_default_validity_and_postpaid(self, gateway: Gateway) -> None:
        """Without dates a prepaid line gets the profile's 30 days; a postpaid line has no expiry."""
        gateway("subscribers", "add", "012000001", "--valid-days", "10")
        gateway("subscribers", "add", "012000002")
        gateway("subscribers", "add", "012000003", "--type", "postpaid", "--balance", "1")
        ten = datetime.fromisoformat(gateway.show("012000001")["balances"]["main"]["expires_at"])
        thirty = datetime.fromisoformat(gateway.show("012000002")["balances"]["main"]["expires_at"])
        postpaid = gateway.show("012000003")

        assert ten.utcoffset() == timedelta(hours=7)
        assert abs(ten - datetime.now(UTC) - timedelta(days=10)) < timedelta(minutes=5)
        assert abs(thirty - datetime.now(UTC) - timedelta(days=30)) < timedelta(minutes=5)
        assert postpaid["type"] == "postpaid" and postpaid["state"] == "active"
        assert postpaid["balances"]["main"] == {"minor": 100, "display": "$1.00", "expires_at": None}

    @pytest.mark.parametrize(
        ("days_ago", "state", "restorable"),
        [(3, "outgoing_barred", 250), (70, "fully_barred", 0), (100, "recycled", 0)],
    )
    def test_expiry_in_the_past_gives_the_migrated_state(
        self, gateway: Gateway, days_ago: int, state: str, restorable: int
    ) -> None:
        """A subscriber migrated with a past expiry is as barred as they were, funds expired or restorable."""
        moment = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
        gateway("subscribers", "add", "012345678", "--balance", "2.50", "--expires-at", moment)

        shown = gateway.show("012345678")

        assert shown["state"] == state
        assert shown["balances"]["main"]["minor"] == 0
        assert shown["restorable"]["minor"] == restorable


class TestPromoAndUnblock:
    def test_promo_grant_adds_a_separate_expiring_balance(self, gateway: Gateway) -> None:
        """A promotional grant shows in the promo balance with its own expiry, main untouched."""
        gateway("subscribers", "add", "012345678", "--balance", "1")
        out = gateway("promo", "grant", "012345678", "1.50", "--valid-days", "5").stdout
        gateway("promo", "grant", "012345678", "0.25")

        shown = gateway.show("012345678")

        assert "granted $1.50 to 85512345678" in out
        assert shown["balances"]["main"]["minor"] == 100
        assert shown["balances"]["promo"]["minor"] == 175
        assert shown["balances"]["promo"]["display"] == "$1.75"
        promo_expiry = datetime.fromisoformat(shown["balances"]["promo"]["expires_at"])
        assert abs(promo_expiry - datetime.now(UTC) - timedelta(days=5)) < timedelta(minutes=5)

    def test_unblock_lifts_a_lost_report(self, gateway: Gateway) -> None:
        """Unblocking closes the open lost report: show goes from lost to null, a second unblock is refused."""
        gateway("subscribers", "add", "012345678")
        conn = sqlite3.connect(gateway.db)
        with conn:
            conn.execute(
                "INSERT INTO lost_reports (subscriber_id, reference, reported_at, reporter_msisdn, channel) "
                "SELECT id, 'L-1234', '2026-01-01T00:00:00.000000+00:00', '85512000000', 'sms' FROM subscribers"
            )
        conn.close()
        assert gateway.show("012345678")["lost"] == {
            "reported_at": "2026-01-01T07:00:00+07:00", "reference": "L-1234"}

        out = gateway("subscribers", "unblock", "012345678").stdout

        assert "L-1234" in out
        assert gateway.show("012345678")["lost"] is None
        assert "not blocked" in gateway.refused("subscribers", "unblock", "012345678")

    def test_unlock_lifts_the_lost_sim_guessing_lock(self, gateway: Gateway) -> None:
        """A number whose lost-SIM reports are locked (a stranger's guesses) is unlocked by customer care:
        the output says which lock it lifted and until when it held; a second unlock finds none."""
        gateway("subscribers", "add", "012345678")
        conn = sqlite3.connect(gateway.db)
        with conn:
            conn.execute("INSERT INTO locks (kind, key, locked_until) "
                         "VALUES ('lost-number', '85512345678', '2999-01-01T00:00:00.000000+00:00')")
        conn.close()

        out = gateway("subscribers", "unlock", "012345678").stdout

        assert out.splitlines() == [
            "unlocked 85512345678: lost-SIM reports naming this number (locked until 2999-01-01T07:00:00+07:00)"]
        assert gateway("subscribers", "unlock", "+85512345678").stdout.splitlines() == [
            "85512345678: no lost-SIM lock to lift (mismatch counts start again)"]
        assert "'12'" in gateway.refused("subscribers", "unlock", "12")


class TestRefusals:
    def test_malformed_numbers(self, gateway: Gateway) -> None:
        """A number that is not a +855 phone number is refused, named, and nothing is written."""
        gateway("db", "migrate")
        unchanged = gateway.snapshot()

        for number in ("12", "abc", "+44 20 7946 0958", "0123456789012"):
            assert repr(number) in gateway.refused("subscribers", "add", number)
        unchanged()

    def test_malformed_amounts(self, gateway: Gateway) -> None:
        """Amounts with too many decimals, signs, exponents, words or non-ASCII digits are refused."""
        gateway("subscribers", "add", "012345678")
        unchanged = gateway.snapshot()

        for amount in ("2.505", "-1", "1e3", "abc", "", "1,000", "١٠"):
            assert "amount" in gateway.refused("subscribers", "add", "012345679", "--balance", amount)
        for amount in ("2.505", "0"):
            assert "amount" in gateway.refused("promo", "grant", "012345678", amount)
        unchanged()

    def test_duplicate_and_unknown_numbers(self, gateway: Gateway) -> None:
        """Adding a live number again, or acting on one never added, is refused by number."""
        gateway("subscribers", "add", "012345678", "--balance", "3")
        unchanged = gateway.snapshot()

        assert "85512345678 already exists" in gateway.refused("subscribers", "add", "+855 12 345 678")
        for command in (("subscribers", "show"), ("subscribers", "unblock")):
            assert "unknown number 85512999999" in gateway.refused(*command, "012999999")
        assert "unknown number 85512999999" in gateway.refused("promo", "grant", "012999999", "1")
        unchanged()

    def test_bad_options(self, gateway: Gateway) -> None:
        """Conflicting validities, bad dates, languages and ID numbers: one line each, nothing written."""
        unchanged = gateway.snapshot()
        message = gateway.refused("subscribers", "add", "012345678", "--valid-days", "3",
                                  "--expires-at", "2030-01-01")
        assert "--valid-days" in message

        for args in (("--expires-at", "next tuesday"), ("--language", "fr"), ("--valid-days", "0"),
                     ("--id-number", "X" * 40), ("--type", "hybrid")):
            gateway.refused("subscribers", "add", "012345678", *args)
        unchanged()


class TestShowContract:
    """DESIGN.md "subscribers show": recycled numbers, ``--now`` and the consent history."""

    def test_recycled_number_is_shown_until_added_again(self, gateway: Gateway) -> None:
        """A recycled number shows state recycled with its zeroed balances, then the new subscriber once re-added."""
        gateway("subscribers", "add", "012345678", "--balance", "9", "--expires-at", "2030-01-01T00:00:00+07:00")
        gateway("lifecycle", "run", "--now", "2031-01-01T00:00:00+07:00")

        shown = gateway.show("012345678")

        assert shown["msisdn"] == "85512345678"
        assert shown["state"] == "recycled"
        assert shown["balances"]["main"]["minor"] == 0
        assert shown["recycled_at"] == "2030-04-01T00:00:00+07:00"
        assert shown["next_deadline"] is None

        gateway("subscribers", "add", "012345678", "--balance", "1")
        again = gateway.show("012345678")
        assert again["state"] == "active" and again["recycled_at"] is None
        assert again["balances"]["main"]["minor"] == 100

    def test_now_evaluates_the_state_at_that_time_and_writes_nothing(self, gateway: Gateway) -> None:
        """After a future lifecycle run, show --now at that time gives the barred state and restorable funds."""
        gateway("subscribers", "add", "012345678", "--balance", "5", "--expires-at", "2030-01-01T00:00:00+07:00")
        gateway("lifecycle", "run", "--now", "2030-01-03T00:00:00+07:00")
        unchanged = gateway.snapshot()

        at = json.loads(gateway("subscribers", "show", "012345678", "--now", "2030-01-03T00:00:00+07:00").stdout)
        later = json.loads(gateway("subscribers", "show", "012345678", "--now", "2030-04-01T00:00:00+07:00").stdout)

        assert at["state"] == "outgoing_barred"
        assert at["balances"]["main"]["minor"] == 0
        assert at["restorable"]["minor"] == 500
        assert at["next_deadline"] == "2030-03-02T00:00:00+07:00"
        assert later["state"] == "recycled"
        assert "offset" in gateway.refused("subscribers", "show", "012345678", "--now", "2030-01-03T00:00:00")
        unchanged()

    def test_consent_history_newest_first_with_channel(self, gateway: Gateway) -> None:
        """Opt-outs and opt-ins by USSD and SMS are listed newest first with their channel and time."""
        gateway("subscribers", "add", "012345678")
        assert gateway.show("012345678")["consent"] == []
        world = make_world(gateway.tmp, FixedClock(datetime(2026, 11, 2, 3, 0, tzinfo=UTC)))
        try:
            world.services.set_marketing_consent("85512345678", False, Channel.USSD)
            world.clock.advance(timedelta(hours=1))
            world.services.set_marketing_consent("85512345678", True, Channel.SMS)
        finally:
            world.services.ctx.store.close()

        shown = gateway.show("012345678")

        assert shown["marketing_opt_in"] is True
        assert shown["consent"] == [
            {"opt_in": True, "channel": "sms", "at": "2026-11-02T11:00:00+07:00"},
            {"opt_in": False, "channel": "ussd", "at": "2026-11-02T10:00:00+07:00"},
        ]
