"""The parts of ``scripts/bench`` that run against the SMSC simulator: its own submit_sm ceiling,
SMS round trips and a campaign through ``serve`` (per backend), and USSD over SMPP with the
simulator as the USSD centre. The simulator drives the load itself; the driver only polls it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import seed
from benchmarks.common import Plan, count
from benchmarks.procs import Server, cores, free_port, run_json
from benchmarks.scale import per_backend


def _ceiling_code() -> str:
    return (
        "import asyncio, json, sys\n"
        "from simulator.bench import measure_submit_rate as m\n"
        "p, n = int(sys.argv[1]), int(sys.argv[2])\n"
        "asyncio.run(m('127.0.0.1', p, 'selfcare', 'secret', min(n, 2000), 64))\n"
        "rate = asyncio.run(m('127.0.0.1', p, 'selfcare', 'secret', n, 64))\n"
        "print(json.dumps({'submit_sm_per_s': round(rate, 1)}))\n"
    )


class Simulator:
    """An ``smsc-sim`` process on ``core`` (its SMPP ``port``, its control API at ``url``), and the
    environment it runs in, which a ceiling measurement shares."""

    def __init__(self, work: Path, logdir: Path, name: str, core: int = 0, **env_extra: str) -> None:
        self.port, control = free_port(), free_port()
        self.url = f"http://127.0.0.1:{control}"
        self.env = seed.gateway_env(work / "unused.db", **env_extra)
        argv = [sys.executable, "-m", "gateway", "smsc-sim", "--port", str(self.port), "--control-port", str(control)]
        self.server = Server(name, argv, self.port, env=self.env, log=logdir / f"{name}.log", core=core)

    def ceiling(self, count: int, core: int | None = 1) -> dict[str, Any]:
        """submit_sm/s of a submit-only ESME keeping 64 in flight, after a warm-up."""
        return run_json([sys.executable, "-c", _ceiling_code(), str(self.port), str(count)],  # type: ignore[no-any-return]
                        timeout=120, env=self.env, core=core)


def smpp_gateway(db: str, logdir: Path, name: str, sim: Simulator, **env_extra: str) -> Server:
    """``serve`` on ``db`` bound to ``sim`` (core 0), once the simulator sees its bind."""
    http = free_port()
    env = seed.gateway_env(db, GATEWAY_HTTP_PORT=str(http), GATEWAY_SMPP_PORT=str(sim.port), **env_extra)
    return Server(name, [sys.executable, "-m", "gateway", "serve"], http, env=env, log=logdir / f"{name}.log")


def part_simulator(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    sim = Simulator(work, logdir, "smsc-sim")
    with sim.server:
        result = sim.ceiling(plan.sim_count)
        result["count"], result["window"] = plan.sim_count, 64
        result["simulator_peak_rss_mb"] = round(sim.server.peak_rss() / 2**20, 1)
    return result


def _sms(plan: Plan, work: Path, logdir: Path, backend: str) -> dict[str, Any]:
    """The simulator's ceiling, then MO BAL -> MT reply round trips and a campaign through
    the gateway, all against one simulator process: the gateway on core 0, the
    simulator (and a local PostgreSQL) on core 1 (it drives the load itself; the
    driver only polls it)."""
    seeded = plan.seeded()
    db = plan.dbs.copy(seeded, "sms", backend)
    plan.dbs.pin(backend, {1} if cores() >= 2 else None)
    db_cpu = plan.dbs.db_cpu(backend)
    out: dict[str, Any] = {"send_rate": SMS_SEND_RATE, "shipped_send_rate": 200.0}
    simulator = Simulator(work, logdir, "sms-sim", core=1)
    url, sim = simulator.url, simulator.server
    try:
        # The ceiling first, from a submit-only ESME on core 0 (where serve will run).
        out["ceiling"] = simulator.ceiling(plan.sim_count, core=0)
        ceiling = out["ceiling"]["submit_sm_per_s"]
        with smpp_gateway(db, logdir, "serve-sms", simulator, GATEWAY_SMPP_SEND_RATE=str(SMS_SEND_RATE)) as gw:
            wait_bound(url)
            runs = []
            for r in range(1 if plan.smoke else 2):
                n_trips = 200 if plan.smoke else SMS_ROUND_TRIPS[backend]
                cpu = (gw.cpu_seconds(), sim.cpu_seconds(), time.perf_counter())
                db0 = db_cpu() if db_cpu else None
                # Fresh numbers each round: the per-number rate limit would silence repeats.
                run = run_json([sys.executable, "-m", "benchmarks.sms", url, "round-trips", str(n_trips),
                                str(SMS_WINDOW), str(plan.subscribers), str(r * n_trips)], timeout=200)
                wall = time.perf_counter() - cpu[2]
                # Who is busy: the gateway on core 0, or the simulator (and the driver) on core 1.
                run["serve_cpu_share"] = round((gw.cpu_seconds() - cpu[0]) / wall, 2)
                run["simulator_cpu_share"] = round((sim.cpu_seconds() - cpu[1]) / wall, 2)
                if db0 is not None:
                    run["db_cpu_share"] = round(((db_cpu() or 0.0) - db0) / wall, 2)
                runs.append(run)
            out["round_trips"] = max(runs, key=lambda r: r["round_trips_per_s"])
            out["round_trips"]["rounds_per_s"] = [r["round_trips_per_s"] for r in runs]
            out["round_trips_per_s"] = out["round_trips"]["round_trips_per_s"]
            n = 300 if plan.smoke else SMS_ROUND_TRIPS[backend]
            cpu = (gw.cpu_seconds(), sim.cpu_seconds(), time.perf_counter())
            out["campaign"] = run_json([sys.executable, "-m", "benchmarks.sms", url, "campaign", str(n), "0",
                                        str(plan.subscribers), str(db)], timeout=200)
            wall = time.perf_counter() - cpu[2]
            out["campaign"]["serve_cpu_share"] = round((gw.cpu_seconds() - cpu[0]) / wall, 2)
            out["campaign"]["simulator_cpu_share"] = round((sim.cpu_seconds() - cpu[1]) / wall, 2)
            out["serve_peak_rss_mb"] = round(gw.peak_rss() / 2**20, 1)
        out["ratio_to_simulator"] = round(out["round_trips_per_s"] / ceiling, 3)
        # What each side would carry at 100% of its core, at its CPU per round trip in this run: a
        # round trip costs the simulator three PDU exchanges (MO, submit_sm, receipt), its ceiling one.
        best = out["round_trips"]
        for side in ("serve", "simulator"):
            share = best.get(f"{side}_cpu_share") or 0.0
            if share > 0:
                best[f"{side}_cpu_us_per_round_trip"] = round(share / best["round_trips_per_s"] * 1e6, 1)
                best[f"{side}_full_core_per_s"] = round(best["round_trips_per_s"] / share)
                best[f"{side}_full_core_ratio"] = round(best["round_trips_per_s"] / share / ceiling, 3)
        out["campaign_ratio_to_simulator"] = round(out["campaign"]["messages_per_s"] / ceiling, 3)
    finally:
        sim.stop()
    out["delivered_in_db"] = count(db, "SELECT COUNT(*) FROM sms_outbox WHERE status = 'delivered'")
    out["outbox_rows"] = count(db, "SELECT COUNT(*) FROM sms_outbox")
    return out


#: ``[smpp] send_rate`` for the SMS part: the shipped 200/s is an operator's
#: contract with its SMSC, not the gateway's capacity, which is what is measured.
SMS_SEND_RATE = 50_000.0
#: MOs awaiting their reply at once: round trips/s = window / round-trip time.
SMS_WINDOW = 512
#: Round trips per measured round (two rounds; the better one is reported), and messages of the
#: campaign, per backend: fewer on PostgreSQL, which is slower, so that the part stays bounded.
SMS_ROUND_TRIPS = {"sqlite": 20_000, "postgres": 5_000}


def wait_bound(url: str, timeout: float = 30.0) -> None:
    """Until the simulator at ``url`` has a gateway bound to it."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/binds", timeout=5) as resp:
            if json.loads(resp.read()):
                return
        time.sleep(0.1)
    raise RuntimeError("the gateway did not bind to the simulator")


