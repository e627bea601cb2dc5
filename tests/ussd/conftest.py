"""A real gateway on 127.0.0.1:0 over a real database (a SQLite file, or PostgreSQL: ``tests.backends``),
with a fixed clock."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
from gateway.ussd.dialects import JSON_DIALECTS
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


@asynccontextmanager
async def serving(settings: Settings, clock: FixedClock, tmp_path: Path) -> AsyncIterator[World]:
    """A gateway of ``settings`` on 127.0.0.1:0 and a phone, until the block ends."""
    gateway = build_gateway(settings, clock=clock)
    try:
        server = TestServer(build_web_app(gateway), host="127.0.0.1", port=0)
    except BaseException:
        gateway.close()
        raise
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as client:
            yield World(gateway, clock, tmp_path, Phone(server, client))
    finally:
        await server.close()
        gateway.close()


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock):
    """The gateway and a phone, once on each backend."""
    async with serving(make_settings(tmp_path / "gw.db", database_url(request)), clock, tmp_path) as w:
        yield w


# --- the other dialects ------------------------------------------------------------

def _bare(code: str) -> str:
    return code.strip("*#")


def dialect_request(dialect: str, session_id: str, msisdn: str, dial: str, answers: tuple[str, ...],
                    ) -> dict[str, object]:
    """The request an aggregator of ``dialect`` sends after ``dial`` and then ``answers``.

    The first request of a latest-answer dialect carries the dial string
    whole (``*123*PIN#``), each later one only the last answer; Africa's
    Talking sends every answer so far. Numbers go as strings and as numbers,
    as aggregators mix them.
    """
    code = "*" + _bare(dial).split("*")[0] + "#"
    first = not answers
    latest = dial if first else answers[-1]
    if dialect == "africastalking":
        segments = tuple(_bare(dial).split("*")[1:])
        return {"sessionId": session_id, "serviceCode": code, "phoneNumber": msisdn,
                "text": "*".join(segments + answers)}
    if dialect == "hubtel":
        return {"Type": "Initiation" if first else "Response", "Mobile": msisdn, "SessionId": session_id,
                "ServiceCode": _bare(code), "Message": latest, "Operator": "smart",
                "Sequence": len(answers) + 1, "ClientState": ""}
    if dialect == "nalo":
        return {"USERID": "SELFCARE", "MSISDN": msisdn, "USERDATA": latest, "MSGTYPE": first,
                "NETWORK": "SMART", "SESSIONID": session_id}
    if dialect == "arkesel":
        return {"sessionID": session_id, "userID": "SELFCARE", "newSession": first, "msisdn": msisdn,
                "userData": latest, "network": "SMART"}
    if dialect == "madapi":
        return {"sessionId": session_id, "messageType": "0" if first else "1", "msisdn": msisdn,
                "serviceCode": code, "ussdString": latest}
    raise ValueError(dialect)


def screen_of(dialect: str, reply: dict[str, object]) -> str:
    """A dialect's JSON reply as ``CON text`` / ``END text``, so every dialect meets the same expectations."""
    text, end = JSON_DIALECTS[dialect].read_reply(reply)
    return ("END " if end else "CON ") + text


@dataclass
class DialectPhone:
    """A handset behind an aggregator of ``dialect``, on ``POST /ussd/<dialect>``."""

    dialect: str
    server: TestServer
    client: aiohttp.ClientSession
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/ussd/{self.dialect}"

    async def send(self, body: object) -> tuple[int, str]:
        """Post ``body`` as the dialect does (JSON; a form for Africa's Talking): status, raw reply."""
        url = self.server.make_url(self.path)
        if self.dialect == "africastalking":
            request = self.client.post(url, data=body, headers=self.headers)
        else:
            request = self.client.post(url, json=body, headers=self.headers)
        async with request as r:
            return r.status, await r.text()

    async def step(self, session_id: str, dial: str, *answers: str, msisdn: str = ME) -> str:
        """One request (after ``answers``): its screen as ``CON …`` / ``END …``."""
        status, text = await self.send(dialect_request(self.dialect, session_id, msisdn, dial, answers))
        assert status == 200, text
        return text if self.dialect == "africastalking" else screen_of(self.dialect, json.loads(text))

    async def dial(self, dial: str, *answers: str, msisdn: str = ME, session_id: str | None = None) -> list[str]:
        """Dial ``dial`` (``*123*PIN#`` whole) and give ``answers`` one by one; returns every screen."""
        sid = session_id or f"{self.dialect[0]}{next(_ids)}"
        screens = []
        for n in range(len(answers) + 1):
            screens.append(await self.step(sid, dial, *answers[:n], msisdn=msisdn))
            if screens[-1].startswith("END "):
                break
        return screens
