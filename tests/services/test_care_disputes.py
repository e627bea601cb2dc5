"""Bill disputes of seeds/004_1cabed6f540fdada.txt (3(B).4 and 9.3) through the services, on both backends
(smart-np): the hold, the deadlines, the settlement, and how a disputed bill is shown."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gateway.domain.channels import Channel
from gateway.domain.errors import (
    ArrearsOutstanding,
    CaseClosed,
    DisputeSettled,
    InvalidAmount,
    UnknownReference,
)
from gateway.domain.money import Money
from tests.support.care import give_bill, pay, postpaid_line
from tests.support.care_world import AMOUNT, DEPOSIT, ME, SECOND, ktm, open_care_world

#: smart-np services on a fresh database of each backend, a billed postpaid line and a prepaid one.
world = pytest.fixture(open_care_world, name="world")


class TestDispute_004_clauses_3B4_and_9_3:
    def test_a_dispute_has_a_reference_both_deadlines_and_holds_the_amount(self, world):
        """3(B).4: the amount is held out of the dues; 9.3: settled in 7 days, or 45 with another provider."""
        result = world.services.dispute_bill(ME, "roaming charged twice", Channel.SMS)
        now = world.clock.now()
        assert result.reference.startswith("DP-") and not result.repeated
        assert result.amount == Money(AMOUNT, world.services.profile.currency)
        assert (result.own_network_by, result.other_provider_by) == (now + timedelta(days=7), now + timedelta(days=45))
        assert world.line()["dues"] == 0  # held: neither dues for the deposit rule nor arrears
        [row] = world.services.list_disputes(open_only=True)
        assert (row.reference, row.reason, row.status, row.channel) == (result.reference, "roaming charged twice",
                                                                       "open", "sms")
        world.assert_ledger_matches()

    def test_disputing_again_repeats_the_reference(self, world):
        first = world.services.dispute_bill(ME, "", Channel.SMS)
        again = world.services.dispute_bill(ME, "again", Channel.USSD)
        assert again.reference == first.reference and again.repeated
        assert world.line()["dues"] == 0 and len(world.services.list_disputes()) == 1

    def test_rejected_the_final_bill_is_the_bill_and_the_subscriber_is_told(self, world):
        """9.3 "information on the final bill shall be given": an SMS with the final amount."""
        ref = world.services.dispute_bill(ME, "", Channel.SMS).reference
        resolved = world.services.resolve_dispute(ref, upheld=False, note="calls were made")
        assert resolved.final == Money(AMOUNT, world.services.profile.currency) and not resolved.late
        assert world.line()["dues"] == AMOUNT
        [sms] = world.outbox()
        assert ref in sms and "Rs 1,234.50" in sms and "calls were made" in sms
        assert world.services.list_disputes(open_only=True) == []
        world.assert_ledger_matches()

    def test_upheld_with_a_credit_the_final_bill_is_the_rest(self, world):
        ref = world.services.dispute_bill(ME, "", Channel.SMS).reference
        credit = Money(23_450, world.services.profile.currency)
        resolved = world.services.resolve_dispute(ref, upheld=True, credit=credit)
        assert (resolved.status, resolved.credit, resolved.final.minor) == ("upheld", credit, 100_000)
        assert world.line()["dues"] == 100_000
        assert "Rs 1,000.00" in world.outbox()[0] and "Rs 234.50" in world.outbox()[0]
        kinds = [r[0] for r in world.sql("SELECT kind FROM ledger WHERE reference = ? ORDER BY id", ref)]
        assert kinds == ["dispute_hold", "dispute_release", "dispute_credit"]
        world.assert_ledger_matches()

    def test_upheld_alone_credits_the_whole_bill(self, world):
        ref = world.services.dispute_bill(ME, "", Channel.SMS).reference
        assert world.services.resolve_dispute(ref, upheld=True).final.minor == 0
        assert world.line()["dues"] == 0

    def test_late_after_7_days_unless_another_provider_was_involved(self, world):
        """9.3: after 7 days a resolution is late, unless the 45 days applied (the operator says so)."""
        first = world.services.dispute_bill(ME, "", Channel.SMS).reference
        give_bill(world.services, ME, date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1), 1000)
        world.clock.set(ktm(date(2027, 1, 15), 10))
        second = world.services.dispute_bill(ME, "", Channel.SMS).reference
        world.clock.advance(timedelta(days=7) + SECOND)
        assert world.services.resolve_dispute(first, upheld=False, other_provider=True).late  # > 45 days
        assert world.services.resolve_dispute(second, upheld=False).late
        world.assert_ledger_matches()

    def test_within_45_days_with_another_provider_is_on_time(self, world):
        ref = world.services.dispute_bill(ME, "", Channel.SMS).reference
        world.clock.advance(timedelta(days=30))
        assert not world.services.resolve_dispute(ref, upheld=False, other_provider=True).late

    def test_settled_twice_or_unknown_is_refused_and_changes_nothing(self, world):
        ref = world.services.dispute_bill(ME, "", Channel.SMS).reference
        with pytest.raises(InvalidAmount):
            world.services.resolve_dispute(ref, upheld=True, credit=Money(AMOUNT + 1, world.services.profile.currency))
        assert world.services.list_disputes(open_only=True)[0].reference == ref and world.outbox() == []
        world.services.resolve_dispute(ref.lower(), upheld=False)
        with pytest.raises(CaseClosed):
            world.services.resolve_dispute(ref, upheld=True)
        with pytest.raises(UnknownReference):
            world.services.resolve_dispute("DP-AAAA-AAAA", upheld=False)
        assert len(world.outbox()) == 1 and world.line()["dues"] == AMOUNT

    def test_a_number_given_to_someone_else_meanwhile_hears_nothing(self, world):
        """The line's number went to a new subscriber before the dispute was settled: the answer and the money
        stay with the case, not with the new owner (no SMS to them, their dues untouched)."""
        ref = world.services.dispute_bill(ME, "", Channel.SMS).reference
        complaint = world.services.file_complaint(ME, "bill wrong", Channel.SMS).reference
        with world.store.write_uow() as uow:
            old = uow.accounts.load_live(ME, world.services.profile.currency)
            uow.accounts.mark_recycled(old.subscriber_id, world.clock.now())
        postpaid_line(world.services, ME, DEPOSIT)
        resolved = world.services.resolve_dispute(ref, upheld=True)
        world.services.close_complaint(complaint, "sorry")
        assert not resolved.told and world.outbox() == []
        assert world.line() == {"deposit": DEPOSIT, "dues": 0, "unbilled": 0}
        world.assert_ledger_matches()

    def test_the_deposit_rule_follows_the_hold_and_the_settlement(self, world, tmp_path):
        """7.7 with 3(B).4: a bill over 95% of the deposit starts a notice; disputing it holds the amount
        out of the dues and withdraws the notice; rejected, the dues pass the line again and a notice is sent."""
        rs = world.services.profile.currency
        world.services.add_subscriber("9779800000001", balance=Money(0, rs), type_="postpaid",
                                      deposit=Money(100_000, rs))
        bills = tmp_path / "bills.csv"
        bills.write_text("msisdn,period_start,period_end,issued_on,amount\n"
                         "9800000001,2026-11-01,2026-11-30,2026-12-01,950.01\n", encoding="utf-8")
        world.services.import_bills(bills)  # Rs 950.01 > 95% of Rs 1,000.00: notice
        notice = lambda: world.sql("SELECT notice_sent_at FROM subscribers WHERE msisdn = '9779800000001' "  # noqa: E731
                                   "AND status = 'live'")[0][0]
        assert notice() is not None
        ref = world.services.dispute_bill("9779800000001", "", Channel.SMS).reference
        assert notice() is None
        world.clock.advance(timedelta(days=1))
        world.services.resolve_dispute(ref, upheld=False)
        assert notice() is not None
        texts = world.outbox("9779800000001")
        assert len(texts) == 3 and ref in texts[1] and "95%" in texts[2]  # notice, final bill, notice again
        world.assert_ledger_matches()

    def test_a_settled_bill_is_not_disputed_again(self, world):
        ref = world.services.dispute_bill(ME, "", Channel.SMS).reference
        world.services.resolve_dispute(ref, upheld=False)
        with pytest.raises(DisputeSettled):
            world.services.dispute_bill(ME, "", Channel.SMS)


class TestDisputedBillShown_004_clauses_3B4_and_9_3:
    """A dispute's hold is not a payment: the disputed bill shows as disputed, and an older bill stays owed."""

    OCTOBER = (date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1), 50_000)  # Rs 500.00, due 16 Nov

    def bills(self, world):  # type: ignore[no-untyped-def]
        shown = world.services.show_subscriber(ME)["postpaid"]["bills"]
        return [(b["period_start"], b["paid"], b["disputed"]) for b in shown]

    def test_the_disputed_bill_is_disputed_not_paid_and_the_older_one_still_owed(self, world):
        """Before the fix the hold paid the October bill (oldest first) and the screens said "paid"."""
        give_bill(world.services, ME, *self.OCTOBER)
        world.services.dispute_bill(ME, "", Channel.SMS)
        assert world.line()["dues"] == 50_000  # the November amount held, October's still due
        assert self.bills(world) == [("2026-10-01", False, False), ("2026-11-01", False, True)]
        screen = world.services.ctx.notices.bill(world.services.check_bill(ME), "en")
        assert screen.splitlines()[0] == ("Bill 01/11/2026-30/11/2026: Rs 1,234.50, disputed "
                                          "(not due until the dispute is settled).")
        assert "विवादमा" in world.services.ctx.notices.bill(world.services.check_bill(ME), "ne")
        with pytest.raises(ArrearsOutstanding) as refused:  # October overdue since 17 November
            world.services.ask_number_change(ME, Channel.SMS)
        assert refused.value.arrears == Money(50_000, world.services.profile.currency)
        world.assert_ledger_matches()

    def test_a_payment_settles_the_older_bill_not_the_disputed_one(self, world):
        give_bill(world.services, ME, *self.OCTOBER)
        world.services.dispute_bill(ME, "", Channel.SMS)
        pay(world.services, ME, 50_000)
        assert self.bills(world) == [("2026-10-01", True, False), ("2026-11-01", False, True)]

    def test_settled_the_bill_is_owed_or_credited_on_itself(self, world):
        """Rejected: due again, not paid. Upheld with a credit: the credit goes to the disputed bill, not
        to the older one, and the rest of the disputed bill is what is owed."""
        give_bill(world.services, ME, *self.OCTOBER)
        ref = world.services.dispute_bill(ME, "", Channel.SMS).reference
        world.services.resolve_dispute(ref, upheld=True, credit=Money(23_450, world.services.profile.currency))
        assert self.bills(world) == [("2026-10-01", False, False), ("2026-11-01", False, False)]
        pay(world.services, ME, 50_000)
        assert self.bills(world) == [("2026-10-01", True, False), ("2026-11-01", False, False)]
        pay(world.services, ME, 100_000)
        assert self.bills(world) == [("2026-10-01", True, False), ("2026-11-01", True, False)]
        assert world.line()["dues"] == 0
        world.assert_ledger_matches()
