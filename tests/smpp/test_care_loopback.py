"""The customer-care keywords end to end on loopback: MO through the project's SMSC simulator over SMPP,
the gateway's answer and the statement SMS back through it, in English and Nepali (UCS-2).

smart-np, seeds/004_1cabed6f540fdada.txt 7.6 (statement), 9.3 (dispute), 9.1/10.1 (complaint), 5.1(b).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from gateway.app import default_texts
from gateway.clock import SystemClock
from gateway.config import Settings
from gateway.profile import OperatorProfile, load_profile
from gateway.services.api import Services
from gateway.store import Store
from simulator import RunningSimulator, SimulatorSettings, start_simulator
from tests.support.care import give_bill, postpaid_line
from tests.support.smsc import Start
from tests.support.waiting import eventually
from tests.support.world import services_for

EN = "9779801234567"
NE = "9779801234568"
KTM = ZoneInfo("Asia/Kathmandu")


@pytest.fixture
def profile() -> OperatorProfile:
    return load_profile("smart-np")


@pytest.fixture
def services(store: Store, clock: SystemClock, profile: OperatorProfile) -> Services:
    """Two postpaid lines billed today (en, ne), with the real texts as the notices."""
    svc = services_for(store, clock, profile, texts=True)
    today = datetime.now(KTM).date()
    for msisdn, language in ((EN, "en"), (NE, "ne")):
        postpaid_line(svc, msisdn, 500_000, language=language)
        give_bill(svc, msisdn, today.replace(day=1), today, today, 123_450)
    return svc


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    settings = SimulatorSettings(port=0, control_port=0, receipt_delay=0.05)
    running = await start_simulator(settings, Settings(), rng=random.Random(1))
    yield running
    await running.close()


async def mo(sim: RunningSimulator, source: str, text: str) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{sim.control_url}/mo", json={"from": source, "to": "888", "text": text}) as resp:
        assert resp.status == 202


async def mt_texts(sim: RunningSimulator, to: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` messages the simulator received for ``to`` (bounded wait)."""
    got: list[dict[str, Any]] = []
    for _ in range(400):
        async with aiohttp.ClientSession() as http, http.get(f"{sim.control_url}/mt", params={"to": to}) as resp:
            got = list(await resp.json())
        if len(got) >= count:
            return got
        await asyncio.sleep(0.02)
    raise AssertionError(f"{len(got)} of {count} messages for {to}: {got}")


async def test_statement_in_english_reply_and_statement_sms(sim: RunningSimulator, start_gateway: Start,
                                                            profile: OperatorProfile) -> None:
    """STATEMENT: the acceptance reply and the statement itself, both from 888, GSM 7-bit."""
    rt = await start_gateway(sim.port, texts=default_texts(profile))
    await eventually(lambda: rt.bound)
    await mo(sim, EN, "STATEMENT")
    messages = await mt_texts(sim, EN, 2)
    texts = [m["text"] for m in messages]
    assert any(t.startswith("Detailed statement ST-") and "Rs 50.00" in t for t in texts)
    assert any(t.startswith("Statement ST-") for t in texts)
    assert {m["from"] for m in messages} == {"888"} and {m["data_coding"] for m in messages} == {0}


async def test_dispute_and_complaint_in_nepali_ucs2(sim: RunningSimulator, start_gateway: Start,
                                                   profile: OperatorProfile, services: Services) -> None:
    """DISPUTE and a Devanagari COMPLAINT from a Nepali speaker: answered in Nepali (UCS-2), text kept as written."""
    rt = await start_gateway(sim.port, texts=default_texts(profile))
    await eventually(lambda: rt.bound)
    await mo(sim, NE, "DISPUTE")
    [dispute] = await mt_texts(sim, NE, 1)
    assert "DP-" in dispute["text"] and "धरौटी" in dispute["text"] and dispute["data_coding"] == 8
    await mo(sim, NE, "COMPLAINT घरमा नेटवर्क छैन")
    messages = await mt_texts(sim, NE, 2)
    assert "CP-" in messages[1]["text"] and "फोन कलबाट होइन" in messages[1]["text"]
    [complaint] = services.list_complaints()
    assert complaint.text == "घरमा नेटवर्क छैन" and complaint.msisdn == NE
