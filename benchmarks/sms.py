"""SMS round trips through the simulator: MO ``BAL`` in, MT reply out, counted.

Drives the SMSC simulator's control API (``POST /mo``, ``GET /mt``), never
the gateway: each MO goes simulator → deliver_sm → gateway inbox → keyword
service → outbox → submit_sm → simulator. ``count`` MOs from distinct
numbers are injected with at most ``window`` unanswered (an MO counts as
answered when its reply reaches the simulator); the rate is MOs / seconds
from the first injection to the last reply. ``campaign`` instead runs
``campaign send`` for ``count`` numbers and counts MTs until all arrived.

Run as ``python -m benchmarks.sms CONTROL_URL round-trips|campaign COUNT WINDOW SUBSCRIBERS [DB]``;
prints one JSON object. Bounded: 120 s at most.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp

from benchmarks.seed import gateway_env, msisdn

LIMIT_S = 120.0


async def _last_id(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(f"{url}/mt", params={"since": "0"}) as resp:
        return max((m["id"] for m in await resp.json()), default=0)


async def round_trips(url: str, count: int, window: int, subscribers: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        since = await _last_id(http, url)
        pending: set[str] = set()
        replied = injected = 0
        started = time.perf_counter()
        deadline = started + LIMIT_S
        first_reply: float | None = None
        while replied < count and time.perf_counter() < deadline:
            while injected < count and len(pending) < window:
                number = msisdn(injected % subscribers)
                async with http.post(f"{url}/mo", json={"from": number, "to": "888", "text": "BAL"}) as resp:
                    if resp.status != 202:
                        raise RuntimeError(f"POST /mo answered {resp.status}")
                pending.add(number)
                injected += 1
            await asyncio.sleep(0.01)
            async with http.get(f"{url}/mt", params={"since": str(since)}) as resp:
                new = await resp.json()
            for m in new:
                since = max(since, m["id"])
                if m["to"] in pending:
                    pending.discard(m["to"])
                    replied += 1
                    first_reply = first_reply or time.perf_counter()
        elapsed = time.perf_counter() - started
    return {"count": count, "window": window, "replied": replied, "seconds": round(elapsed, 3),
            "round_trips_per_s": round(replied / elapsed, 1), "timed_out": replied < count,
            "first_reply_ms": round((first_reply - started) * 1000, 1) if first_reply else None}


async def campaign(url: str, count: int, subscribers: int, db: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
        handle.write("msisdn\n")
        handle.writelines(msisdn(i % subscribers) + "\n" for i in range(count))
        path = handle.name
    try:
        async with aiohttp.ClientSession() as http:
            since = await _last_id(http, url)
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway", "campaign", "send", "--text", "Benchmark offer: 1GB for $1",
                "--file", path, env=gateway_env(__import__("pathlib").Path(db)),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"campaign send failed: {err.decode()[-400:]}")
            queued_s = time.perf_counter() - started
            seen = 0
            deadline = started + LIMIT_S
            while seen < count and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
                async with http.get(f"{url}/mt", params={"since": str(since)}) as resp:
                    new = await resp.json()
                if new:
                    since = max(m["id"] for m in new)
                    seen += len(new)
            elapsed = time.perf_counter() - started
    finally:
        os.unlink(path)
    return {"count": count, "submitted": seen, "queue_s": round(queued_s, 2), "seconds": round(elapsed, 2),
            "messages_per_s": round(seen / elapsed, 1), "timed_out": seen < count,
            "cli_output": out.decode().strip()[-200:]}


def main(argv: list[str]) -> int:
    url, mode, count, window, subscribers = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    if mode == "round-trips":
        result = asyncio.run(round_trips(url, count, window, subscribers))
    else:
        result = asyncio.run(campaign(url, count, subscribers, argv[5]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
