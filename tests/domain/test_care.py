"""The customer-care requests of seeds/004_1cabed6f540fdada.txt as plain rules: clauses 7.6, 3(B).4 and 9.3,
9.1 and 10.1, 5.1(b). Periods spelled out as in the smart-np profile."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain.care import (
    CarePolicy,
    ComplaintPolicy,
    DisputePolicy,
    NumberChangePolicy,
    StatementPolicy,
    format_reference,
)
from gateway.domain.complaints import complaint_text
from gateway.domain.disputes import DisputeStatus, deadlines, is_late, settle
from gateway.domain.errors import (
    ArrearsOutstanding,
    ComplaintTooLong,
    EmptyComplaint,
    InvalidAmount,
    InvalidInput,
    StatementRefused,
)
from gateway.domain.money import Currency, Money
from gateway.domain.number_change import check_number_change
from gateway.domain.statements import check_statement, chunks, period_bounds

NPR = Currency("NPR", 2, "Rs ")
KTM = ZoneInfo("Asia/Kathmandu")  # UTC+05:45: local midnight is 18:15 UTC the day before
STATEMENT = StatementPolicy(Money(5000, NPR), timedelta(days=45), timedelta(days=15), 8)
DISPUTE = DisputePolicy(timedelta(days=7), timedelta(days=45), 160)
SECOND = timedelta(seconds=1)


def kathmandu_midnight(day: date) -> datetime:
    """00:00 of ``day`` in Kathmandu, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=KTM).astimezone(UTC)


class TestStatement_004_clause_7_6:
    def test_a_period_ended_45_days_ago_is_owed_and_46_is_not_at_kathmandu_midnight(self):
        """7.6 "a period prior to 45 days": the last day is period end + 45 local days; the next refuses."""
        end = date(2026, 10, 31)
        issued = date(2026, 12, 14)  # received late, so only the period limit bites
        last = kathmandu_midnight(end + timedelta(days=46)) - SECOND  # 23:59:59 of 15 Dec in Kathmandu
        assert last == datetime(2026, 12, 15, 18, 14, 59, tzinfo=UTC)
        check_statement(end, issued, last, KTM, STATEMENT)
        with pytest.raises(StatementRefused) as refused:
            check_statement(end, issued, last + SECOND, KTM, STATEMENT)
        assert refused.value.reason == "period_too_old"
        assert refused.value.last_day == date(2026, 12, 15)

    def test_asked_15_days_after_the_bill_is_owed_and_16_is_not_at_kathmandu_midnight(self):
        """7.6 "asked after 15 days of receipt": the last day is issue day + 15 local days; the next refuses."""
        end, issued = date(2026, 11, 30), date(2026, 12, 1)
        last = kathmandu_midnight(issued + timedelta(days=16)) - SECOND  # 16 Dec 23:59:59 in Kathmandu
        check_statement(end, issued, last, KTM, STATEMENT)
        with pytest.raises(StatementRefused) as refused:
            check_statement(end, issued, last + SECOND, KTM, STATEMENT)
        assert refused.value.reason == "asked_too_late"
        assert refused.value.last_day == date(2026, 12, 16)

    def test_the_day_is_kathmandus_not_utcs(self):
        """At 18:15 UTC it is already the next day in Kathmandu: the limit passes then, not at UTC midnight."""
        end, issued = date(2026, 11, 30), date(2026, 12, 1)
        utc_evening = datetime(2026, 12, 16, 18, 15, tzinfo=UTC)  # 00:00 17 Dec in Kathmandu
        with pytest.raises(StatementRefused):
            check_statement(end, issued, utc_evening, KTM, STATEMENT)
        check_statement(end, issued, utc_evening - SECOND, KTM, STATEMENT)

    def test_the_period_of_a_bill_is_its_local_days(self):
        """Usage on a statement is what started from 00:00 of the first day to 24:00 of the last, in Kathmandu."""
        start, until = period_bounds(date(2026, 11, 1), date(2026, 11, 30), KTM)
        assert start == datetime(2026, 10, 31, 18, 15, tzinfo=UTC)
        assert until == datetime(2026, 11, 30, 18, 15, tzinfo=UTC)

    def test_long_statements_are_cut_into_messages(self):
        """Lines go out a few per SMS; a statement without usage is still one message."""
        assert chunks(list(range(17)), 8) == [list(range(8)), list(range(8, 16)), [16]]
        assert chunks([], 8) == [[]]


