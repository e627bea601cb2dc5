"""GATEWAY_OPERATOR_PROFILE=smart-np over real HTTP on 127.0.0.1, on both backends, in English and Nepali:
the balance code and the Bill item of a postpaid line (004_1cabed6f540fdada.txt 7.3-7.7), prepaid as smart-kh."""

from __future__ import annotations

import re

import pytest

from tests.support.ussd import NP_POSTPAID, NP_PREPAID, Phone

DEVANAGARI = re.compile("[\u0900-\u097f]")

async def pages(phone: Phone, code: str, *answers: str, msisdn: str) -> str:
    """Every page of the result (98 for more), joined."""
    answers_ = list(answers)
    screens = await phone.dial(code, *answers_, msisdn=msisdn)
    seen = [screens[-1]]
    while seen[-1].startswith("CON ") and "\n98 " in seen[-1] and len(seen) < 8:
        answers_.append("98")
        seen.append((await phone.dial(code, *answers_, msisdn=msisdn))[-1])
    return "\n".join(seen)


@pytest.mark.parametrize("language", ["en", "ne"])
async def test_balance_code_of_a_postpaid_line_shows_bill_due_day_dues_and_deposit(np, language):
    """*124#: the latest bill, due 16/11/2026 (7.4), dues against the deposit, and the 7.7 notice."""
    gateway, phone = np
    gateway.services.set_language(NP_POSTPAID, language)
    text = await pages(phone, "*124#", msisdn=NP_POSTPAID)
    assert "Rs 960.00" in text and "16/11/2026" in text and "Rs 1,000.00" in text
    assert "17/11/2026" in text  # discontinued after the 7-day notice unless paid
    assert bool(DEVANAGARI.search(text)) == (language == "ne"), text


@pytest.mark.parametrize("language", ["en", "ne"])
async def test_bill_item_of_the_self_care_menu(np, language):
    """*100#: a Bill item (the profile has postpaid lines) shows the same bill."""
    gateway, phone = np
    gateway.services.set_language(NP_POSTPAID, language)
    [menu] = await phone.dial("*100#", msisdn=NP_POSTPAID)
    assert menu.startswith("CON ") and ("6 Bill" in menu or "6 बिल" in menu or "\n98 " in menu)
    text = await pages(phone, "*100#", "6", msisdn=NP_POSTPAID)
    assert "Rs 960.00" in text and "16/11/2026" in text


async def test_prepaid_balance_is_as_on_smart_kh_with_kathmandu_dates(np):
    """A prepaid line: main balance valid until the Kathmandu day 30 days on (10/12/2026, not 11/12)."""
    _, phone = np
    [screen] = await phone.dial("*124#", msisdn=NP_PREPAID)
    assert screen == "END Main balance: Rs 500.00, valid until 10/12/2026."


async def test_bill_on_a_prepaid_line_is_refused_politely(np):
    """The Bill item on a prepaid line: a short screen, the session ends."""
    _, phone = np
    screens = await phone.dial("*100#", "6", msisdn=NP_PREPAID)
    assert screens[-1] == "END Bills are for postpaid lines only."
