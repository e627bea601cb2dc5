"""``demo``: the SMSC simulator and the gateway on a freshly seeded database.

Everything runs in one process on loopback with the embedded default
configuration (the demo PIN secret is accepted here and nowhere else); the
gateway binds over SMPP to the simulator, and the console shows what to dial.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli import DEMO_DB, add_config_option
from gateway.config import Settings, load_settings
from gateway.logs import configure_logging

if TYPE_CHECKING:  # the simulator is imported when the demo runs, never with the CLI
    from simulator import SimulatorSettings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo", help="simulator + gateway on a seeded demo database; prints what to dial")
    add_config_option(parser)
    parser.add_argument("--db", default=DEMO_DB, metavar="PATH", help=f"demo database (default {DEMO_DB})")
    parser.add_argument("--profile", metavar="NAME",
                        help="operator profile (config/operators/NAME.toml), e.g. smart-np; default from config")
    parser.add_argument("--keep", action="store_true", help="keep the existing demo database instead of reseeding")
    parser.add_argument("--http-port", type=int, metavar="N", help="USSD endpoint port (default from config)")
    parser.add_argument("--smpp-port", type=int, metavar="N", help="simulator SMPP port (default from config)")
    parser.add_argument("--control-port", type=int, metavar="N",
                        help="simulator control/web port (default from config)")
    parser.set_defaults(run=run)


def demo_simulator(settings: Settings, args: argparse.Namespace) -> SimulatorSettings:
    """The simulator's ``[simulator]`` settings with the demo's ports, its phone page dialling this gateway."""
    from simulator import load_simulator_settings

    sim = load_simulator_settings(getattr(args, "config", None))
    http_port = args.http_port if args.http_port is not None else settings.http.port
    return dataclasses.replace(
        sim,
        port=args.smpp_port if args.smpp_port is not None else sim.port,
        control_port=args.control_port if args.control_port is not None else sim.control_port,
        gateway_url=f"http://{settings.http.host}:{http_port}/ussd",
    )


def demo_settings(settings: Settings, args: argparse.Namespace, sim: SimulatorSettings | None = None) -> Settings:
    """The configuration with the demo's database and the ESME pointed at the simulator (``sim``, else
    ``demo_simulator``'s)."""
    sim = demo_simulator(settings, args) if sim is None else sim
    http = dataclasses.replace(settings.http, port=args.http_port if args.http_port is not None else settings.http.port)
    operator = settings.operator
    if getattr(args, "profile", None):
        operator = dataclasses.replace(operator, profile=args.profile)
    return dataclasses.replace(
        settings,
        operator=operator,
        database=dataclasses.replace(settings.database, path=args.db, url="", synchronous="normal"),
        http=http,
        smpp=dataclasses.replace(settings.smpp, enabled=True, host=sim.host, port=sim.port),
    )


def run(args: argparse.Namespace) -> int:
    from gateway.app import build_gateway
    from gateway.demo_seed import DemoData, seed

    configured = load_settings(args.config)
    sim = demo_simulator(configured, args)
    settings = demo_settings(configured, args, sim)
    configure_logging(settings.logging.level, settings.logging.format)
    path = Path(settings.database.path)
    data: DemoData | None = None
    if not (args.keep and path.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        gateway = build_gateway(settings)
        try:
            data = seed(gateway.services)
        finally:
            gateway.close()
    asyncio.run(_run(settings, sim, data))
    return 0


async def _run(settings: Settings, sim: SimulatorSettings, data: Any) -> None:
    from gateway.app import start_sms_runtime
    from gateway.serving import serve
    from simulator import start_simulator

    simulator = await start_simulator(sim, settings)
    try:
        print(banner(settings, simulator.control_url, data), flush=True)
        await serve(settings, start_sms=start_sms_runtime)
    finally:
        await simulator.close()


def banner(settings: Settings, control_url: str, data: Any) -> str:
    from gateway.profile import load_profile

    http = settings.http
    profile = load_profile(settings.operator.profile)
    plan = profile.number_plan
    first = plan.national(data.subscribers[0].msisdn) if data is not None else profile.example_number
    pin = data.pins[0][0] if data is not None else "11112222333301"
    lines = [
        f"Selfcare Gateway demo ({profile.name})",
        f"  USSD endpoint    http://{http.host}:{http.port}/ussd",
        f"  SMSC simulator   {settings.smpp.host}:{settings.smpp.port} (SMPP)",
        f"  web phone        {control_url}/",
        "",
        "Try, in another terminal:",
        f"  .venv/bin/ussd-gateway dial {first} '*100#'        self-care menu",
        f"  .venv/bin/ussd-gateway dial {first} '*124#'        balance",
        f"  .venv/bin/ussd-gateway dial {first} '*123*{pin}#'   top-up",
        f"  .venv/bin/ussd-gateway sms {first} 888 BAL         balance by SMS",
        f"  .venv/bin/ussd-gateway sms {first} 1204 STOP       stop marketing messages",
        f"  .venv/bin/ussd-gateway --demo subscribers show {first}   the subscriber as the operator sees it",
    ]
    lines.append(f"  (--demo commands take the profile from the configuration: GATEWAY_OPERATOR_PROFILE={profile.key})")
    if data is not None:
        from gateway.domain.money import parse_amount

        lines += ["", "Subscribers:"]
        lines += [f"  {plan.national(s.msisdn)}  {s.what}" for s in data.subscribers]
        lines += ["", "Unused voucher PINs:"]
        lines += [f"  {p}  {parse_amount(amount, profile.currency).display()}" for p, amount in data.pins]
    lines += ["", "Ctrl-C stops the demo."]
    return "\n".join(lines)
