"""A real gateway on 127.0.0.1:0 over a real database (a SQLite file, or PostgreSQL: ``tests.backends``),
with a fixed clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.app import Gateway, build_gateway, build_web_app
from gateway.clock import FixedClock
from gateway.config import DatabaseSettings, HttpSettings, SecuritySettings, Settings
from gateway.domain.money import parse_amount
from tests.backends import BACKENDS, database_url, rows

SECRET = "ussd-test-secret-0123456789"
START = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # 10:00 in Phnom Penh
ME = "85512345678"
OTHER = "85598765432"
_ids = itertools.count(1)


def make_settings(db: Path, url: str = "", **http: object) -> Settings:
    return Settings(
        database=DatabaseSettings(path=str(db), url=url, synchronous="normal"),
        http=HttpSettings(port=0, **http),  # type: ignore[arg-type]
        security=SecuritySettings(pin_secret=SECRET),
    )


@dataclass
class Phone:
    """A handset behind an aggregator: each request carries every answer so far."""

    server: TestServer
    client: aiohttp.ClientSession
    headers: dict[str, str] = field(default_factory=dict)

    async def post(self, session_id: str, code: str, text: str, msisdn: str = ME,
                   **extra: str) -> tuple[int, str]:
        form = {"sessionId": session_id, "serviceCode": code, "phoneNumber": msisdn, "text": text, **extra}
        async with self.client.post(self.server.make_url("/ussd"), data=form, headers=self.headers) as r:
            return r.status, await r.text()

    async def dial(self, code: str, *answers: str, msisdn: str = ME, session_id: str | None = None) -> list[str]:
        """Dial ``code`` and give ``answers`` one by one; returns every screen."""
        sid = session_id or f"s{next(_ids)}"
        screens = []
        for n in range(len(answers) + 1):
            status, body = await self.post(sid, code, "*".join(answers[:n]), msisdn)
            assert status == 200, body
            screens.append(body)
            if body.startswith("END "):
                break
        return screens


@dataclass
class World:
    gateway: Gateway
    clock: FixedClock
    tmp: Path
    phone: Phone

    def add(self, msisdn: str = ME, balance: str = "6.00", **kwargs: object) -> str:
        cur = self.gateway.profile.currency
        self.gateway.services.add_subscriber(msisdn, balance=parse_amount(balance, cur),
                                             id_number=kwargs.pop("id_number", "N123456"), **kwargs)
        return msisdn

    def vouchers(self, count: int = 1, amount: str = "5") -> list[str]:
        out = self.tmp / f"v{next(_ids)}.csv"
        pairs = self.gateway.services.generate_vouchers(
            count=count, amount=parse_amount(amount, self.gateway.profile.currency), active_days=30, out=out)
        return [pin for _, pin in pairs]

    def sql(self, query: str, *params: object) -> list:
        return rows(self.gateway.store, query, *params)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock):
    """The gateway and a phone, once on each backend."""
    gateway = build_gateway(make_settings(tmp_path / "gw.db", database_url(request)), clock=clock)
    server = TestServer(build_web_app(gateway), host="127.0.0.1", port=0)
    await server.start_server()
    async with aiohttp.ClientSession() as client:
        yield World(gateway, clock, tmp_path, Phone(server, client))
    await server.close()
    gateway.close()
