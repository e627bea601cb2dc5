"""Postpaid lines through the services, on both backends: 004_1cabed6f540fdada.txt 7.1-7.7 (smart-np)
and the 1%-a-month late penalty of 000_bae17f1119540322.txt "pay for the Services" (smart-kh)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.domain.errors import BadImportFile, InvalidInput, NotPostpaid

NP = "9779801234567"
OTHER = "9779802000111"


def csv_file(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def bills(world, *lines: str) -> int:
    return world.services.import_bills(csv_file(world.tmp, f"b{len(list(world.tmp.glob('b*.csv')))}.csv",
                                                "msisdn,period_start,period_end,issued_on,amount\n"
                                                + "".join(line + "\n" for line in lines)))


def payments(world, *lines: str) -> int:
    return world.services.import_payments(csv_file(world.tmp, f"p{len(list(world.tmp.glob('p*.csv')))}.csv",
                                                   "msisdn,amount,paid_at,reference\n"
                                                   + "".join(line + "\n" for line in lines)))


def postpaid_line(world, msisdn: str = NP, deposit: str = "1000.00", language: str = "en") -> str:
    return world.add(msisdn, "0", type_="postpaid", deposit=world.money(deposit), language=language)


def outbox(world, kind: str | None = None) -> list[str]:
    found = world.sql("SELECT kind, text FROM sms_outbox ORDER BY id")
    return [row["text"] for row in found if kind is None or row["kind"] == kind]


def test_004_7_4_a_bill_is_due_15_days_after_issue(np_world):
    """The imported bill is due on issue + 15 days; dues and the ledger agree."""
    postpaid_line(np_world)
    assert bills(np_world, f"{NP},2026-10-01,2026-10-31,2026-11-01,500.00") == 1
    shown = np_world.services.show_subscriber(NP)["postpaid"]
    assert shown["bills"][0]["due_on"] == "2026-11-16" and shown["bills"][0]["paid"] is False
    assert shown["dues"] == {"minor": 50_000, "display": "Rs 500.00"}
    assert shown["deposit"]["minor"] == 100_000 and shown["notice"] is None
    np_world.assert_ledger_matches()


def test_004_7_7_exactly_95_percent_of_the_deposit_gives_no_notice(np_world):
    """Dues of exactly 95% are not "more than 95%": no notice, no SMS."""
    postpaid_line(np_world, deposit="1000.00")
    bills(np_world, f"{NP},2026-10-01,2026-10-31,2026-11-01,950.00")
    assert np_world.services.show_subscriber(NP)["postpaid"]["notice"] is None
    assert outbox(np_world) == []


def test_004_7_7_one_paisa_above_95_percent_sends_the_notice_and_discontinues_after_it(np_world):
    """950.01 of 1000: a notice SMS at once; the line is discontinued when the notice runs out."""
    postpaid_line(np_world, deposit="1000.00")
    bills(np_world, f"{NP},2026-10-01,2026-10-31,2026-11-01,950.01")
    shown = np_world.services.show_subscriber(NP)
    assert shown["state"] == "active"
    notice = shown["postpaid"]["notice"]
    assert notice["sent_at"] == "2026-11-01T08:45:00+05:45"
    assert notice["discontinue_on"] == "2026-11-08T08:45:00+05:45"
    [sms] = outbox(np_world, "notification")
    assert "Rs 950.01" in sms and "95%" in sms and "08:45 08/11/2026" in sms
    np_world.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    np_world.services.run_lifecycle()
    assert np_world.services.show_subscriber(NP)["state"] == "active"
    np_world.clock.advance(timedelta(seconds=1))
    report = np_world.services.run_lifecycle()
    assert report.postpaid is not None and report.postpaid.discontinued == 1
    assert np_world.services.show_subscriber(NP)["state"] == "discontinued"
    assert np_world.services.run_lifecycle().postpaid.discontinued == 0  # once
    assert len(outbox(np_world, "notification")) == 2


def test_004_7_7_a_payment_that_brings_the_dues_back_reactivates_the_line(np_world):
    """Discontinued at 960/1000; paying 10.00 (dues 950.00, exactly 95%) reactivates it."""
    postpaid_line(np_world, deposit="1000.00")
    bills(np_world, f"{NP},2026-10-01,2026-10-31,2026-11-01,960.00")
    np_world.clock.advance(timedelta(days=8))
    np_world.services.run_lifecycle()
    assert np_world.services.show_subscriber(NP)["state"] == "discontinued"
    payments(np_world, f"{NP},10.00,2026-11-09,BANK-0001")
    shown = np_world.services.show_subscriber(NP)
    assert shown["state"] == "active" and shown["postpaid"]["notice"] is None
    assert "active again" in outbox(np_world, "notification")[-1]
    np_world.assert_ledger_matches()


def test_004_7_7_dues_falling_back_before_the_notice_ends_keep_the_line(np_world):
    """A payment within the notice withdraws it: the line is never discontinued."""
    postpaid_line(np_world, deposit="1000.00")
    bills(np_world, f"{NP},2026-10-01,2026-10-31,2026-11-01,999.00")
    payments(np_world, f"{NP},999.00,2026-11-02T10:00:00,BANK-7")
    np_world.clock.advance(timedelta(days=30))
    np_world.services.run_lifecycle()
    shown = np_world.services.show_subscriber(NP)
    assert shown["state"] == "active" and shown["postpaid"]["bills"][0]["paid"] is True


def test_payments_settle_bills_oldest_first_and_a_reference_is_used_once(np_world):
    """Two bills, one payment covering the older: it is paid, the newer is not; BANK-1 again is refused."""
    postpaid_line(np_world, deposit="5000.00")
    bills(np_world, f"{NP},2026-09-01,2026-09-30,2026-10-01,300.00",
          f"{NP},2026-10-01,2026-10-31,2026-11-01,400.00")
    payments(np_world, f"{NP},300.00,2026-11-01,BANK-1")
    paid = [b["paid"] for b in np_world.services.show_subscriber(NP)["postpaid"]["bills"]]
    assert paid == [True, False]
    with pytest.raises(BadImportFile, match="line 2: reference 'BANK-1' was imported before"):
        payments(np_world, f"{NP},400.00,2026-11-01,BANK-1")
    with pytest.raises(BadImportFile, match="line 3: reference 'BANK-2' repeats line 2"):
        payments(np_world, f"{NP},1.00,2026-11-01,BANK-2", f"{NP},1.00,2026-11-01,BANK-2")
    assert np_world.services.show_subscriber(NP)["postpaid"]["dues"]["minor"] == 40_000
    np_world.assert_ledger_matches()


@pytest.mark.parametrize("line,message", [
    (f"{NP},2026-10-01,2026-10-31,2026-11-01,12.345", "decimals"),
    (f"{NP},2026-10-31,2026-10-01,2026-11-01,12.00", "period_end is before period_start"),
    (f"{NP},2026-10-01,2026-10-31,01/11/2026,12.00", "issued_on is not a date"),
    (f"{OTHER},2026-10-01,2026-10-31,2026-11-01,12.00", "not a postpaid line"),
    ("9779899999999,2026-10-01,2026-10-31,2026-11-01,12.00", "unknown number"),
    (f"{NP},2026-09-01,2026-09-30,2026-10-01,1.00", "already has a bill"),
])
def test_a_bad_bill_line_names_its_line_and_imports_nothing(np_world, line, message):
    """Line 3 is bad: line 2's bill is not imported either, and no SMS is queued."""
    postpaid_line(np_world, deposit="10.00")
    np_world.add(OTHER, "5")
    good = f"{NP},2026-09-01,2026-09-30,2026-10-01,100.00"
    with pytest.raises(BadImportFile, match=f"line 3: .*{message}"):
        bills(np_world, good, line)
    assert np_world.services.show_subscriber(NP)["postpaid"]["bills"] == []
    assert outbox(np_world) == []
    np_world.assert_ledger_matches()


