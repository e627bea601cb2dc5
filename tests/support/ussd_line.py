"""A subscriber's phone on a USSD centre (the simulator) bound to a real gateway over SMPP on 127.0.0.1.

``UssdLine`` starts the simulator with a vendor's rules and the gateway
(``build_gateway`` and ``start_sms_runtime``, as ``serve`` does, on a real
database) bound to it with ``[smpp] ussd = true``; ``dial``/``answer``/``abort``
go through the simulator's control API, so every screen has crossed SMPP
twice. ``restart`` stops the gateway (unbind, database closed) and starts a
new one on the same database.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from gateway.app import Gateway, SmsSide, build_gateway, start_sms_runtime
from gateway.clock import FixedClock
from gateway.config import SmppSettings
from simulator import RunningSimulator, SimulatorSettings, start_simulator
from tests.support.ussd import ME, make_settings
from tests.support.waiting import eventually
from tests.support.world import line, pins


@dataclass
class UssdLine:
    vendor: str
    tmp: Path
    clock: FixedClock
    url: str = ""
    sim: RunningSimulator | None = None
    gateway: Gateway | None = None
    sms: SmsSide | None = None
    http: aiohttp.ClientSession | None = None
    started: list[Gateway] = field(default_factory=list)

    async def start(self) -> UssdLine:
        base = make_settings(self.tmp / "gw.db", self.url)
        self.sim = await start_simulator(SimulatorSettings(
            port=0, control_port=0, ussd_vendor=self.vendor, ussd_timeout=5.0), base,
            rng=random.Random(3))
        self.http = aiohttp.ClientSession()
        await self.start_gateway()
        return self

    def settings(self) -> Any:
        assert self.sim is not None
        base = make_settings(self.tmp / "gw.db", self.url)
        return dataclasses.replace(base, smpp=SmppSettings(
            port=self.sim.port, ussd=True, ussd_vendor=self.vendor, reconnect_min=0.05, reconnect_max=0.2,
            enquire_link_interval=1.0, outbox_poll_interval=0.05))

    async def start_gateway(self) -> None:
        self.gateway = build_gateway(self.settings(), clock=self.clock)
        self.started.append(self.gateway)
        sms = self.sms = await start_sms_runtime(self.gateway)
        await eventually(lambda: sms.bound)

    async def stop_gateway(self) -> None:
        if self.sms is not None:
            await self.sms.close()
            self.sms = None
        if self.gateway is not None:
            self.gateway.close()
            self.gateway = None

    async def restart(self) -> None:
        await self.stop_gateway()
        await self.start_gateway()

    async def close(self) -> None:
        await self.stop_gateway()
        if self.http is not None:
            await self.http.close()
        if self.sim is not None:
            await self.sim.close()

    # --- the subscriber ------------------------------------------------------------------------

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert self.http is not None and self.sim is not None
        async with self.http.post(f"{self.sim.control_url}/ussd/{path}", json=body) as resp:
            return resp.status, await resp.json()

    async def dial(self, code: str, msisdn: str = ME) -> dict[str, Any]:
        status, body = await self.post("dial", {"msisdn": msisdn, "code": code})
        assert status == 200, body
        return body

    async def answer(self, session: str, text: str) -> dict[str, Any]:
        status, body = await self.post("answer", {"session": session, "text": text})
        assert status == 200, body
        return body

    async def walk(self, code: str, *answers: str, msisdn: str = ME) -> list[str]:
        """Dial and answer each screen in turn: every screen's text ("END " before the last one's)."""
        screen = await self.dial(code, msisdn)
        texts = [screen["text"]]
        for text in answers:
            assert not screen["end"], texts
            screen = await self.answer(screen["session"], text)
            texts.append(screen["text"])
        texts[-1] = ("END " if screen["end"] else "CON ") + texts[-1]
        return texts

    async def abort(self, session: str) -> None:
        status, body = await self.post("abort", {"session": session})
        assert status == 200, body

    # --- the operator --------------------------------------------------------------------------

    def add(self, msisdn: str = ME, balance: str = "6.00") -> str:
        assert self.gateway is not None
        return line(self.gateway.services, msisdn, balance, id_number="N123456")

    def vouchers(self, count: int = 1, amount: str = "5") -> list[str]:
        assert self.gateway is not None
        return pins(self.gateway.services, self.tmp, count, amount)

    def balance(self, msisdn: str = ME) -> int:
        assert self.gateway is not None
        return int(self.gateway.services.check_balance(msisdn).main.minor)