part_sms = per_backend(_sms)

#: USSD over SMPP: steps per measured round (two rounds, the better one reported) and dialogues open at once.
USSD_SMPP_STEPS = 20_000
USSD_SMPP_WINDOW = 256


def part_ussd_smpp(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    """USSD over SMPP on SQLite: ``serve`` with ``[smpp] ussd`` on core 0, the simulator (the USSD centre,
    ``generic`` vendor, driving the load itself) on core 1; fresh numbers each round (the per-number
    rate limit would refuse repeats)."""
    seeded = plan.seeded()
    db = plan.dbs.copy(seeded, "ussd-smpp", "sqlite")
    steps = 300 if plan.smoke else USSD_SMPP_STEPS
    out: dict[str, Any] = {"backend": "sqlite", "vendor": "generic", "window": USSD_SMPP_WINDOW, "count": steps,
                           "scripts": "*124# | *100#,1"}
    simulator = Simulator(work, logdir, "ussd-smpp-sim", core=1, GATEWAY_SIMULATOR_USSD_VENDOR="generic")
    url, sim = simulator.url, simulator.server
    try:
        with smpp_gateway(db, logdir, "serve-ussd-smpp", simulator, GATEWAY_SMPP_USSD="true",
                          GATEWAY_SMPP_USSD_VENDOR="generic") as gw:
            wait_bound(url)
            runs = []
            for r in range(1 if plan.smoke else 2):
                cpu = (gw.cpu_seconds(), sim.cpu_seconds(), time.perf_counter())
                run = run_json([sys.executable, "-m", "benchmarks.ussd_smpp", url, str(steps),
                                str(USSD_SMPP_WINDOW), str(plan.subscribers), str(r * steps)], timeout=200)
                wall = time.perf_counter() - cpu[2]
                run["serve_cpu_share"] = round((gw.cpu_seconds() - cpu[0]) / wall, 2)
                run["simulator_cpu_share"] = round((sim.cpu_seconds() - cpu[1]) / wall, 2)
                if run["serve_cpu_share"] > 0:
                    run["serve_cpu_us_per_step"] = round(run["serve_cpu_share"] / run["steps_per_s"] * 1e6, 1)
                runs.append(run)
            best = max(runs, key=lambda r: r["steps_per_s"])
            out.update(best)
            out["rounds_per_s"] = [r["steps_per_s"] for r in runs]
            out["serve_peak_rss_mb"] = round(gw.peak_rss() / 2**20, 1)
    finally:
        sim.stop()
    out["session_rows"] = count(db, "SELECT COUNT(*) FROM ussd_sessions")
    return out
