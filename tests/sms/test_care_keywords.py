"""STATEMENT, DISPUTE, COMPLAINT and CHANGE to 888 answered through the router, in English and Nepali,
on both backends (smart-np; seeds/004_1cabed6f540fdada.txt clauses 7.6, 3(B).4, 9.3, 9.1, 10.1, 5.1(b))."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.clock import FixedClock
from gateway.domain.money import Money
from gateway.profile import load_profile
from gateway.services.api import Services
from gateway.smpp.codec import decode_text
from gateway.sms.router import KeywordRouter
from gateway.store import sms as sms_store
from menus.replies import Replies
from menus.texts import Catalog
from tests.support.care import give_bill, postpaid_line
from tests.support.sms import PART_KEY, outbox
from tests.support.world import services_for

KTM = ZoneInfo("Asia/Kathmandu")
EN = "9779801234567"
NE = "9779801234568"
PREPAID = "9779801234569"
ISSUED = date(2026, 12, 1)


@pytest.fixture
def np_services(store) -> Services:  # type: ignore[no-untyped-def]
    """smart-np with the real texts: a billed postpaid line in English, one in Nepali, a prepaid line."""
    clock = FixedClock(datetime(2026, 12, 2, 10, 0, tzinfo=KTM).astimezone(UTC))
    svc = services_for(store, clock, "smart-np", texts=True)
    profile = svc.profile
    for msisdn, language in ((EN, "en"), (NE, "ne")):
        postpaid_line(svc, msisdn, 500_000, language=language)
        give_bill(svc, msisdn, date(2026, 11, 1), date(2026, 11, 30), ISSUED, 123_450)
    svc.add_subscriber(PREPAID, balance=Money(0, profile.currency))
    return svc


def receive(services: Services, text: str, to: str = "888", source: str = EN) -> int:
    """An MO as the SMSC delivers it: GSM 7-bit when it can be, else UCS-2 (Devanagari)."""
    ucs2 = not text.isascii()
    data, coding = (text.encode("utf-16-be"), 8) if ucs2 else (text.encode(), 0)
    event = sms_store.InboundSms(source, to, data, coding, sms_store.digest(source, to, text))
    with services.ctx.store.write_uow() as uow:
        ids = uow.inbox.apply([event], services.ctx.clock.now(), decode=decode_text,
                              dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
    return int(ids[0])


def ask(services: Services, text: str, source: str = EN) -> str:
    """Send ``text`` to 888 and return the reply."""
    replies = Replies(Catalog.for_profile(services.profile), services.profile)
    inbox_id = receive(services, text, source=source)
    KeywordRouter(services=services, texts=replies).handle([inbox_id])
    return str(outbox(services.ctx.store, kind="reply")[-1]["text"])


def test_statement_in_english_and_its_lines_by_sms(np_services, store):
    """7.6: accepted, the charge named, the statement itself in a notification SMS from 888."""
    reply = ask(np_services, "statement")
    assert reply.startswith("Detailed statement ST-") and "01/11/2026 to 30/11/2026" in reply
    assert "Rs 50.00 is added to your next bill" in reply
    [note] = outbox(store, kind="notification")
    assert note["source"] == "888" and note["destination"] == EN
    assert "No usage was recorded" in note["text"]


def test_statement_in_nepali(np_services, store):
    reply = ask(np_services, "STATEMENT", source=NE)
    assert "विस्तृत विवरण" in reply and "Rs 50.00" in reply
    assert "यस अवधिमा कुनै प्रयोग" in outbox(store, kind="notification")[0]["text"]


def test_statement_refused_after_15_days_says_why(np_services):
    np_services.ctx.clock.set(datetime(2026, 12, 17, 0, 0, tzinfo=KTM).astimezone(UTC))
    assert ask(np_services, "STATEMENT") == ("No detailed statement: it must be asked within 15 days of "
                                            "receiving the bill (the last day was 16/12/2026).")
    assert "15 दिनभित्र" in ask(np_services, "STATEMENT", source=NE)


def test_dispute_with_a_reason_in_both_languages(np_services):
    """3(B).4, 9.3: the reference, both settlement dates, the amount held as deposit."""
    reply = ask(np_services, "DISPUTE: I was not in India, no roaming!")
    assert "reference DP-" in reply and "09/12/2026" in reply and "16/01/2027" in reply
    assert "Rs 1,234.50 is held as deposit" in reply
    [row] = np_services.list_disputes()
    assert row.reason == "I was not in India, no roaming!"
    assert "धरौटी" in ask(np_services, "dispute", source=NE)


def test_complaint_recorded_and_written_only_said(np_services):
    """9.1, 10.1: the text as written, a reference, and that calls are not complaints."""
    reply = ask(np_services, "Complaint: Internet slow in Pokhara")
    assert "reference CP-" in reply and "not by phone call" in reply
    assert np_services.list_complaints()[0].text == "Internet slow in Pokhara"
    assert "फोन कलबाट होइन" in ask(np_services, "COMPLAINT इन्टरनेट ढिलो छ", source=NE)
    assert np_services.list_complaints()[1].text == "इन्टरनेट ढिलो छ"


def test_complaint_without_text_gets_help(np_services):
    reply = ask(np_services, "COMPLAINT")
    assert reply.startswith("Write your complaint after the keyword: COMPLAINT <your text> to 888")
    assert np_services.list_complaints() == []


def test_number_change_refused_with_arrears_then_accepted(np_services):
    """5.1(b): the reason (the arrears) while the bill is overdue; a reference on a line without."""
    np_services.ctx.clock.set(datetime(2026, 12, 17, 9, 0, tzinfo=KTM).astimezone(UTC))
    assert ask(np_services, "CHANGE NUMBER") == ("Your number cannot be changed while you have arrears: "
                                                "please pay Rs 1,234.50 first.")
    assert "बक्यौता" in ask(np_services, "change", source=NE)
    assert "Number change request NC-" in ask(np_services, "CHANGE", source=PREPAID)


def test_prepaid_lines_are_told_bills_are_for_postpaid(np_services):
    assert ask(np_services, "STATEMENT", source=PREPAID) == "Bills are for postpaid lines only."


def test_help_lists_the_requests_the_profile_offers(np_services):
    reply = ask(np_services, "what?")
    assert "STATEMENT" in reply and "COMPLAINT <text>" in reply and "CHANGE" in reply


def test_help_lists_bill_and_the_requests_in_english_and_nepali(np_services):
    """HELP on smart-np names BILL (it has postpaid lines) and each care keyword, in the line's language."""
    english, nepali = ask(np_services, "HELP"), ask(np_services, "HELP", source=NE)
    for reply in (english, nepali):
        assert all(word in reply for word in ("BAL", "BILL", "STATEMENT", "DISPUTE", "COMPLAINT", "CHANGE")), reply
    assert "BILL (your latest bill" in english and "BILL (पछिल्लो बिल" in nepali


