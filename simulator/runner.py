"""Start and stop the whole simulator: SMPP listener plus control API and page."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from gateway.logs import get_logger
from gateway.profile import load_profile
from simulator.control import init_app
from simulator.server import Simulator, SmppConnection
from simulator.settings import SimulatorSettings

log = get_logger("simulator")


class _Account(Protocol):
    @property
    def system_id(self) -> str: ...

    @property
    def password(self) -> str: ...


class _Operator(Protocol):
    @property
    def profile(self) -> str: ...


class GatewaySettings(Protocol):
    """What the simulator reads of the settings of the gateway it stands in for (``gateway.config.Settings``
    has it): the ``[smpp]`` account the gateway binds with and the ``[operator]`` profile it serves."""

    @property
    def smpp(self) -> _Account: ...

    @property
    def operator(self) -> _Operator: ...


@dataclass
class RunningSimulator:
    """A started simulator; ``port``/``control_port`` are the bound ports (useful with 0)."""

    simulator: Simulator
    host: str
    port: int
    control_host: str
    control_port: int
    _server: asyncio.Server
    _runner: web.AppRunner

    @property
    def control_url(self) -> str:
        return f"http://{self.control_host}:{self.control_port}"

    async def close(self) -> None:
        """Stop listening, drop every ESME connection, stop the control server."""
        self._server.close()
        self.simulator.close()
        await self._server.wait_closed()
        await self._runner.cleanup()
        await asyncio.sleep(0)  # let aborted transports run connection_lost
        log.info("simulator_stopped")


async def start_simulator(
    settings: SimulatorSettings,
    gateway: GatewaySettings,
    *,
    port: int | None = None,
    control_port: int | None = None,
    rng: random.Random | None = None,
) -> RunningSimulator:
    """Listen for SMPP on ``[simulator] host:port`` and HTTP on ``control_host:control_port``.

    Args:
        gateway: the settings of the gateway it stands in for: its ``[smpp]`` account is always
            accepted, and its operator's number plan reads the numbers the control API is given.
        port, control_port: override the configured ports (0: any free port).
        rng: random source for injected errors and receipt outcomes (tests pin it).
    """
    accounts = {**settings.accounts, gateway.smpp.system_id: gateway.smpp.password}
    simulator = Simulator(settings, accounts, rng=rng)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SmppConnection(simulator),
        settings.host,
        settings.port if port is None else port,
    )
    number_plan = load_profile(gateway.operator.profile).number_plan
    runner = web.AppRunner(init_app(simulator, settings.gateway_url, number_plan), access_log=None)
    try:
        await runner.setup()
        site = web.TCPSite(
            runner, settings.control_host,
            settings.control_port if control_port is None else control_port,
        )
        await site.start()
    except BaseException:
        server.close()
        await runner.cleanup()
        raise
    smpp_port = server.sockets[0].getsockname()[1]
    http_port = runner.addresses[0][1]
    log.info(
        "simulator_started", smpp=f"{settings.host}:{smpp_port}",
        control=f"{settings.control_host}:{http_port}",
    )
    return RunningSimulator(
        simulator, settings.host, smpp_port, settings.control_host, http_port,
        server, runner,
    )
