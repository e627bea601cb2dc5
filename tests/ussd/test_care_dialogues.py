"""Whole *100# dialogues of the customer-care requests (smart-np), through a real HTTP server on 127.0.0.1,
in English and Nepali, on both backends: seeds/004_1cabed6f540fdada.txt 7.6, 3(B).4, 9.3, 9.1, 10.1, 5.1(b)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway, build_web_app
from gateway.clock import FixedClock
from gateway.config import OperatorSettings
from gateway.domain.money import Money
from tests.support.backends import BACKENDS, database_url, rows
from tests.support.care import give_bill, postpaid_line
from tests.support.ussd import Phone, World, make_settings

KTM = ZoneInfo("Asia/Kathmandu")
EN = "9779801234567"
NE = "9779801234568"
PREPAID = "9779801234569"


@pytest.fixture(params=BACKENDS)
async def np_world(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A smart-np gateway and a phone; two billed postpaid lines (en, ne) and a prepaid one."""
    clock = FixedClock(datetime(2026, 12, 2, 10, 0, tzinfo=KTM).astimezone(UTC))
    settings = dataclasses.replace(make_settings(tmp_path / "gw.db", database_url(request)),
                                   operator=OperatorSettings(profile="smart-np"))
    gateway = build_gateway(settings, clock=clock)
    services = gateway.services
    for msisdn, language in ((EN, "en"), (NE, "ne")):
        postpaid_line(services, msisdn, 500_000, language=language, id_number="N123456")
        give_bill(services, msisdn, date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1), 123_450)
    services.add_subscriber(PREPAID, balance=Money(10_000, gateway.profile.currency))
    server = TestServer(build_web_app(gateway), host="127.0.0.1", port=0)
    await server.start_server()
    async with aiohttp.ClientSession() as client:
        yield World(gateway, clock, tmp_path, Phone(server, client))
    await server.close()
    gateway.close()


def option(world: World, screen_id: str) -> str:
    """The number of the main-menu option leading to ``screen_id`` (as the profile's tree has it)."""
    options = world.gateway.engine.menus.trees["selfcare"].screens["main"].options
    return str(next(n for n, o in enumerate(options, 1) if o.target == screen_id))


async def dial_all(world: World, *answers: str, msisdn: str) -> tuple[list[str], str]:
    """Dial *100# with ``answers``, then page through the result (98) to its END: the screens and
    the whole result text (its pages joined, without the paging lines)."""
    screens = await world.phone.dial("*100#", *answers, msisdn=msisdn, session_id=f"all-{msisdn}-{answers}")
    pages = [screens[-1]]
    more = list(answers)
    while pages[-1].startswith("CON ") and len(pages) < 8:
        more.append("98")
        status, body = await world.phone.post(f"all-{msisdn}-{answers}", "*100#", "*".join(more), msisdn)
        assert status == 200
        pages.append(body)
    assert pages[-1].startswith("END "), pages
    text = " ".join(line for page in pages for line in page[4:].split("\n")
                    if not line.startswith(("98 ", "0 ")))
    return screens, text


def sms_to(world: World, msisdn: str) -> list[str]:
    return [r[0] for r in rows(world.gateway.store, "SELECT text FROM sms_outbox WHERE destination = ? ORDER BY id",
                               msisdn)]


async def test_the_menu_offers_the_requests_in_both_languages(np_world):
    """smart-np's *100# lists statement, dispute, complaint and number change (paged: 98 for more)."""
    first = (await np_world.phone.dial("*100#", msisdn=EN))[0]
    pages = [first]
    answers: list[str] = []
    while "98 " in pages[-1] and len(pages) < 5:
        answers.append("98")
        pages.append((await np_world.phone.dial("*100#", *answers, msisdn=EN))[-1])
    shown = "\n".join(pages)
    for label in ("Detailed statement", "Dispute my bill", "Complaint (in writing)", "Change my number"):
        assert label in shown
    ne_pages = [(await np_world.phone.dial("*100#", msisdn=NE))[0]]
    answers = []
    while "98 " in ne_pages[-1] and len(ne_pages) < 6:
        answers.append("98")
        ne_pages.append((await np_world.phone.dial("*100#", *answers, msisdn=NE))[-1])
    assert "उजुरी (लिखित)" in "\n".join(ne_pages)


