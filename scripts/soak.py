"""Soak: many subscribers in USSD dialogue with a real ``serve`` for a bounded time.

Each virtual subscriber keeps one keep-alive HTTP connection (a small raw
HTTP/1.1 client on asyncio streams: aiohttp's client costs more CPU than the
server at this concurrency) and loops: think ``--think`` seconds (random
0.5x-1.5x), then one dialogue — quick balance, menu balance, quick top-up, or
menu top-up — checking every screen. An error is anything a subscriber would
notice: a non-200, a screen that is not ``CON``/``END``, "unavailable" or
"busy", a top-up neither credited nor refused as already used, a timeout, a
dropped connection. The SMSC simulator runs with faults switched on
(throttling, system errors, slow responses, dropped connections); the SMS
side binds to it when this build has one (``gateway.smpp``).

At the end: SIGTERM (must exit 0), then the database is audited
(integrity_check, one top-up and one ledger credit per used voucher).
Printed as JSON: requests, errors (target 0), rate-limited answers, latency
p50/p99/max, RSS after warm-up (270 s, or half a shorter run: the session
cache fills for the idle period first) and at the end (target: < 10 % growth).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.audit import audit  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.seed import seed  # noqa: E402
from tests.support.servers import SECRET  # noqa: E402


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.rate_limited = 0
        self.credited = 0
        self.dialogues = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Client:
    """One keep-alive HTTP/1.1 connection: POST a form, read status and body."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, form: dict[str, str], timeout: float) -> tuple[int, str]:
        body = urllib.parse.urlencode(form).encode()
        head = (f"POST /ussd HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        for attempt in (1, 2):  # a keep-alive connection the server closed while idle is reopened once
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None
            try:
                self.writer.write(head + body)
                return await asyncio.wait_for(self._response(self.reader), timeout)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, str]:
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length = 0
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, (await reader.readexactly(length)).decode()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def subscriber(n: int, msisdn: str, pins: list[str], port: int, deadline: float, think: float,
                     stats: Stats) -> None:
    client = Client(port)
    rng = random.Random(n)
    await asyncio.sleep(rng.uniform(0, think))  # spread the start
    seq = 0
    try:
        while time.monotonic() < deadline:
            seq += 1
            sid = f"soak-{n}-{seq}"
            kind = rng.choice(("balance", "menu_balance", "topup", "menu_topup", "balance"))
            if kind in ("topup", "menu_topup") and not pins:
                kind = "balance"
            if kind == "balance":
                steps = [("*124#", "")]
            elif kind == "menu_balance":
                steps = [("*100#", ""), ("*100#", "1")]
            elif kind == "topup":
                steps = [(f"*123*{pins.pop()}#", "")]
            else:
                pin = pins.pop()
                steps = [("*100#", ""), ("*100#", "2"), ("*100#", "2*1"), ("*100#", f"2*1*{pin}")]
            for code, text in steps:
                started = time.perf_counter()
                try:
                    status, body = await client.post(
                        {"sessionId": sid, "serviceCode": code, "phoneNumber": msisdn, "text": text}, 10.0)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    stats.error("connection")
                    client.close()
                    break
                except TimeoutError:
                    stats.error("timeout")
                    client.close()
                    break
                stats.latencies.append(time.perf_counter() - started)
                if status != 200 or not body.startswith(("CON ", "END ")):
                    stats.error(f"http_{status}")
                    break
                if "Too many requests" in body:
                    stats.rate_limited += 1
                    break
                if "unavailable" in body or "busy" in body:
                    stats.error("unavailable_or_busy")
                    break
                if body.startswith("END "):
                    if kind in ("topup", "menu_topup"):
                        if "successful" in body:
                            stats.credited += 1
                        elif "already been used" not in body:
                            stats.error("topup_unexpected")
                    break
            stats.dialogues += 1
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
    finally:
        client.close()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


