"""``subscribers add --type postpaid --deposit``, ``subscribers import`` with deposits, ``bills import``,
``payments import`` and ``show``'s postpaid block, as subprocesses on profile smart-np
(004_1cabed6f540fdada.txt 7.1-7.7)."""

from __future__ import annotations

NP_ENV = {"GATEWAY_OPERATOR_PROFILE": "smart-np"}


def test_postpaid_line_bill_payment_and_show(gateway):
    """A postpaid line with a deposit, a bill and a payment: show gives DESIGN.md's postpaid block."""
    gateway("subscribers", "add", "9801234567", "--type", "postpaid", "--deposit", "5000", env=NP_ENV)
    bills = gateway.csv("bills.csv", "msisdn,period_start,period_end,issued_on,amount\n"
                                     "+9779801234567,2026-10-01,2026-10-31,2026-11-01,1234.50\n")
    assert gateway("bills", "import", str(bills), env=NP_ENV).stdout.strip() == "imported 1 bill"
    pays = gateway.csv("pay.csv", "msisdn,amount,paid_at,reference\n9801234567,234.50,2026-11-05,RCPT-9\n")
    assert gateway("payments", "import", str(pays), env=NP_ENV).stdout.strip() == "imported 1 payment"
    import json
    shown = json.loads(gateway("subscribers", "show", "9801234567", env=NP_ENV).stdout)
    assert shown["type"] == "postpaid" and shown["state"] == "active"
    assert shown["postpaid"]["deposit"] == {"minor": 500_000, "display": "Rs 5,000.00"}
    assert shown["postpaid"]["dues"] == {"minor": 100_000, "display": "Rs 1,000.00"}
    assert shown["postpaid"]["unbilled"]["minor"] == 0
    assert shown["postpaid"]["bills"] == [{"period_start": "2026-10-01", "period_end": "2026-10-31",
                                           "issued_on": "2026-11-01", "due_on": "2026-11-16",
                                           "amount": {"minor": 123_450, "display": "Rs 1,234.50"},
                                           "paid": False, "disputed": False}]
    assert shown["postpaid"]["notice"] is None


def test_refusals_are_one_line_and_change_nothing(gateway):
    """A repeated reference, a bad bill line, a deposit on a prepaid line: exit 2, nothing written."""
    gateway("subscribers", "add", "9801234567", "--type", "postpaid", "--deposit", "100", env=NP_ENV)
    pays = gateway.csv("pay.csv", "msisdn,amount,paid_at,reference\n9801234567,1,2026-11-05,R1\n")
    gateway("payments", "import", str(pays), env=NP_ENV)
    unchanged = gateway.snapshot()
    assert "line 2: reference 'R1' was imported before" in gateway.refused("payments", "import", str(pays), env=NP_ENV)
    bad = gateway.csv("bills.csv", "msisdn,period_start,period_end,issued_on,amount\n"
                                   "9801234567,2026-10-01,2026-10-31,2026-11-01,10\n"
                                   "9801234567,2026-11-01,2026-11-30,2026-12-01,ten\n")
    assert "line 3" in gateway.refused("bills", "import", str(bad), env=NP_ENV)
    assert "postpaid" in gateway.refused("subscribers", "add", "9801000111", "--deposit", "5", env=NP_ENV)
    unchanged()


def test_subscribers_import_takes_the_type_and_an_optional_deposit(gateway):
    """The CSV of DESIGN.md, plus an optional deposit column for postpaid lines."""
    path = gateway.csv("subs.csv", "msisdn,balance,expires_at,id_number,language,type,deposit\n"
                                   "9801000001,100,,,ne,prepaid,\n9801000002,0,,,en,postpaid,2500.00\n")
    assert "imported 2" in gateway("subscribers", "import", str(path), env=NP_ENV).stdout
    import json
    shown = json.loads(gateway("subscribers", "show", "9801000002", env=NP_ENV).stdout)
    assert shown["postpaid"]["deposit"]["minor"] == 250_000
    prepaid = json.loads(gateway("subscribers", "show", "9801000001", env=NP_ENV).stdout)
    assert "postpaid" not in prepaid and prepaid["language"] == "ne"