async def test_statement_dialogue_in_english(np_world):
    """7.6: confirm, then the acceptance with the charge; the statement follows by SMS."""
    screens, result = await dial_all(np_world, option(np_world, "statement"), "1", msisdn=EN)
    assert screens[1].startswith("CON Get a detailed statement of your latest bill by SMS?")
    assert result.startswith("Detailed statement ST-")
    assert "Rs 50.00 is added to your next bill" in result
    assert any(text.startswith("Statement ST-") for text in sms_to(np_world, EN))


async def test_statement_refused_in_nepali_after_the_15_days(np_world):
    np_world.clock.set(datetime(2026, 12, 17, 0, 0, tzinfo=KTM).astimezone(UTC))
    _, result = await dial_all(np_world, option(np_world, "statement"), "1", msisdn=NE)
    assert result.startswith("विस्तृत विवरण उपलब्ध छैन") and "15 दिनभित्र" in result
    assert sms_to(np_world, NE) == []


async def test_dispute_dialogue_in_nepali(np_world):
    """3(B).4, 9.3: the reference and the settlement dates, the amount held as deposit."""
    screens, result = await dial_all(np_world, option(np_world, "dispute"), "1", msisdn=NE)
    assert screens[1].startswith("CON पछिल्लो बिलमा विवाद?")
    assert "DP-" in result and "धरौटी" in result
    assert [d.status for d in np_world.gateway.services.list_disputes(open_only=True)] == ["open"]


async def test_dispute_answered_no_changes_nothing(np_world):
    """2 on the confirmation goes back to the menu: nothing disputed."""
    screens = await np_world.phone.dial("*100#", option(np_world, "dispute"), "2", msisdn=EN)
    assert screens[-1].startswith("CON ") and np_world.gateway.services.list_disputes() == []


async def test_complaint_dialogue_typed_on_the_handset(np_world):
    """9.1: the typed text is the complaint; the reply says complaints are taken in writing only."""
    screens, result = await dial_all(np_world, option(np_world, "complaint"), "No signal at home in Lalitpur",
                                     msisdn=PREPAID)
    assert screens[1].startswith("CON Type your complaint (complaints are taken in writing only):")
    assert "reference CP-" in result and "not by phone call" in result
    [row] = np_world.gateway.services.list_complaints()
    assert (row.msisdn, row.text, row.channel) == (PREPAID, "No signal at home in Lalitpur", "ussd")


async def test_number_change_refused_with_arrears_then_accepted(np_world):
    """5.1(b): the reason while the November bill is overdue (from 17 Dec); a reference on a line without."""
    np_world.clock.set(datetime(2026, 12, 17, 8, 0, tzinfo=KTM).astimezone(UTC))
    _, result = await dial_all(np_world, option(np_world, "number_change"), "1", msisdn=EN)
    assert result == "Your number cannot be changed while you have arrears: please pay Rs 1,234.50 first."
    _, result = await dial_all(np_world, option(np_world, "number_change"), "1", msisdn=PREPAID)
    assert "Number change request NC-" in result


async def test_a_resent_request_disputes_once(np_world):
    """The aggregator resends the last request: the saved result comes back, no second dispute."""
    code, answers = "*100#", (option(np_world, "dispute"), "1")
    first = await np_world.phone.dial(code, *answers, msisdn=EN, session_id="resend-1")
    status, again = await np_world.phone.post("resend-1", code, "*".join(answers), EN)
    assert status == 200 and again == first[-1]
    assert len(np_world.gateway.services.list_disputes()) == 1
