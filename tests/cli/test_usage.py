"""``usage import`` and ``subscribers reissue`` as an operator runs them (real subprocesses, a real SQLite file)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.support.cli import Gateway

ME = "85512345678"
HEADER = "msisdn,started_at,kind,quantity\n"
NP = {"GATEWAY_OPERATOR_PROFILE": "smart-np"}


def test_usage_import_prints_what_was_charged_and_what_the_network_would_have_refused(gateway: Gateway) -> None:
    gateway("subscribers", "add", ME, "--balance", "0.07")
    path = gateway.csv("u.csv", HEADER + f"{ME},2026-01-01T08:00:00+07:00,voice,120\n"
                                         f"{ME},2026-01-01T09:00:00+07:00,sms,1\n")
    out = json.loads(gateway("usage", "import", str(path)).stdout)
    assert out["imported"] == 2 and out["charged"]["display"] == "$0.07"
    assert out["short"] == {"records": 1, "uncharged": {"minor": 3, "display": "$0.03"}}
    assert out["refused"] == {"records": 1, "minor": 3, "display": "$0.03"}
    assert gateway.show(ME)["balances"]["main"]["minor"] == 0


def test_a_file_imported_twice_is_refused_with_one_line_and_changes_nothing(gateway: Gateway) -> None:
    gateway("subscribers", "add", ME, "--balance", "1.00")
    path = gateway.csv("u.csv", HEADER + f"{ME},2026-01-01T08:00:00+07:00,sms,1\n")
    gateway("usage", "import", str(path))
    unchanged = gateway.snapshot()
    line = gateway.refused("usage", "import", str(path))
    assert "line 2: record seen before (imported " in line
    unchanged()


def test_a_bad_line_is_named_and_nothing_is_imported(gateway: Gateway) -> None:
    gateway("subscribers", "add", ME, "--balance", "1.00")
    path = gateway.csv("u.csv", HEADER + f"{ME},2026-01-01T08:00:00+07:00,sms,1\n{ME},2026-01-01T08:00:00,fax,1\n")
    unchanged = gateway.snapshot()
    assert "line 3: kind must be voice, sms or data" in gateway.refused("usage", "import", str(path))
    unchanged()


def test_reissue_gives_a_deactivated_line_back_and_refuses_after_the_window(gateway: Gateway) -> None:
    """004 3(B).12 on smart-np: unused six months, deactivated; reissued for Rs 100.00 within 180 days."""
    n = "9801234567"
    gateway("subscribers", "add", n, "--balance", "500.00", "--valid-days", "900", env=NP)
    # Added now (the real clock); seven months later, unused, it is deactivated.
    later = (datetime.now(UTC) + timedelta(days=214)).isoformat()
    gateway("lifecycle", "run", "--now", later, env=NP)
    added = json.loads(gateway("subscribers", "show", n, "--now", later, env=NP).stdout)
    assert added["state"] == "deactivated" and added["deactivated_at"] is not None
    unchanged = gateway.snapshot()
    too_late = (datetime.now(UTC) + timedelta(days=420)).isoformat()
    line = gateway.refused("subscribers", "reissue", n, "--now", too_late, env=NP)
    assert "reissue window ended" in line
    unchanged()
    out = gateway("subscribers", "reissue", n, "--now", later, env=NP).stdout
    assert out.startswith("reissued 9779801234567 for Rs 100.00")
    shown = json.loads(gateway("subscribers", "show", n, "--now", later, env=NP).stdout)
    assert shown["state"] == "active" and shown["balances"]["main"]["minor"] == 40000


def test_reissue_is_refused_where_the_profile_has_no_inactivity_rule(gateway: Gateway) -> None:
    gateway("subscribers", "add", ME)
    assert "has no inactivity deactivation" in gateway.refused("subscribers", "reissue", ME)
