"""The operator console over real HTTP on 127.0.0.1, on each backend, built by the composition root.

``console`` builds a whole gateway (``gateway.app.build_gateway``: settings →
store → services → batcher) on a fresh SQLite file or PostgreSQL database
with the smart-np profile (prepaid and postpaid lines, disputes and
complaints) and a fixed clock, starts the console's application
(``build_console``) on a free loopback port, and seeds it through the
services: a prepaid line that changed its marketing choice twice and whose
SIM was reported lost and then unblocked, a postpaid line with a bill it
disputed and a complaint, three vouchers (one redeemed), and a campaign.
``Console.api`` and ``Console.page`` send real requests with a token (the
operator's unless told); ``Console.deliver`` plays the SMSC for a queued
message: claimed, submitted under SMSC message ids, and a receipt for each
(``gateway.services.sms_delivery``, as the SMPP hook records them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gateway.app import Gateway, build_console, build_gateway
from gateway.clock import FixedClock
from gateway.config import AdminSettings, DatabaseSettings, OperatorSettings, SecuritySettings, Settings, SmppSettings
from gateway.domain.channels import Channel
from gateway.domain.money import Money
from gateway.services import sms_delivery
from gateway.services.campaign import queue_campaign
from gateway.services.model import ReportLost, TopUp
from gateway.smpp.codec import decode_text
from tests.backends import BACKENDS, database_url
from tests.care import give_bill, postpaid_line

OPERATOR = "console-operator-token-0123456789"
VIEWER = "console-viewer-token-0123456789"
SECRET = "console-test-secret-0123456789"
#: Kathmandu, 1 December 2026 at noon: the November bill was issued this morning.
START = datetime(2026, 12, 1, 6, 15, tzinfo=UTC)
POSTPAID = "9779801234567"
PREPAID = "9779801234568"
STRANGER = "9779801239999"
ID_NUMBER = "NP-ID-5521"
SMSC = "selfcare@127.0.0.1:2775"


@dataclass
class Seeded:
    dispute: str = ""
    complaint: str = ""
    campaign: int = 0
    pins: list[str] = field(default_factory=list)
    lost_reference: str = ""


@dataclass
class Console:
    gateway: Gateway
    clock: FixedClock
    url: str
    http: aiohttp.ClientSession
    backend: str
    seeded: Seeded = field(default_factory=Seeded)

    @property
    def services(self) -> Any:
        return self.gateway.services

    async def api(self, path: str, *, token: str | None = OPERATOR, method: str = "GET", json: Any = None,
                  headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """``/admin/api{path}``: the status and the decoded JSON."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, f"{self.url}/admin/api{path}", json=json, headers=sent,
                                     allow_redirects=False) as response:
            body = await response.json(content_type=None)
            return response.status, body

    async def page(self, path: str, *, token: str | None = OPERATOR, method: str = "GET",
                   data: dict[str, str] | None = None, cookies: Any = None) -> tuple[int, str, Any]:
        """``/admin{path}`` (or any path): status, text, headers; redirects are not followed."""
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        async with self.http.request(method, self.url + path, data=data, headers=headers,
                                     allow_redirects=False) as response:
            return response.status, await response.text(), response.headers

    def deliver(self, outbox_id: int, *message_ids: str, stat: str = "DELIVRD") -> None:
        """The SMSC's side for one queued message: claimed, accepted under ``message_ids``, and a receipt
        with ``stat`` for each of them (a multi-part message has one id per part)."""
        store = self.gateway.store
        now = self.clock.now()
        claimed = sms_delivery.claim_outbox(store, now, 100, identity="test#1")
        claim = next(row.claim for row in claimed if row.id == outbox_id)
        self.clock.advance(timedelta(seconds=1))
        events = [sms_delivery.Submitted(outbox_id, tuple(message_ids), SMSC, claim)]
        sms_delivery.save_events(store, events, [], self.clock.now(), decode=decode_text,
                                 dedupe_window=timedelta(seconds=60), part_key=sms_delivery.part_key(SECRET))
        self.clock.advance(timedelta(seconds=4))
        receipts = [sms_delivery.DeliveryReport(mid, stat, SMSC) for mid in message_ids]
        sms_delivery.save_events(store, receipts, [], self.clock.now(), decode=decode_text,
                                 dedupe_window=timedelta(seconds=60), part_key=sms_delivery.part_key(SECRET))

    def queued_to(self, msisdn: str) -> list[Any]:
        """The messages to ``msisdn``, oldest first (through the console's own read)."""
        return list(reversed(self.services.outbox_messages(msisdn=msisdn)["messages"]))


def settings_for(tmp: Path, url: str, *, profile: str = "smart-np", viewer: str = VIEWER) -> Settings:
    return Settings(
        operator=OperatorSettings(profile=profile),
        database=DatabaseSettings(path=str(tmp / "gateway.db"), url=url, synchronous="normal"),
        smpp=SmppSettings(enabled=False),
        security=SecuritySettings(pin_secret=SECRET),
        admin=AdminSettings(token=OPERATOR, viewer_token=viewer),
    )


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
    pairs = services.generate_vouchers(count=3, amount=Money(100_00, currency), active_days=30,
                                       out=tmp / "pins.csv", batch="december")
    seeded.pins = [pin for _, pin in pairs]
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
