"""A real gateway on 127.0.0.1:0 over a real database (a SQLite file, or PostgreSQL), and the handsets
that talk to it over HTTP: ``Phone`` (every answer so far, as Africa's Talking sends them) and
``DialectPhone`` (the JSON dialects). ``serving`` runs one for a block; ``another_gateway`` starts a
second one on the same database."""

from __future__ import annotations

import dataclasses
import itertools
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from gateway.app import Gateway, build_gateway, build_web_app
from gateway.clock import FixedClock
from gateway.config import DatabaseSettings, HttpSettings, SecuritySettings, Settings
from gateway.ussd.dialects import JSON_DIALECTS
from tests.support.backends import rows
from tests.support.world import line, pins

SECRET = "ussd-test-secret-0123456789"
ME = "85512345678"
OTHER = "85598765432"
#: The smart-np lines of the ``np`` gateway (``tests/ussd/conftest.py``).
NP_POSTPAID = "9779802000111"
NP_PREPAID = "9779801234567"
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
        return line(self.gateway.services, msisdn, balance, id_number=kwargs.pop("id_number", "N123456"),
                    **kwargs)

    def vouchers(self, count: int = 1, amount: str = "5") -> list[str]:
        return pins(self.gateway.services, self.tmp, count, amount)

    def sql(self, query: str, *params: object) -> list:
        return rows(self.gateway.store, query, *params)


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


async def another_gateway(tmp_path: Path, clock: FixedClock, url: str = "", **http: object,
                          ) -> tuple[Gateway, TestServer]:
    """Another gateway on the same database (``url``: the world's PostgreSQL one, if any)."""
    gateway = build_gateway(make_settings(tmp_path / "gw.db", url, **http), clock=clock)
    server = TestServer(build_web_app(gateway), host="127.0.0.1", port=0)
    await server.start_server()
    return gateway, server


#: An end-of-session report as Africa's Talking sends it to ``POST /ussd/events``.
GOOD_REPORT = {"sessionId": "ATUid_ev1", "serviceCode": "*100#", "phoneNumber": "+85512345678",
               "networkCode": "45606", "status": "Incomplete", "input": "2*1", "durationInMillis": "15320",
               "hopsCount": "3", "lastAppResponse": "CON Enter the card PIN:\n0 Back", "errorMessage": "",
               "cost": "USD 0.0100"}


async def report(world: World, headers: dict[str, str] | None = None, **fields: str | None) -> tuple[int, str]:
    form = {k: v for k, v in {**GOOD_REPORT, **fields}.items() if v is not None}
    phone = world.phone
    async with phone.client.post(phone.server.make_url("/ussd/events"), data=form, headers=headers or {}) as r:
        return r.status, await r.text()


async def impatient_gateway(world: World, clock: FixedClock) -> tuple[Gateway, TestServer]:
    """A second gateway on the world's database that gives up on a busy database after 0.3 s."""
    settings = world.gateway.settings
    settings = dataclasses.replace(settings, database=dataclasses.replace(settings.database, busy_timeout_ms=300))
    gateway = build_gateway(settings, clock=clock)
    server = TestServer(build_web_app(gateway), host="127.0.0.1", port=0)
    await server.start_server()
    return gateway, server


def hold_the_database(gateway: Gateway) -> Callable[[], object]:
    """Take what a write needs from ``gateway``: SQLite's write lock, or every pooled PostgreSQL connection."""
    store = gateway.store
    if getattr(store, "conn", None) is not None:
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")

        def release() -> None:
            blocker.execute("ROLLBACK")
            blocker.close()
        return release
    held = [store.pool.getconn() for _ in range(store.pool.max_size)]
    return lambda: [store.pool.putconn(conn) for conn in held]


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
