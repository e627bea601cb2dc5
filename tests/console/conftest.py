"""The operator console over real HTTP on 127.0.0.1, on each backend, built by the composition root.

``console`` builds a whole gateway (``gateway.app.build_gateway``: settings →
store → services → batcher) on a fresh SQLite file or PostgreSQL database
with the smart-np profile (prepaid and postpaid lines, disputes and
complaints) and a fixed clock, starts the console's application
(``build_console``) on a free loopback port, and seeds it through the
services: a prepaid line that changed its marketing choice twice and whose
SIM was reported lost and then unblocked, a postpaid line with a bill it
disputed and a complaint, three vouchers (one redeemed), and a campaign
(``tests.support.console`` is the client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.app import build_console, build_gateway
from gateway.clock import FixedClock
from gateway.domain.channels import Channel
from gateway.domain.money import Money
from gateway.services.campaign import queue_campaign
from gateway.services.model import ReportLost, TopUp
from tests.support.backends import BACKENDS, database_url
from tests.support.care import give_bill, postpaid_line
from tests.support.console import ID_NUMBER, POSTPAID, PREPAID, START, STRANGER, Console, Seeded, settings_for
from tests.support.world import pins


def seed(console: Console, tmp: Path) -> Seeded:
    """The lines, cases, vouchers and messages the tests look at (see the module docstring)."""
    services, clock = console.services, console.clock
    currency = services.profile.currency
    seeded = console.seeded
    services.add_subscriber(PREPAID, balance=Money(50_00, currency), id_number=ID_NUMBER)
    clock.advance(timedelta(minutes=1))
    services.set_marketing_consent(PREPAID, False, Channel.SMS)
    clock.advance(timedelta(minutes=1))
    services.set_marketing_consent(PREPAID, True, Channel.USSD)
    clock.advance(timedelta(minutes=1))
    seeded.lost_reference = services.report_lost_sim(ReportLost(PREPAID, PREPAID, ID_NUMBER, Channel.SMS)).reference
    clock.advance(timedelta(minutes=1))
    services.unblock(PREPAID)
    seeded.pins = pins(services, tmp, 3, Money(100_00, currency), batch="december")
    services.top_up(TopUp(PREPAID, seeded.pins[0], Channel.USSD))
    postpaid_line(services, POSTPAID, 5_000_00)
    give_bill(services, POSTPAID, date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1), 1_234_50)
    clock.advance(timedelta(minutes=5))
    seeded.dispute = services.dispute_bill(POSTPAID, "roaming I never used", Channel.SMS).reference
    seeded.complaint = services.file_complaint(POSTPAID, "No signal at home since Tuesday", Channel.SMS).reference
    services.set_marketing_consent(POSTPAID, False, Channel.SMS)
    clock.advance(timedelta(minutes=5))
    seeded.campaign = queue_campaign(services.ctx, "Dashain offer: 2 GB for Rs 99", [PREPAID, POSTPAID, STRANGER],
                                     channel="cli").campaign_id or 0
    clock.advance(timedelta(minutes=5))
    return seeded


@pytest.fixture(params=BACKENDS)
async def console(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Console]:
    """A seeded gateway's console on a free 127.0.0.1 port, once on each backend."""
    clock = FixedClock(START)
    gateway = build_gateway(settings_for(tmp_path, database_url(request)), clock=clock)
    app, close = build_console(gateway)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        made = Console(gateway, clock, f"http://127.0.0.1:{port}", http, request.param)
        seed(made, tmp_path)
        try:
            yield made
        finally:
            await runner.cleanup()
            close()
            gateway.close()
