"""The USSD tests: a real gateway on 127.0.0.1:0 and a phone (``tests.support.ussd``), on each backend,
with a fixed clock at ``START``; ``np`` is a smart-np one with its own lines and clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.app import build_gateway, build_web_app
from gateway.clock import FixedClock
from gateway.config import OperatorSettings
from gateway.domain.money import parse_amount
from tests.support.backends import BACKENDS, database_url
from tests.support.ussd import NP_POSTPAID, NP_PREPAID, Phone, make_settings, serving
from tests.support.world import START

#: 23:59 on 10/11 in Kathmandu, for the ``np`` gateway.
NP_START = datetime(2026, 11, 10, 18, 14, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock):
    """The gateway and a phone, once on each backend."""
    async with serving(make_settings(tmp_path / "gw.db", database_url(request)), clock, tmp_path) as w:
        yield w


@pytest.fixture(params=BACKENDS)
async def np(request: pytest.FixtureRequest, tmp_path: Path):
    """A smart-np gateway with a prepaid line and a billed postpaid one, and a phone, on each backend."""
    settings = make_settings(tmp_path / "gw.db", database_url(request))
    settings = dataclasses.replace(settings, operator=OperatorSettings(profile="smart-np"))
    clock = FixedClock(NP_START)
    gateway = build_gateway(settings, clock=clock)
    money = gateway.profile.currency
    gateway.services.add_subscriber(NP_PREPAID, balance=parse_amount("500", money), valid_days=30)
    gateway.services.add_subscriber(NP_POSTPAID, balance=parse_amount("0", money), type_="postpaid",
                                    deposit=parse_amount("1000", money))
    bills = tmp_path / "bills.csv"
    bills.write_text("msisdn,period_start,period_end,issued_on,amount\n"
                     f"{NP_POSTPAID},2026-10-01,2026-10-31,2026-11-01,960.00\n")
    gateway.services.import_bills(bills)
    server = TestServer(build_web_app(gateway), host="127.0.0.1", port=0)
    await server.start_server()
    async with aiohttp.ClientSession() as client:
        yield gateway, Phone(server, client)
    await server.close()
    gateway.close()
