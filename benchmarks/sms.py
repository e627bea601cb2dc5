"""SMS through the simulator, driven by the simulator itself: MO ``BAL`` in, MT reply out.

The driver only starts a load inside the SMSC simulator and reads its
report (``simulator.load``): ``POST /load/round-trips`` has the
simulator deliver MO from distinct numbers, at most ``window`` awaiting
their reply, and match each reply submit_sm by its destination, timing
from the deliver_sm written to the reply read, all in the simulator's
process; ``POST /load/mt-count`` times the next ``count`` submit_sm (first
to last) while ``campaign send`` queues a campaign. Each MO goes simulator →
deliver_sm → gateway inbox → keyword service → outbox → submit_sm →
simulator. The driver polls ``GET /load`` five times a second, so its own
CPU (reported) stays negligible.

Run as ``python -m benchmarks.sms CONTROL_URL round-trips COUNT WINDOW SUBSCRIBERS [OFFSET]`` or
``... campaign COUNT 0 SUBSCRIBERS DB``;
prints one JSON object. Bounded: 120 s at most.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp

from benchmarks.seed import gateway_env, msisdn

LIMIT_S = 120.0
POLL_S = 0.2


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _wait_load(http: aiohttp.ClientSession, url: str, deadline: float) -> dict[str, Any]:
    while True:
        async with http.get(f"{url}/load") as resp:
            report: dict[str, Any] = await resp.json()
        if report["done"] or time.perf_counter() > deadline:
            report["timed_out"] = not report["done"]
            return report
        await asyncio.sleep(POLL_S)


async def run_load(url: str, path: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Start a load the simulator drives (``POST path``), wait for its report; the driver's CPU share added."""
    cpu0, wall0 = _cpu(), time.perf_counter()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}{path}", json=spec) as resp:
            if resp.status != 202:
                raise RuntimeError(f"POST {path} answered {resp.status}: {await resp.text()}")
        report = await _wait_load(http, url, wall0 + LIMIT_S)
    report["driver_cpu_share"] = round((_cpu() - cpu0) / (time.perf_counter() - wall0), 3)
    return report


async def round_trips(url: str, count: int, window: int, subscribers: int, offset: int = 0) -> dict[str, Any]:
    spec = {"first": int(msisdn(offset)), "numbers": subscribers - offset, "to": "888", "text": "BAL",
            "count": count, "window": window}
    report = await run_load(url, "/load/round-trips", spec)
    report["round_trips_per_s"] = report["per_s"]
    return report


async def campaign(url: str, count: int, subscribers: int, db: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
        handle.write("msisdn\n")
        handle.writelines(msisdn(i % subscribers) + "\n" for i in range(count))
        path = handle.name
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/load/mt-count", json={"count": count}) as resp:
                if resp.status != 202:
                    raise RuntimeError(f"POST /load/mt-count answered {resp.status}")
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway", "campaign", "send", "--text", "Benchmark offer: 1GB for $1",
                "--file", path, env=gateway_env(db),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"campaign send failed: {err.decode()[-400:]}")
            queued_s = time.perf_counter() - started
            report = await _wait_load(http, url, started + LIMIT_S)
            elapsed = time.perf_counter() - started
    finally:
        os.unlink(path)
    # per_s: first to last submit_sm in the simulator (the sender's sustained rate);
    # end_to_end_per_s also counts the CLI queueing the campaign.
    return {**report, "submitted": report["seen"], "queue_s": round(queued_s, 2),
            "messages_per_s": report["per_s"], "end_to_end_s": round(elapsed, 2),
            "end_to_end_per_s": round(report["seen"] / elapsed, 1),
            "cli_output": out.decode().strip()[-200:]}


def main(argv: list[str]) -> int:
    url, mode, count, window, subscribers = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    if mode == "round-trips":
        offset = int(argv[5]) if len(argv) > 5 else 0
        result = asyncio.run(round_trips(url, count, window, subscribers, offset))
    else:
        result = asyncio.run(campaign(url, count, subscribers, argv[5]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
