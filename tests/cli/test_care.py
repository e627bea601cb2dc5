"""``disputes list|resolve`` and ``complaints list|close`` as an operator runs them (smart-np, real subprocesses).

seeds/004_1cabed6f540fdada.txt 9.3: resolving tells the subscriber the final bill by SMS; 9.1, 10.1:
closing answers the complaint by SMS. Bad input: exit 2, one line, nothing changed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.clock import FixedClock
from gateway.domain.channels import Channel
from tests.support.care import give_bill, postpaid_line
from tests.support.cli import PIN_SECRET, Gateway
from tests.support.world import open_services

NP = {"GATEWAY_OPERATOR_PROFILE": "smart-np"}
ME = "9779801234567"
KTM = ZoneInfo("Asia/Kathmandu")


@pytest.fixture
def cases(gateway: Gateway) -> dict[str, str]:
    """A billed postpaid line with its bill disputed and a complaint, written by the services into the CLI's
    database."""
    gateway.migrated()
    services = open_services(gateway.db, FixedClock(datetime.now(UTC)), "smart-np", pin_secret=PIN_SECRET,
                             texts=False)
    store = services.ctx.store
    today = datetime.now(KTM).date()
    postpaid_line(services, ME, 500_000)
    give_bill(services, ME, date(2026, 1, 1), date(2026, 1, 31), today, 123_450)
    dispute = services.dispute_bill(ME, "not my calls", Channel.SMS).reference
    complaint = services.file_complaint(ME, "No signal in Patan", Channel.SMS).reference
    store.close()
    return {"dispute": dispute, "complaint": complaint}


def outbox(gateway: Gateway) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(gateway.db)
    try:
        return [r[0] for r in conn.execute("SELECT text FROM sms_outbox WHERE destination = ? ORDER BY id", (ME,))]
    finally:
        conn.close()


class TestDisputes:
    def test_list_shows_the_dispute_with_both_deadlines(self, gateway: Gateway, cases: dict[str, str]) -> None:
        [row] = json.loads(gateway("disputes", "list", "--open", env=NP).stdout)
        assert row["reference"] == cases["dispute"] and row["status"] == "open" and row["msisdn"] == ME
        assert row["amount"] == {"minor": 123_450, "display": "Rs 1,234.50"} and row["reason"] == "not my calls"
        raised = datetime.fromisoformat(row["raised_at"])
        assert raised.utcoffset() is not None and raised.utcoffset().total_seconds() == 5 * 3600 + 45 * 60
        own, other = (datetime.fromisoformat(row["settle_by"][k]) for k in ("own_network", "other_provider"))
        assert (own - raised).days == 7 and (other - raised).days == 45

    def test_resolve_upheld_with_a_credit_tells_the_final_bill(self, gateway: Gateway, cases: dict[str, str]) -> None:
        """9.3: the final bill (disputed less the credit) goes to the subscriber by SMS."""
        out = gateway("disputes", "resolve", cases["dispute"], "--upheld", "--credit", "234.50",
                      "--note", "roaming refunded", env=NP).stdout
        assert out.strip() == (f"{cases['dispute']} upheld: credit Rs 234.50, final bill Rs 1,000.00; "
                               "9801234567 told by SMS")
        [sms] = outbox(gateway)
        assert "Rs 1,000.00" in sms and "roaming refunded" in sms
        assert json.loads(gateway("disputes", "list", "--open", env=NP).stdout) == []
        [row] = json.loads(gateway("disputes", "list", env=NP).stdout)
        assert (row["status"], row["credit"]["minor"], row["final"]["minor"], row["late"]) == ("upheld", 23_450,
                                                                                              100_000, False)

    @pytest.mark.parametrize("args", [
        ("--rejected", "--credit", "1"),           # a rejection credits nothing
        ("--upheld", "--credit", "1234.51"),       # more than disputed
        ("--upheld", "--credit", "1.234"),         # three decimals
        ("--upheld", "--credit", "0"),             # nothing
        ("--upheld", "--rejected"),                # both
        (),                                        # neither
    ])
    def test_bad_resolutions_are_refused_and_change_nothing(self, gateway: Gateway, cases: dict[str, str],
                                                            args: tuple[str, ...]) -> None:
        unchanged = gateway.snapshot()
        gateway.refused("disputes", "resolve", cases["dispute"], *args, env=NP)
        unchanged()

    def test_an_unknown_or_settled_reference_is_refused(self, gateway: Gateway, cases: dict[str, str]) -> None:
        unchanged = gateway.snapshot()
        assert "DP-AAAA-AAAA" in gateway.refused("disputes", "resolve", "DP-AAAA-AAAA", "--rejected", env=NP)
        unchanged()
        gateway("disputes", "resolve", cases["dispute"], "--rejected", env=NP)
        unchanged = gateway.snapshot()
        assert "rejected already" in gateway.refused("disputes", "resolve", cases["dispute"], "--upheld", env=NP)
        unchanged()
        assert len(outbox(gateway)) == 1

    def test_a_profile_without_disputes_refuses_the_command(self, gateway: Gateway) -> None:
        """smart-kh has no [dispute] table: the command says so in one line."""
        assert "does not offer dispute" in gateway.refused("disputes", "list")


class TestComplaints:
    def test_list_and_close_answer_by_sms(self, gateway: Gateway, cases: dict[str, str]) -> None:
        [row] = json.loads(gateway("complaints", "list", "--open", env=NP).stdout)
        assert (row["reference"], row["text"], row["status"]) == (cases["complaint"], "No signal in Patan", "open")
        out = gateway("complaints", "close", cases["complaint"].lower(), "--note", "Tower repaired", env=NP).stdout
        assert out.strip() == f"{cases['complaint']} closed; 9801234567 answered by SMS"
        assert outbox(gateway) == [f"Answer to your complaint {cases['complaint']}: Tower repaired"]
        assert json.loads(gateway("complaints", "list", "--open", env=NP).stdout) == []

    @pytest.mark.parametrize("args", [("--note", "   "), (), ("--note",)])
    def test_close_without_an_answer_is_refused(self, gateway: Gateway, cases: dict[str, str],
                                                args: tuple[str, ...]) -> None:
        unchanged = gateway.snapshot()
        gateway.refused("complaints", "close", cases["complaint"], *args, env=NP)
        unchanged()

    def test_closing_twice_or_an_unknown_one_is_refused(self, gateway: Gateway, cases: dict[str, str]) -> None:
        gateway("complaints", "close", cases["complaint"], "--note", "done", env=NP)
        unchanged = gateway.snapshot()
        gateway.refused("complaints", "close", cases["complaint"], "--note", "again", env=NP)
        gateway.refused("complaints", "close", "CP-AAAA-AAAA", "--note", "x", env=NP)
        unchanged()