def test_reminders_before_the_due_day_are_sent_once_each(np_world):
    """3 and 1 days before the due day (Kathmandu days), each once; none once the bill is paid."""
    postpaid_line(np_world, deposit="5000.00")
    bills(np_world, f"{NP},2026-10-01,2026-10-31,2026-11-01,100.00")  # due 16/11
    np_world.clock.set(datetime(2026, 11, 12, 18, 14, tzinfo=UTC))  # 23:59 on 12/11 in Kathmandu
    assert np_world.services.run_lifecycle().postpaid.reminders == 0
    np_world.clock.set(datetime(2026, 11, 12, 18, 15, tzinfo=UTC))  # 00:00 on 13/11: 3 days before
    assert np_world.services.run_lifecycle().postpaid.reminders == 1
    assert np_world.services.run_lifecycle().postpaid.reminders == 0
    np_world.clock.set(datetime(2026, 11, 14, 18, 15, tzinfo=UTC))  # 15/11: 1 day before
    assert np_world.services.run_lifecycle().postpaid.reminders == 1
    [first, second] = outbox(np_world, "reminder")
    assert "Rs 100.00" in first and "16/11/2026" in second


def test_a_prepaid_line_has_no_bill_and_a_deposit_is_for_postpaid_lines(np_world):
    """check_bill on a prepaid line is refused; --deposit on a prepaid line is refused."""
    np_world.add(OTHER, "5")
    with pytest.raises(NotPostpaid):
        np_world.services.check_bill(OTHER)
    with pytest.raises(InvalidInput, match="postpaid"):
        np_world.add("9779803000333", "0", deposit=np_world.money("10"))


