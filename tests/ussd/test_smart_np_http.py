"""GATEWAY_OPERATOR_PROFILE=smart-np over real HTTP on 127.0.0.1, on both backends, in English and Nepali:
the balance code and the Bill item of a postpaid line (004_1cabed6f540fdada.txt 7.3-7.7), prepaid as smart-kh."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway, build_web_app
from gateway.clock import FixedClock
from gateway.config import OperatorSettings
from gateway.domain.money import parse_amount
from tests.backends import BACKENDS, database_url

from .conftest import Phone, make_settings

POSTPAID = "9779802000111"
PREPAID = "9779801234567"
DEVANAGARI = re.compile("[\u0900-\u097f]")
START = datetime(2026, 11, 10, 18, 14, tzinfo=UTC)  # 23:59 on 10/11 in Kathmandu


@pytest.fixture(params=BACKENDS)
async def np(request: pytest.FixtureRequest, tmp_path: Path):
    settings = make_settings(tmp_path / "gw.db", database_url(request))
    settings = dataclasses.replace(settings, operator=OperatorSettings(profile="smart-np"))
    clock = FixedClock(START)
    gateway = build_gateway(settings, clock=clock)
    money = gateway.profile.currency
    gateway.services.add_subscriber(PREPAID, balance=parse_amount("500", money), valid_days=30)
    gateway.services.add_subscriber(POSTPAID, balance=parse_amount("0", money), type_="postpaid",
                                    deposit=parse_amount("1000", money))
    bills = tmp_path / "bills.csv"
    bills.write_text("msisdn,period_start,period_end,issued_on,amount\n"
                     f"{POSTPAID},2026-10-01,2026-10-31,2026-11-01,960.00\n")
    gateway.services.import_bills(bills)
    server = TestServer(build_web_app(gateway), host="127.0.0.1", port=0)
    await server.start_server()
    async with aiohttp.ClientSession() as client:
        yield gateway, Phone(server, client)
    await server.close()
    gateway.close()


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
    gateway.services.set_language(POSTPAID, language)
    text = await pages(phone, "*124#", msisdn=POSTPAID)
    assert "Rs 960.00" in text and "16/11/2026" in text and "Rs 1,000.00" in text
    assert "17/11/2026" in text  # discontinued after the 7-day notice unless paid
    assert bool(DEVANAGARI.search(text)) == (language == "ne"), text


@pytest.mark.parametrize("language", ["en", "ne"])
async def test_bill_item_of_the_self_care_menu(np, language):
    """*100#: a Bill item (the profile has postpaid lines) shows the same bill."""
    gateway, phone = np
    gateway.services.set_language(POSTPAID, language)
    [menu] = await phone.dial("*100#", msisdn=POSTPAID)
    assert menu.startswith("CON ") and ("6 Bill" in menu or "6 बिल" in menu or "\n98 " in menu)
    text = await pages(phone, "*100#", "6", msisdn=POSTPAID)
    assert "Rs 960.00" in text and "16/11/2026" in text


async def test_prepaid_balance_is_as_on_smart_kh_with_kathmandu_dates(np):
    """A prepaid line: main balance valid until the Kathmandu day 30 days on (10/12/2026, not 11/12)."""
    _, phone = np
    [screen] = await phone.dial("*124#", msisdn=PREPAID)
    assert screen == "END Main balance: Rs 500.00, valid until 10/12/2026."


async def test_bill_on_a_prepaid_line_is_refused_politely(np):
    """The Bill item on a prepaid line: a short screen, the session ends."""
    _, phone = np
    screens = await phone.dial("*100#", "6", msisdn=PREPAID)
    assert screens[-1] == "END Bills are for postpaid lines only."
