"""SMS keywords on profile smart-np, on both backends: BAL and BILL of a postpaid line answer its bill
(004_1cabed6f540fdada.txt 7.3-7.7), LANG NE switches to Nepali, and the reply is in the subscriber's language."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.domain.money import Money
from gateway.profile import load_profile
from gateway.services import Context, Services
from gateway.sms.router import KeywordRouter
from gateway.smpp.codec import decode_text
from gateway.store import sms as sms_store
from menus.catalog import Catalog
from menus.replies import Replies
from tests.sms.conftest import PART_KEY, outbox

LINE = "9779802000111"
DEVANAGARI = re.compile("[\u0900-\u097f]")


@pytest.fixture
def np_services(store, clock, tmp_path: Path) -> Services:  # type: ignore[no-untyped-def]
    profile = load_profile("smart-np")
    svc = Services(Context(store=store, clock=clock, profile=profile, pin_secret="s" * 20,
                           notices=Replies(Catalog.for_profile(profile), profile)))
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