@pytest.mark.parametrize("source, words", [("85512345678", "BILL (your latest bill"),
                                           ("85512345679", "BILL (វិក្កយបត្រចុងក្រោយ")])
def test_help_on_smart_kh_lists_bill_but_no_care_keyword(services, store, source, words):
    """smart-kh has a ``[postpaid]`` table (BILL is understood there) and no care tables, in English and Khmer."""
    inbox_id = receive(services, "HELP", source=source)
    replies = Replies(Catalog.for_profile(services.profile), services.profile)
    KeywordRouter(services=services, texts=replies).handle([inbox_id])
    reply = outbox(store, kind="reply")[-1]["text"]
    assert words in reply and "STATEMENT" not in reply and "COMPLAINT" not in reply


def test_help_of_a_profile_without_postpaid_lines_does_not_offer_bill():
    """The list is the profile's data: without ``[postpaid]`` BILL is not offered (it would get help)."""
    from dataclasses import replace

    profile = load_profile("smart-kh")
    prepaid_only = replace(profile, policy=replace(profile.policy, postpaid=None))
    assert "BILL" in Replies(Catalog.for_profile(profile), profile).help("en")
    assert "BILL" not in Replies(Catalog.for_profile(prepaid_only), prepaid_only).help("en")


def test_smart_kh_does_not_know_the_keywords(services, store):
    """A profile without the tables: STATEMENT is not understood (help), nothing recorded."""
    inbox_id = receive(services, "STATEMENT", source="85512345678")
    replies = Replies(Catalog.for_profile(services.profile), services.profile)
    KeywordRouter(services=services, texts=replies).handle([inbox_id])
    reply = outbox(store, kind="reply")[-1]["text"]
    assert reply.startswith("Send to 888: BAL") and "STATEMENT" not in reply
