"""``smsc-sim`` (run the SMSC simulator) and ``sms`` (one MO SMS, print the reply).

``sms`` talks to a running simulator through its control API only: it notes
the last MT id for the number, injects the MO, then polls ``GET /mt`` for
anything newer addressed to that number until ``--wait`` runs out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any

import aiohttp

from gateway.cli import CliError, add_config_option
from gateway.config import Settings, load_settings
from gateway.logs import configure_logging
from gateway.profile import load_profile

if TYPE_CHECKING:  # the simulator is imported inside the commands that run it, never with the CLI
    from simulator import SimulatorSettings

EXIT_NO_REPLY = 1
POLL_INTERVAL = 0.1


def register(subparsers: Any) -> None:
    sim = subparsers.add_parser("smsc-sim", help="run the SMSC simulator (SMPP + control API + phone page)")
    add_config_option(sim)
    sim.add_argument("--port", type=int, metavar="N", help="SMPP port (default: [simulator] port)")
    sim.add_argument("--control-port", type=int, metavar="N",
                     help="control API/page port (default: [simulator] control_port)")
    sim.set_defaults(run=run_simulator)

    sms = subparsers.add_parser("sms", help="send an MO SMS through the simulator and print the reply")
    add_config_option(sms)
    sms.add_argument("msisdn", metavar="MSISDN")
    sms.add_argument("shortcode", metavar="SHORTCODE")
    sms.add_argument("text", metavar="TEXT")
    sms.add_argument("--wait", type=float, default=5.0, metavar="S", help="seconds to wait for a reply (default 5)")
    sms.add_argument("--control-url", metavar="URL",
                     help="simulator control API (default: from [simulator] control_host/control_port)")
    sms.set_defaults(run=run_sms)


def run_simulator(args: argparse.Namespace) -> int:
    from simulator import load_simulator_settings

    settings = load_settings(args.config)
    sim = load_simulator_settings(args.config)
    configure_logging(settings.logging.level, settings.logging.format)
    for name, port in (("--port", args.port), ("--control-port", args.control_port)):
        if port is not None and not 0 <= port <= 65535:
            raise CliError(f"{name}: not a TCP port: {port}")
    try:
        asyncio.run(_serve(sim, settings, args.port, args.control_port))
    except OSError as exc:
        raise CliError(f"cannot listen: {exc.strerror or exc}") from None
    return 0


async def _serve(sim: SimulatorSettings, settings: Settings, port: int | None, control_port: int | None) -> None:
    from simulator import start_simulator

    running = await start_simulator(sim, settings, port=port, control_port=control_port)
    print(
        f"SMSC simulator: SMPP on {running.host}:{running.port}, "
        f"control API and phone page on {running.control_url}/",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await running.close()


def run_sms(args: argparse.Namespace) -> int:
    if args.wait <= 0:
        raise CliError("--wait: must be greater than 0")
    settings = load_settings(args.config)
    url = args.control_url
    if not url:
        from simulator import load_simulator_settings

        sim = load_simulator_settings(args.config)
        url = f"http://{sim.control_host}:{sim.control_port}"
    # The phone sends from its full international number, as a real SMSC
    # reports it; the gateway replies to that number.
    msisdn = load_profile(settings.operator.profile).number_plan.normalise(args.msisdn)
    replies = asyncio.run(_send_and_wait(url.rstrip("/"), msisdn, args.shortcode, args.text, args.wait))
    if not replies:
        print(f"error: no reply to {msisdn} within {args.wait:g} s", file=sys.stderr)
        return EXIT_NO_REPLY
    for reply in replies:
        print(reply["text"])
    return 0


async def _send_and_wait(url: str, msisdn: str, shortcode: str, text: str, wait: float) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    timeout = aiohttp.ClientTimeout(total=max(wait, 1.0))
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.get(f"{url}/mt", params={"to": msisdn}) as resp:
                before = await _json(resp)
            last = max((m["id"] for m in before), default=0)
            body = {"from": msisdn, "to": shortcode, "text": text}
            async with http.post(f"{url}/mo", json=body) as resp:
                await _json(resp, expect=202)
            while True:
                async with http.get(f"{url}/mt", params={"to": msisdn, "since": str(last)}) as resp:
                    found: list[dict[str, Any]] = await _json(resp)
                if found or loop.time() >= deadline:
                    return found
                await asyncio.sleep(min(POLL_INTERVAL, max(0.0, deadline - loop.time())))
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CliError(f"simulator control API at {url} not reachable: {exc or type(exc).__name__}") from None


async def _json(resp: aiohttp.ClientResponse, expect: int = 200) -> Any:
    if resp.status != expect:
        detail = (await resp.text())[:200]
        raise CliError(f"simulator answered {resp.status} to {resp.method} {resp.url.path}: {detail}")
    return await resp.json()