class TestDispute_004_clauses_3B4_and_9_3:
    def test_deadlines_are_7_days_or_45_with_another_provider(self):
        """9.3: settled within 7 days (own network) or 45 days (details from another provider)."""
        raised = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
        due = deadlines(raised, DISPUTE)
        assert due.own_network == raised + timedelta(days=7)
        assert due.other_provider == raised + timedelta(days=45)
        assert not is_late(raised, due.own_network, DISPUTE, other_provider=False)
        assert is_late(raised, due.own_network + SECOND, DISPUTE, other_provider=False)
        assert not is_late(raised, due.own_network + SECOND, DISPUTE, other_provider=True)
        assert is_late(raised, due.other_provider + SECOND, DISPUTE, other_provider=True)

    def test_rejected_the_final_bill_is_the_disputed_amount(self):
        """9.3 "information on the final bill": rejected, it is the bill as it was."""
        outcome = settle(Money(123450, NPR), upheld=False)
        assert outcome.status is DisputeStatus.REJECTED
        assert outcome.credit == Money(0, NPR) and outcome.final == Money(123450, NPR)

    def test_upheld_credits_the_whole_amount_or_the_part_named(self):
        """Upheld alone credits everything disputed; with a credit, the final bill is the rest."""
        assert settle(Money(123450, NPR), upheld=True).final == Money(0, NPR)
        part = settle(Money(123450, NPR), upheld=True, credit=Money(23450, NPR))
        assert part.status is DisputeStatus.UPHELD
        assert part.credit == Money(23450, NPR) and part.final == Money(100000, NPR)

    @pytest.mark.parametrize("credit", [0, 123451])
    def test_a_credit_of_nothing_or_of_more_than_disputed_is_refused(self, credit):
        """A credit above the disputed amount would pay the subscriber for a dispute; zero is a rejection."""
        with pytest.raises(InvalidAmount):
            settle(Money(123450, NPR), upheld=True, credit=Money(credit, NPR))

    def test_a_rejection_takes_no_credit(self):
        with pytest.raises(InvalidAmount):
            settle(Money(100, NPR), upheld=False, credit=Money(1, NPR))


class TestComplaint_004_clauses_9_1_and_10_1:
    POLICY = ComplaintPolicy(max_length=20)

    def test_the_text_is_kept_as_written(self):
        """9.1 "notify Smart in writing": the subscriber's words, only spacing tidied."""
        assert complaint_text("  No  signal\n in Patan ", self.POLICY) == "No signal in Patan"

    def test_an_empty_complaint_is_refused(self):
        with pytest.raises(EmptyComplaint) as refused:
            complaint_text("   ", self.POLICY)
        assert isinstance(refused.value, InvalidInput)

    def test_a_long_complaint_is_refused_not_cut(self):
        """The record must be what was written: one character over is refused whole."""
        complaint_text("x" * 20, self.POLICY)
        with pytest.raises(ComplaintTooLong):
            complaint_text("x" * 21, self.POLICY)

    def test_devanagari_counts_in_characters(self):
        """A Nepali complaint is measured in characters, not bytes."""
        complaint_text("नेटवर्क छैन " * 1 + "क" * 8, self.POLICY)


class TestNumberChange_004_clause_5_1b:
    def test_refused_while_any_arrear_is_outstanding(self):
        """5.1(b): "no action shall be taken ... until and unless an arrear is cleared" — one paisa is one."""
        check_number_change(Money(0, NPR))
        with pytest.raises(ArrearsOutstanding) as refused:
            check_number_change(Money(1, NPR))
        assert refused.value.arrears == Money(1, NPR)


def test_a_profile_offers_only_the_requests_it_has():
    """Keywords and menu items exist only where the profile has the request's table."""
    assert CarePolicy().offered == frozenset()
    care = CarePolicy(statement=STATEMENT, number_change=NumberChangePolicy(Money(1, NPR), timedelta(days=7)))
    assert care.offered == {"statement", "number_change"}


def test_references_have_the_prefix_and_readable_letters():
    assert format_reference("CP", list(range(8))) == "CP-ABCD-EFGH"
