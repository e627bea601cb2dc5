"""The written requests of seeds/004_1cabed6f540fdada.txt through the services, on both backends (smart-np).

7.6 detailed statements, 3(B).4 and 9.3 bill disputes, 9.1 and 10.1 written
complaints, 5.1(b) number change. Day limits are Kathmandu's (UTC+05:45).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gateway.clock import FixedClock
from gateway.domain.channels import Channel
from gateway.domain.errors import (
    ArrearsOutstanding,
    CaseClosed,
    ComplaintTooLong,
    EmptyComplaint,
    LineLost,
    NoBill,
    NotPostpaid,
    StatementRefused,
    UnknownReference,
)
from gateway.domain.money import Money
from gateway.profile import load_profile
from gateway.services.care import NotOffered
from gateway.services.model import ReportLost
from menus.replies import Replies
from menus.texts import Catalog
from tests.support.care import give_bill, pay, postpaid_line
from tests.support.care_world import AMOUNT, DEPOSIT, FINDER, ISSUED, ME, PERIOD, PREPAID, SECOND, ktm, open_care_world
from tests.support.world import open_services

#: smart-np services on a fresh database of each backend, a billed postpaid line and a prepaid one.
world = pytest.fixture(open_care_world, name="world")


class TestStatement_004_clause_7_6:
    def test_accepted_the_charge_goes_on_the_next_bill_as_unbilled_and_the_lines_by_sms(self, world):
        """Accepted: a reference, Rs 50.00 (the profile's charge) on the unbilled bucket by a ledger row, an SMS."""
        before = world.line()
        result = world.services.ask_statement(ME, Channel.SMS)
        assert result.reference.startswith("ST-") and result.charged
        assert (result.period_start, result.period_end, result.issued_on) == (*PERIOD, ISSUED)
        assert result.charge == Money(5000, world.services.profile.currency)
        assert world.line() == {**before, "unbilled": before["unbilled"] + 5000}  # not the dues: not billed yet
        kinds = world.sql("SELECT kind, bucket, delta_minor, reference FROM ledger WHERE kind = 'statement_charge'")
        assert [tuple(r) for r in kinds] == [("statement_charge", "unbilled", 5000, result.reference)]
        sms = world.outbox()
        assert len(sms) == result.messages == 1 and result.reference in sms[0]
        world.assert_ledger_matches()

    def test_asking_again_sends_it_again_and_charges_once(self, world):
        """A second STATEMENT of the same bill: the same reference, sent again, no second charge."""
        first = world.services.ask_statement(ME, Channel.SMS)
        again = world.services.ask_statement(ME, Channel.USSD)
        assert again.reference == first.reference and not again.charged
        assert world.line()["unbilled"] == 5000
        assert len(world.outbox()) == 2
        world.assert_ledger_matches()

    def test_15_days_after_the_bill_is_the_last_day_at_kathmandu_midnight(self, world):
        """7.6 "asked after 15 days of receipt": 16 Dec 23:59:59 accepted, 17 Dec 00:00 Kathmandu refused."""
        world.clock.set(ktm(ISSUED + timedelta(days=16)) - SECOND)
        assert world.services.ask_statement(ME, Channel.SMS).charged

    def test_16_days_after_the_bill_is_refused_with_the_reason_and_nothing_charged(self, world):
        world.clock.set(ktm(ISSUED + timedelta(days=16)))
        with pytest.raises(StatementRefused) as refused:
            world.services.ask_statement(ME, Channel.SMS)
        assert refused.value.reason == "asked_too_late" and refused.value.last_day == date(2026, 12, 16)
        assert world.line()["unbilled"] == 0 and world.outbox() == []
        assert world.sql("SELECT COUNT(*) FROM statements")[0][0] == 0

    def test_a_period_ended_45_days_ago_is_owed_and_46_is_not(self, world):
        """7.6 "a period prior to 45 days": a bill received late for an old period, on both sides of the limit."""
        late = date(2026, 12, 20)  # October's bill, received on 20 December
        give_bill(world.services, ME, date(2026, 10, 1), date(2026, 10, 31), late, 1000)
        world.clock.set(ktm(date(2026, 12, 16)) - SECOND)  # 15 Dec 23:59:59: 45 days after 31 Oct
        assert world.services.ask_statement(ME, Channel.SMS).period_end == date(2026, 10, 31)

    def test_a_period_ended_46_days_ago_is_refused(self, world):
        give_bill(world.services, ME, date(2026, 10, 1), date(2026, 10, 31), date(2026, 12, 20), 1000)
        world.clock.set(ktm(date(2026, 12, 16)))
        with pytest.raises(StatementRefused) as refused:
            world.services.ask_statement(ME, Channel.SMS)
        assert refused.value.reason == "period_too_old" and refused.value.last_day == date(2026, 12, 15)

    def test_prepaid_lines_and_lines_without_a_bill_have_no_statement(self, world):
        with pytest.raises(NotPostpaid):
            world.services.ask_statement(PREPAID, Channel.SMS)
        postpaid_line(world.services, "9779801111111", DEPOSIT)
        with pytest.raises(NoBill):
            world.services.ask_statement("9779801111111", Channel.SMS)



@pytest.mark.parametrize("action", ["ask_statement", "dispute_bill", "file_complaint", "ask_number_change"])
def test_a_lost_sim_asks_for_nothing_and_nothing_is_recorded(world, action):
    """A SIM reported lost originates nothing (004 9.2, as smart-kh): every request refused, no row, no SMS;
    once unblocked it is served again."""
    from menus.actions import ACTION_TABLE

    world.services.report_lost_sim(ReportLost(FINDER, ME, "N12345", Channel.USSD))
    args = {"text": "no signal", "reason": ""}
    before = (world.line(), world.sql("SELECT COUNT(*) FROM ledger")[0][0])
    with pytest.raises(LineLost):
        ACTION_TABLE[action].invoke(world.services, ME, args, f"ussd:s1:{action}")
    assert (world.line(), world.sql("SELECT COUNT(*) FROM ledger")[0][0]) == before
    counts = [world.sql(f"SELECT COUNT(*) FROM {t}")[0][0]
              for t in ("statements", "disputes", "complaints", "number_changes")]
    assert counts == [0, 0, 0, 0] and world.outbox() == []
    world.services.unblock(ME)
    assert ACTION_TABLE[action].invoke(world.services, ME, args, f"ussd:s2:{action}").reference


class TestComplaint_004_clauses_9_1_and_10_1:
    def test_a_written_complaint_is_recorded_as_written(self, world):
        result = world.services.file_complaint(PREPAID, "  No signal in   Patan since Monday ", Channel.SMS)
        assert result.reference.startswith("CP-")
        [row] = world.services.list_complaints(open_only=True)
        assert (row.reference, row.msisdn, row.text, row.status) == (result.reference, PREPAID,
                                                                     "No signal in Patan since Monday", "open")

    def test_closing_answers_in_writing_by_sms(self, world):
        ref = world.services.file_complaint(ME, "नेटवर्क छैन", Channel.USSD).reference
        closed = world.services.close_complaint(ref, "Tower repaired on 3 Dec")
        assert closed.status == "closed" and closed.note == "Tower repaired on 3 Dec"
        assert world.outbox() == [f"Answer to your complaint {ref}: Tower repaired on 3 Dec"]
        assert world.services.list_complaints(open_only=True) == []
        with pytest.raises(CaseClosed):
            world.services.close_complaint(ref, "again")
        with pytest.raises(UnknownReference):
            world.services.close_complaint("CP-AAAA-AAAA", "x")

    def test_empty_or_too_long_is_refused_and_nothing_recorded(self, world):
        with pytest.raises(EmptyComplaint):
            world.services.file_complaint(ME, "   ", Channel.SMS)
        with pytest.raises(ComplaintTooLong):
            world.services.file_complaint(ME, "x" * 481, Channel.SMS)
        assert world.services.list_complaints() == []


class TestNumberChange_004_clause_5_1b:
    def test_accepted_before_the_bill_is_overdue(self, world):
        """The bill is due 16 Dec (7.4): on that day (Kathmandu) it is no arrear yet."""
        world.clock.set(ktm(date(2026, 12, 17)) - SECOND)
        result = world.services.ask_number_change(ME, Channel.SMS)
        assert result.reference.startswith("NC-") and result.fee.minor == 50_000 and result.change_within_days == 7

    def test_refused_with_arrears_from_the_day_after_the_due_day(self, world):
        world.clock.set(ktm(date(2026, 12, 17)))
        with pytest.raises(ArrearsOutstanding) as refused:
            world.services.ask_number_change(ME, Channel.SMS)
        assert refused.value.arrears.minor == AMOUNT
        assert world.sql("SELECT COUNT(*) FROM number_changes")[0][0] == 0

    def test_once_the_arrears_are_paid_it_is_accepted_and_repeated(self, world):
        world.clock.set(ktm(date(2026, 12, 20)))
        pay(world.services, ME, AMOUNT - 1)
        with pytest.raises(ArrearsOutstanding) as refused:
            world.services.ask_number_change(ME, Channel.SMS)
        assert refused.value.arrears.minor == 1  # one paisa is an arrear
        pay(world.services, ME, 1)
        first = world.services.ask_number_change(ME, Channel.SMS)
        again = world.services.ask_number_change(ME, Channel.USSD)
        assert again.reference == first.reference and again.repeated

    def test_a_disputed_bill_is_no_arrear_while_held(self, world):
        world.services.dispute_bill(ME, "", Channel.SMS)
        world.clock.set(ktm(date(2026, 12, 20)))
        assert world.services.ask_number_change(ME, Channel.SMS).reference

    def test_a_prepaid_line_has_no_arrears(self, world):
        assert world.services.ask_number_change(PREPAID, Channel.SMS).reference.startswith("NC-")


def test_a_profile_without_the_tables_offers_none_of_them(tmp_path):
    """smart-kh has no [statement], [dispute], [complaint] or [number_change]: each is refused as not offered."""
    services = open_services(tmp_path / "kh.db", FixedClock(ktm(ISSUED)), texts=False)
    services.add_subscriber("85512345678", balance=Money(0, services.profile.currency))
    for ask in (lambda: services.ask_statement("85512345678", Channel.SMS),
                lambda: services.dispute_bill("85512345678", "", Channel.SMS),
                lambda: services.file_complaint("85512345678", "x", Channel.SMS),
                lambda: services.ask_number_change("85512345678", Channel.SMS)):
        with pytest.raises(NotOffered):
            ask()
    services.ctx.store.close()


class TestStatementLines:
    def test_each_usage_line_reads_in_the_subscribers_language(self):
        """7.6 "detail bill statement": time in Kathmandu, what and how much, one line each; paged per SMS."""
        from gateway.services.model import StatementLine, StatementResult

        profile = load_profile("smart-np")
        replies = Replies(Catalog.for_profile(profile), profile)
        rs = profile.currency
        result = StatementResult("ST-ABCD-EFGH", *PERIOD, ISSUED, Money(AMOUNT, rs), Money(5000, rs), True, (), 2)
        lines = (StatementLine(ktm(date(2026, 11, 5), 9, 15), "voice", 185, Money(600, rs)),
                 StatementLine(ktm(date(2026, 11, 6), 23, 59), "data", 1025, Money(20, rs)),
                 StatementLine(ktm(date(2026, 11, 7), 8, 0), "sms", 1, Money(100, rs)))
        assert replies.statement_part(result, lines, 1, 2, "en").split("\n") == [
            "Statement ST-ABCD-EFGH (1/2), bill 01/11/2026 to 30/11/2026:",
            "05/11 09:15 call 3:05 Rs 6.00", "06/11 23:59 data 2 KB Rs 0.20", "07/11 08:00 SMS x1 Rs 1.00"]
        assert replies.statement_part(result, lines, 2, 2, "ne").split("\n")[1] == "05/11 09:15 कल 3:05 Rs 6.00"

    def test_the_statement_lists_the_usage_of_the_bill_period_only(self, world, tmp_path):
        """Usage imported for the line (``usage import``) is listed for the period's Kathmandu days only."""
        csv = tmp_path / "usage.csv"
        csv.write_text("msisdn,started_at,kind,quantity\n"
                       f"{ME},2026-10-31T23:59:00+05:45,voice,60\n"   # the day before the period
                       f"{ME},2026-11-01T00:00:00+05:45,voice,185\n"  # its first minute
                       f"{ME},2026-11-30T23:59:59+05:45,data,1025\n"  # its last second
                       f"{ME},2026-12-01T00:00:00+05:45,sms,1\n",     # the day after
                       encoding="utf-8")
        world.services.import_usage(csv)
        result = world.services.ask_statement(ME, Channel.SMS)
        assert [(line.kind, line.quantity) for line in result.lines] == [("voice", 185), ("data", 1025)]
        statement = world.outbox()[-1]
        assert "01/11 00:00 call 3:05" in statement and "30/11 23:59 data 2 KB" in statement