async def run(args: argparse.Namespace) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    db = tmp / "gateway.db"
    per_sub = max(1, int(args.duration / args.think / 2.5) + 1)  # about 40 % of dialogues are top-ups
    vouchers = min(args.concurrency * per_sub, 200_000)
    data = seed(db, subscribers=args.concurrency, vouchers=vouchers)
    smpp_port, control_port, http_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        GATEWAY_SECURITY_PIN_SECRET=SECRET, GATEWAY_DATABASE_PATH=str(db), GATEWAY_HTTP_PORT=str(http_port),
        GATEWAY_LOGGING_FORMAT="json", GATEWAY_LOGGING_LEVEL="warning",
        GATEWAY_DATABASE_SYNCHRONOUS=args.synchronous,
        GATEWAY_SMPP_PORT=str(smpp_port), GATEWAY_SIMULATOR_PORT=str(smpp_port),
        GATEWAY_SIMULATOR_CONTROL_PORT=str(control_port),
        # Faults on: throttling, system errors, slow answers, a connection dropped now and then.
        GATEWAY_SIMULATOR_THROTTLE_RATE="50", GATEWAY_SIMULATOR_SYSERR_RATIO="0.05",
        GATEWAY_SIMULATOR_RESPONSE_DELAY="0.05", GATEWAY_SIMULATOR_DROP_AFTER="500",
        GATEWAY_SMPP_ENABLED="true" if importlib.util.find_spec("gateway.smpp") else "false",
    )
    sim = subprocess.Popen([sys.executable, "-m", "gateway", "smsc-sim"], cwd=tmp, env=env,
                           stdout=subprocess.DEVNULL, stderr=(tmp / "sim.log").open("wb"))
    serve = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], cwd=tmp, env=env,
                             stdout=subprocess.DEVNULL, stderr=(tmp / "serve.log").open("wb"))
    try:
        wait_port(control_port, sim, "smsc-sim")
        wait_port(http_port, serve, "serve")
        rss_idle = rss_kb(serve.pid)
        stats = Stats()
        started = time.monotonic()
        deadline = started + args.duration
        pins = [data.pins[i::args.concurrency] for i in range(args.concurrency)]
        tasks = [asyncio.create_task(subscriber(i, data.numbers[i], pins[i], http_port, deadline, args.think, stats))
                 for i in range(args.concurrency)]
        # Sessions stay in memory for their idle period (180 s) until the sweep
        # (60 s): RSS is compared from when that cache has reached its steady size.
        warmup = min(270.0, args.duration / 2)
        await asyncio.sleep(warmup)
        rss_start = rss_kb(serve.pid)
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
        rss_end = rss_kb(serve.pid)
        serve.send_signal(signal.SIGTERM)
        exit_code = serve.wait(timeout=30)
        counts = audit(db)
        conn = sqlite3.connect(db)
        topups = conn.execute("SELECT COUNT(*) FROM topups").fetchone()[0]
        conn.close()
    finally:
        for proc in (serve, sim):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
    lat = sorted(stats.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else 0.0

    return {
        "concurrency": args.concurrency, "duration_s": round(elapsed, 1), "think_s": args.think,
        "synchronous": args.synchronous, "smpp": env["GATEWAY_SMPP_ENABLED"],
        "requests": len(lat), "requests_per_s": round(len(lat) / elapsed, 1), "dialogues": stats.dialogues,
        "errors": sum(stats.errors.values()), "errors_by_kind": stats.errors,
        "rate_limited": stats.rate_limited, "credited": stats.credited, "topups_in_db": topups,
        "used_vouchers": counts["used"],
        "latency_ms": {"p50": pct(0.50), "p99": pct(0.99), "max": round(lat[-1] * 1000, 2) if lat else 0.0},
        "rss_kb": {"idle": rss_idle, "after_warmup": rss_start, "end": rss_end,
                   "growth_pct": round(100 * (rss_end - rss_start) / rss_start, 1)},
        "serve_exit": exit_code, "workdir": str(tmp),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=1000, help="virtual subscribers (default 1000)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic (default 600)")
    parser.add_argument("--think", type=float, default=3.0, help="mean seconds between dialogues (default 3)")
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    ok = (report["errors"] == 0 and report["serve_exit"] == 0 and report["credited"] == report["topups_in_db"]
          and report["rss_kb"]["growth_pct"] <= 10)  # type: ignore[index,operator]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
