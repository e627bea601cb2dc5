"""The operator console over real HTTP on 127.0.0.1: ``Console`` sends real requests to it.

``Console.api`` and ``Console.page`` send real requests with a token (the
operator's unless told); ``Console.deliver`` plays the SMSC for a queued
message: claimed, submitted under SMSC message ids, and a receipt for each
(``gateway.services.sms_delivery``, as the SMPP hook records them). The
``console`` fixture of ``tests/console`` builds and seeds the gateway behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from gateway.app import Gateway
from gateway.clock import FixedClock
from gateway.config import AdminSettings, DatabaseSettings, OperatorSettings, SecuritySettings, Settings, SmppSettings
from gateway.services import sms_delivery
from gateway.smpp.codec import decode_text

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
