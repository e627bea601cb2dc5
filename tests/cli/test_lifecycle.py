"""``lifecycle run`` and ``db migrate``: time moves the accounts and lines forward."""

from __future__ import annotations

import json
import sqlite3

from gateway.store.migrations import available
from tests.support.cli import Gateway


def test_migrate_creates_the_schema_and_is_repeatable(gateway: Gateway) -> None:
    """db migrate creates the database file at the latest version, and running it again is harmless."""
    first = gateway("db", "migrate").stdout
    second = gateway("db", "migrate").stdout

    latest = available()[-1].VERSION
    assert first == second
    assert first.startswith(f"schema at version {latest} ") and str(gateway.db) in first


def test_run_now_is_idempotent(gateway: Gateway) -> None:
    """A run at a given time expires what is due; a second run at the same time reports no changes."""
    gateway("subscribers", "add", "012000001", "--balance", "4", "--expires-at", "2030-01-10")
    gateway("subscribers", "add", "012000002", "--balance", "1", "--expires-at", "2031-01-01")
    now = "2030-01-12T00:00:00+07:00"

    first = json.loads(gateway("lifecycle", "run", "--now", now).stdout)
    second = json.loads(gateway("lifecycle", "run", "--now", now).stdout)

    assert first["now"] == "2030-01-11T17:00:00+00:00"
    assert (first["settled"], first["expired"], first["recycled"]) == (1, 1, 0)
    assert {k: v for k, v in second.items() if k != "now"} == dict.fromkeys(
        ("settled", "expired", "forfeited", "promo_expired", "recycled", "reminders", "postpaid_penalties",
         "postpaid_notices", "postpaid_discontinued", "postpaid_reactivated", "postpaid_reminders"), 0)


def test_recycled_number_is_added_again_afresh(gateway: Gateway) -> None:
    """After recycling, the number shows as recycled until re-added, then starts with fresh balances and consent."""
    gateway("subscribers", "add", "012345678", "--balance", "9", "--expires-at", "2030-01-01")
    gateway("promo", "grant", "012345678", "2")
    conn = sqlite3.connect(gateway.db)
    with conn:
        conn.execute("UPDATE subscribers SET marketing_opt_in = 0")  # the old owner opted out
    conn.close()

    report = json.loads(gateway("lifecycle", "run", "--now", "2031-01-01T00:00:00+07:00").stdout)
    assert report["recycled"] == 1
    assert gateway.show("012345678")["state"] == "recycled"

    gateway("subscribers", "add", "012345678", "--balance", "0.50", "--valid-days", "30")
    shown = gateway.show("012345678")

    assert shown["state"] == "active"
    assert shown["balances"]["main"]["minor"] == 50
    assert shown["balances"]["promo"]["minor"] == 0
    assert shown["restorable"]["minor"] == 0
    assert shown["marketing_opt_in"] is True


def test_now_must_carry_an_offset(gateway: Gateway) -> None:
    """--now without an offset, or not a time at all, is refused in one line, changing nothing."""
    unchanged = gateway.snapshot()
    assert "offset" in gateway.refused("lifecycle", "run", "--now", "2030-01-01T00:00:00")
    assert "ISO-8601" in gateway.refused("lifecycle", "run", "--now", "soon")
    unchanged()