def test_000_late_penalty_of_1_percent_a_month_on_smart_kh(world):
    """smart-kh: an unpaid $50.00 bill is charged $0.50 from the day after its due day, $0.50 more a month on."""
    me = "85512345678"
    world.add(me, "0", type_="postpaid")
    path = world.tmp / "kh-bills.csv"
    path.write_text("msisdn,period_start,period_end,issued_on,amount\n"
                    f"{me},2026-10-01,2026-10-31,2026-11-01,50.00\n")  # due 16/11 (profile: 15 days)
    world.services.import_bills(path)
    world.clock.set(datetime(2026, 11, 16, 16, 59, tzinfo=UTC))  # 23:59 on the due day, Phnom Penh
    assert world.services.check_bill(me).penalties.minor == 0
    world.clock.set(datetime(2026, 11, 16, 17, 0, tzinfo=UTC))  # midnight: overdue
    view = world.services.check_bill(me)
    assert view.overdue and view.penalties.minor == 50 and view.dues.minor == 5_050
    world.services.run_lifecycle()
    world.services.run_lifecycle()
    world.clock.set(datetime(2026, 12, 16, 17, 0, tzinfo=UTC))
    world.services.run_lifecycle()
    shown = world.services.show_subscriber(me)["postpaid"]
    assert shown["dues"]["minor"] == 5_000 + 50 + 51  # the second month on 50.50
    assert shown["bills"][0]["late_penalty"]["minor"] == 101
    world.assert_ledger_matches()


def test_004_7_3_and_7_6_a_bill_takes_the_unbilled_usage_of_its_period_and_the_statement_charge(np_world):
    """The November bill bills the usage started up to its last Kathmandu second (priced into its amount)
    and takes the Rs 50.00 statement charge "added to the next bill" onto its amount; December's usage
    stays unbilled. Dues and unbilled equal the ledger."""
    from gateway.domain.channels import Channel

    np_world.clock.set(datetime(2026, 11, 10, 4, 15, tzinfo=UTC))  # 10:00 in Kathmandu
    postpaid_line(np_world, deposit="5000.00")
    bills(np_world, f"{NP},2026-10-01,2026-10-31,2026-11-01,100.00")
    assert np_world.services.ask_statement(NP, Channel.SMS).charged  # Rs 50.00 on the next bill
    np_world.clock.set(datetime(2026, 12, 2, 4, 15, tzinfo=UTC))
    usage = csv_file(np_world.tmp, "usage.csv", "msisdn,started_at,kind,quantity\n"
                     f"{NP},2026-11-30T23:59:59+05:45,voice,60\n"   # November's last second
                     f"{NP},2026-12-01T00:00:00+05:45,voice,60\n")  # December
    report = np_world.services.import_usage(usage)
    minute = report.unbilled.minor // 2
    shown = np_world.services.show_subscriber(NP)["postpaid"]
    assert shown["unbilled"]["minor"] == 5_000 + 2 * minute
    bills(np_world, f"{NP},2026-11-01,2026-11-30,2026-12-01,300.00")
    shown = np_world.services.show_subscriber(NP)["postpaid"]
    assert [b["amount"]["minor"] for b in shown["bills"]] == [10_000, 35_000]  # Rs 300.00 + the Rs 50.00
    assert shown["unbilled"]["minor"] == minute  # December's call only
    assert shown["dues"]["minor"] == 45_000
    kinds = np_world.sql("SELECT delta_minor FROM ledger WHERE kind = 'billed' ORDER BY id")
    assert sorted(r[0] for r in kinds) == sorted([-minute, -5_000])
    np_world.assert_ledger_matches()
    bills(np_world, f"{NP},2026-12-01,2026-12-31,2027-01-01,10.00")  # a later bill takes no charge twice
    shown = np_world.services.show_subscriber(NP)["postpaid"]
    assert shown["bills"][-1]["amount"]["minor"] == 1_000 and shown["unbilled"]["minor"] == 0
    np_world.assert_ledger_matches()
