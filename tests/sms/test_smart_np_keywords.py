"""SMS keywords on profile smart-np, on both backends: BAL and BILL of a postpaid line answer its bill
(004_1cabed6f540fdada.txt 7.3-7.7), LANG NE switches to Nepali, and the reply is in the subscriber's language."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.domain.money import Money
from gateway.services import Services
from gateway.smpp.codec import decode_text
from gateway.sms.router import KeywordRouter
from gateway.store import sms as sms_store
from menus.replies import Replies
from menus.texts import Catalog
from tests.support.sms import PART_KEY, outbox
from tests.support.world import pins, services_for

LINE = "9779802000111"
DEVANAGARI = re.compile("[\u0900-\u097f]")


@pytest.fixture
def np_services(store, clock, tmp_path: Path) -> Services:  # type: ignore[no-untyped-def]
    svc = services_for(store, clock, "smart-np", texts=True)
    profile = svc.profile
    svc.add_subscriber(LINE, balance=Money(0, profile.currency), type_="postpaid",
                       deposit=Money(500_000, profile.currency))
    path = tmp_path / "bills.csv"
    path.write_text(f"msisdn,period_start,period_end,issued_on,amount\n{LINE},2026-01-01,2026-01-31,2026-02-01,1234.50\n")
    svc.import_bills(path)
    return svc


def text_in(services: Services, text: str) -> str:
    event = sms_store.InboundSms(LINE[3:], "888", text.encode(), 0, sms_store.digest(LINE, "888", text))
    with services.ctx.store.write_uow() as uow:
        [inbox_id] = uow.inbox.apply([event], services.ctx.clock.now(), decode=decode_text,
                                     dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
    profile = services.profile
    KeywordRouter(services=services, texts=Replies(Catalog.for_profile(profile), profile)).handle([inbox_id])
    return str(outbox(services.ctx.store)[-1]["text"])


@pytest.mark.parametrize("keyword", ["BAL", "BILL"])
def test_bal_and_bill_answer_the_latest_bill_due_day_and_dues_against_the_deposit(np_services, keyword):
    """Due 16/02/2026 (7.4: 15 days after issue); dues Rs 1,234.50 of the Rs 5,000.00 deposit."""
    reply = text_in(np_services, keyword)
    assert "Rs 1,234.50" in reply and "16/02/2026" in reply and "Rs 5,000.00" in reply
    assert not DEVANAGARI.search(reply)


def test_lang_ne_then_bill_answers_in_nepali(np_services):
    """LANG NE confirms in Nepali; BILL then answers in Devanagari (a UCS-2 SMS)."""
    assert "नेपाली" in text_in(np_services, "LANG NE")
    reply = text_in(np_services, "bill")
    assert DEVANAGARI.search(reply) and "Rs 1,234.50" in reply


def test_top_pin_and_a_ten_digit_number_without_plus_tops_up_that_number(np_services, tmp_path: Path):
    """``TOP PIN 9812345678`` (DESIGN.md: smart-np numbers are written 98XXXXXXXX) sends the top-up to
    that line, through the inbox's sealing as the hook stores an MO, and the PIN is not taken as wrong."""
    from gateway.sms.runtime import inbox_seal

    profile = np_services.profile
    sender, friend = "9779802000222", "9779812345678"
    np_services.add_subscriber(sender, balance=Money(0, profile.currency))
    np_services.add_subscriber(friend, balance=Money(0, profile.currency))
    [pin] = pins(np_services, tmp_path, 1, Money(10_000, profile.currency))
    text = inbox_seal(np_services)(f"TOP {pin} 9812345678")
    assert pin not in text and text.endswith(" 9812345678")
    # UCS-2 keeps the sealed token's "@" as it is (GSM 7-bit has no such code point).
    event = sms_store.InboundSms(sender, "888", text.encode("utf-16-be"), 8, sms_store.digest(sender, "888", text))
    with np_services.ctx.store.write_uow() as uow:
        [inbox_id] = uow.inbox.apply([event], np_services.ctx.clock.now(), decode=decode_text,
                                     dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
    KeywordRouter(services=np_services, texts=Replies(Catalog.for_profile(profile), profile)).handle([inbox_id])
    assert str(outbox(np_services.ctx.store)[-1]["text"]) == "Top-up of Rs 100.00 sent to 9812345678."
    assert np_services.check_balance(friend).main == Money(10_000, profile.currency)
    assert np_services.check_balance(sender).main == Money(0, profile.currency)
