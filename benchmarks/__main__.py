"""``scripts/bench``: the gateway measured side by side with its ceilings.

One command, one run, every figure measured on this machine in the same run,
so each result is also a ratio that survives a noisy machine:

1. ``ussd``: the bare aiohttp server (``benchmarks.baseline``) and the real
   gateway (``serve``, SMPP off) on 100,000 subscribers and 100,000
   vouchers, driven by the same load generator, alternately, round by round,
   at each concurrency; the generator is first checked against ``wrk``.
2. ``minimal``: the same mix at c=64 on bare aiohttp, on ``benchmarks.minimal``
   (only the work no gateway can skip: one read or a durable top-up and a
   log line per step) and on ``serve``: how much of the budget the stack
   itself leaves, and what the gateway's own work costs on top.
3. ``soak``: the mix at c=256 for a minute on one ``serve``: its RSS after each
   20 s round (what it keeps per dialogue shows over time, not in 7 s).
4. ``growth``: the same dialogues on 10,000 and on 1,000,000 subscribers.
5. ``topups``: redemptions per second at the service layer, durable, one
   process and then two processes at once.
6. ``workers``: the USSD mix at c=64 on one ``serve``, then on two ``serve``
   processes sharing one database (one per core, each driven by its own
   generator on the other core): what a second process adds.
7. ``simulator``: the SMSC simulator's own submit_sm ceiling, and ``sms``:
   MO ``BAL`` → MT reply round trips and a 10,000-message campaign through
   the gateway and the simulator.

Prints a table and writes ``bench-results/latest.json`` (``--results``).
``--smoke`` runs everything tiny in a few seconds (the test suite does).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import report, seed
from benchmarks.procs import ROOT, Server, cores, free_port, loadgen, pinned, run_json

PARTS = ("simulator", "ussd", "minimal", "soak", "growth", "workers", "topups", "sms")


class Plan:
    def __init__(self, smoke: bool) -> None:
        self.smoke = smoke
        self.subscribers = 300 if smoke else 100_000
        self.vouchers = 3_000 if smoke else 100_000
        self.growth_sizes = (300, 3_000) if smoke else (10_000, 1_000_000)
        self.levels = (1, 8) if smoke else (1, 16, 64, 256)
        self.growth_levels = (1,) if smoke else (1, 64)
        self.rounds = 1 if smoke else 2
        self.duration = 0.5 if smoke else 6.0
        self.warmup = 0.2 if smoke else 1.0
        self.topup_seconds = 0.5 if smoke else 8.0
        self.sim_count = 2_000 if smoke else 30_000


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem = 0
    return {"cores": cores(), "cpu": model, "memory_gb": round(mem / 2**20, 1),
            "python": platform.python_version(), "pinned": cores() >= 2 and bool(shutil.which("taskset"))}


def gateway_server(db: Path, logdir: Path, name: str, core: int | None = 0) -> Server:
    port = free_port()
    env = seed.gateway_env(db, GATEWAY_HTTP_PORT=str(port), GATEWAY_SMPP_ENABLED="false")
    return Server(name, [sys.executable, "-m", "gateway", "serve"], port, env=env, log=logdir / f"{name}.log",
                  core=core)


def baseline_server(logdir: Path) -> Server:
    port = free_port()
    return Server("baseline", [sys.executable, "-m", "benchmarks.baseline", str(port)], port,
                  log=logdir / "baseline.log")


class PinBudget:
    """Hands out disjoint slices of a database's voucher PINs, one per run."""

    def __init__(self, seeded: seed.Seeded, runs: int) -> None:
        self.file = str(seeded.pins)
        self.per_run = seeded.vouchers // max(runs, 1)
        self.next = 0

    def take(self) -> dict[str, Any]:
        offset, self.next = self.next, self.next + self.per_run
        return {"pins_file": self.file, "pins_offset": offset, "pins_count": self.per_run}


def spec(plan: Plan, concurrency: int, subscribers: int, mode: str = "mix", **extra: Any) -> dict[str, Any]:
    return {"concurrency": concurrency, "duration": plan.duration, "warmup": plan.warmup,
            "mode": mode, "subscribers": subscribers, "timeout": 15.0, **extra}


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the lower middle of an even count)."""
    ordered = sorted(runs, key=lambda r: r["steps_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput, with every round's figure kept."""
    chosen = dict(median(runs))
    chosen["rounds_steps_per_s"] = [r["steps_per_s"] for r in runs]
    chosen["rounds_p50_ms"] = [r["p50_ms"] for r in runs]
    chosen["rounds_p99_ms"] = [r["p99_ms"] for r in runs]
    chosen["errors"] = sum(r["errors"] for r in runs)
    return chosen


# --- parts ---------------------------------------------------------------------------

def part_ussd(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    seeded = seed.build(ROOT, work.parent / "db", plan.subscribers, plan.vouchers)
    db = seed.working_copy(seeded, work / "ussd.db")
    pins = PinBudget(seeded, len(plan.levels) * plan.rounds)
    out: dict[str, Any] = {"subscribers": plan.subscribers, "vouchers": plan.vouchers,
                           "import_subscribers_s": seeded.import_subscribers_s,
                           "import_vouchers_s": seeded.import_vouchers_s, "levels": []}
    with baseline_server(logdir) as bare, gateway_server(db, logdir, "serve") as gw:
        out["generator_check"] = generator_check(plan, bare)
        for level in plan.levels:
            bare_runs, gw_runs = [], []
            for r in range(plan.rounds):
                bare_runs.append(loadgen(spec(plan, level, plan.subscribers, "bare"), bare))
                gw_runs.append(loadgen(spec(plan, level, plan.subscribers, seed=level * 10 + r,
                                            session_prefix=f"u{level}r{r}-", **pins.take()), gw))
            b, g = median_run(bare_runs), median_run(gw_runs)
            out["levels"].append({"concurrency": level, "baseline": b, "gateway": g,
                                  "ratio": round(g["steps_per_s"] / b["steps_per_s"], 3)})
        out["serve_peak_rss_mb"] = round(gw.peak_rss() / 2**20, 1)
        out["baseline_peak_rss_mb"] = round(bare.peak_rss() / 2**20, 1)
    out["topups_in_db"] = _count(db, "SELECT COUNT(*) FROM topups")
    out["session_rows"] = _count(db, "SELECT COUNT(*) FROM ussd_sessions")
    return out


def generator_check(plan: Plan, bare: Server) -> dict[str, Any]:
    """Our generator and wrk against the bare server at c=64: equal rates mean the
    generator is not what limits the figures."""
    level = 8 if plan.smoke else 64
    ours = loadgen(spec(plan, level, plan.subscribers, "bare"), bare)
    check: dict[str, Any] = {"concurrency": level, "ours_steps_per_s": ours["steps_per_s"],
                             "ours_cpu_share": ours["generator_cpu_share"],
                             "ours_cpu_us_per_step": ours["generator_cpu_us_per_step"]}
    if shutil.which("wrk") and not plan.smoke:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                      'wrk.body = "sessionId=w1&serviceCode=%2A124%23&phoneNumber=%2B85510000001&text="\n')
        cmd = pinned(1, ["wrk", "-t1", f"-c{level}", f"-d{int(plan.duration)}s", "-s", lua.name,
                         f"http://127.0.0.1:{bare.port}/ussd"])
        text = subprocess.run(cmd, capture_output=True, text=True, timeout=plan.duration + 30).stdout
        Path(lua.name).unlink()
        rate = next((float(line.split()[1]) for line in text.splitlines()
                     if line.startswith("Requests/sec")), None)
        check["wrk_steps_per_s"] = rate
        if rate:
            check["ours_over_wrk"] = round(ours["steps_per_s"] / rate, 3)
    else:
        check["wrk_steps_per_s"] = None
    return check


#: Rounds per size and level in ``growth``: its verdict is a ratio of latency tails.
GROWTH_ROUNDS = 3


def part_growth(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    """The same dialogues on a small and a big database, alternately, round by round.

    The ratios are of each size's median over the rounds of p50 and of p99: a
    p99 at c=1 is the tail of the top-ups' fsyncs, which drifts from minute to
    minute on this disk (with the p99 of one round each, the same code gave
    0.92-1.35 at c=1 and 0.96-1.22 at c=64 in runs minutes apart)."""
    small, big = (seed.build(ROOT, work.parent / "db", n, plan.vouchers) for n in plan.growth_sizes)
    dbs = [seed.working_copy(s, work / f"growth-{s.subscribers}.db") for s in (small, big)]
    rounds = plan.rounds if plan.smoke else GROWTH_ROUNDS
    budgets = [PinBudget(s, len(plan.growth_levels) * rounds) for s in (small, big)]
    out: dict[str, Any] = {"sizes": list(plan.growth_sizes), "rounds": rounds,
                           "import_subscribers_s": big.import_subscribers_s, "levels": []}
    with gateway_server(dbs[0], logdir, "serve-small") as s_gw, gateway_server(dbs[1], logdir, "serve-big") as b_gw:
        for level in plan.growth_levels:
            runs: list[list[dict[str, Any]]] = [[], []]
            for r in range(rounds):
                for i, (gw, s) in enumerate(((s_gw, small), (b_gw, big))):
                    runs[i].append(loadgen(spec(plan, level, s.subscribers, seed=level + r,
                                                session_prefix=f"g{i}{level}r{r}-", **budgets[i].take()), gw))
            a, b = median_run(runs[0]), median_run(runs[1])
            for run in (a, b):
                run["median_p50_ms"] = statistics.median(run["rounds_p50_ms"])
                run["median_p99_ms"] = statistics.median(run["rounds_p99_ms"])
            out["levels"].append({
                "concurrency": level, "small": a, "big": b,
                "p50_ratio": round(b["median_p50_ms"] / a["median_p50_ms"], 3),
                "p99_ratio": round(b["median_p99_ms"] / a["median_p99_ms"], 3),
                "rate_ratio": round(b["steps_per_s"] / a["steps_per_s"], 3),
            })
        out["peak_rss_mb"] = [round(s_gw.peak_rss() / 2**20, 1), round(b_gw.peak_rss() / 2**20, 1)]
    return out


def part_workers(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    """The USSD mix on one ``serve`` (core 0, the generator on core 1), then on two
    ``serve`` processes on one database file, one per core, each driven at half
    the concurrency by a generator of its own on the other core (a generator
    costs ~17 µs of CPU per step, a step ~350 µs: it takes ~5% of the core it
    shares). Two processes are two SQLite writers: their top-ups take turns
    on the one write lock."""
    level = 8 if plan.smoke else 64
    seeded = seed.build(ROOT, work.parent / "db", plan.subscribers, plan.vouchers)
    pins = PinBudget(seeded, 3 * plan.rounds)
    out: dict[str, Any] = {"concurrency": level, "rounds": []}
    for r in range(plan.rounds):
        for procs in (1, 2):
            db = seed.working_copy(seeded, work / f"workers-{procs}.db")
            servers = [gateway_server(db, logdir, f"serve-w{procs}-{i}", core=i if cores() >= 2 else None)
                       for i in range(procs)]
            try:
                specs = [spec(plan, level // procs, plan.subscribers, seed=100 + 10 * r + i,
                              session_prefix=f"w{r}{procs}{i}-", **pins.take()) for i in range(procs)]
                with ThreadPoolExecutor(procs) as pool:
                    runs = list(pool.map(lambda a: loadgen(a[0], a[1], core=1 - a[2] if cores() >= 2 else None),
                                         [(sp, sv, i) for i, (sp, sv) in enumerate(zip(specs, servers))]))
            finally:
                for server in servers:
                    server.stop()
            out["rounds"].append({
                "round": r, "processes": procs,
                "steps_per_s": round(sum(run["steps_per_s"] for run in runs), 1),
                "per_process_steps_per_s": [run["steps_per_s"] for run in runs],
                "p99_ms": max(run["p99_ms"] for run in runs),
                "errors": sum(run["errors"] for run in runs),
                "server_cpu_share": [round(run["server_cpu_s"] / (plan.duration + plan.warmup), 2) for run in runs],
                "topups_in_db": _count(db, "SELECT COUNT(*) FROM topups"),
                "topups_sent": sum(run["topups_sent"] for run in runs),
            })
    for procs in (1, 2):
        out[f"processes_{procs}"] = median([x for x in out["rounds"] if x["processes"] == procs])
    out["gain"] = round(out["processes_2"]["steps_per_s"] / out["processes_1"]["steps_per_s"], 3)
    return out


def part_minimal(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    """The USSD mix at c=64 on three servers, alternately, round by round: bare
    aiohttp (answers ``CON hello``), ``benchmarks.minimal`` (the least work a
    step needs, on the same stack and database) and ``serve``."""
    level = 8 if plan.smoke else 64
    seeded = seed.build(ROOT, work.parent / "db", plan.subscribers, plan.vouchers)
    dbs = {name: seed.working_copy(seeded, work / f"{name}.db") for name in ("minimal", "serve")}
    pins = {name: PinBudget(seeded, plan.rounds) for name in dbs}
    port = free_port()
    minimal = Server("minimal", [sys.executable, "-m", "benchmarks.minimal", str(port)], port,
                     env=seed.gateway_env(dbs["minimal"]), log=logdir / "minimal.log")
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "minimal": [], "serve": []}
    with baseline_server(logdir) as bare, minimal, gateway_server(dbs["serve"], logdir, "serve-minimal") as gw:
        for r in range(plan.rounds):
            runs["baseline"].append(loadgen(spec(plan, level, plan.subscribers, "bare"), bare))
            for name, server in (("minimal", minimal), ("serve", gw)):
                runs[name].append(loadgen(spec(plan, level, plan.subscribers, seed=300 + r,
                                               session_prefix=f"m{name[0]}{r}-", **pins[name].take()), server))
    out: dict[str, Any] = {"concurrency": level}
    for name, name_runs in runs.items():
        out[name] = median_run(name_runs)
    bare_rate = out["baseline"]["steps_per_s"]
    for name in ("minimal", "serve"):
        out[name]["ratio"] = round(out[name]["steps_per_s"] / bare_rate, 3)
        out[name]["topups_sent"] = sum(run["topups_sent"] for run in runs[name])
    # Both did their top-ups for real: every one answered is in its file.
    out["minimal"]["topups_in_db"] = _count(dbs["minimal"], "SELECT COUNT(*) FROM vouchers WHERE status = 'used'")
    out["serve"]["topups_in_db"] = _count(dbs["serve"], "SELECT COUNT(*) FROM topups")
    out["serve_over_minimal"] = round(out["serve"]["steps_per_s"] / out["minimal"]["steps_per_s"], 3)
    return out


#: ``soak``: rounds and their length (the mix at c=256 on one serve, without a restart).
SOAK_ROUNDS, SOAK_SECONDS = 3, 20.0


def part_soak(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    """The USSD mix at c=256 for ``SOAK_ROUNDS`` x ``SOAK_SECONDS`` on one ``serve``; its
    peak RSS after each round. Memory kept per dialogue (a cache of ended ones
    grew ``serve`` to 176 MB in 80 s) shows over a minute, not in a 7 s round."""
    level = 8 if plan.smoke else 256
    rounds, seconds = (2, plan.duration) if plan.smoke else (SOAK_ROUNDS, SOAK_SECONDS)
    seeded = seed.build(ROOT, work.parent / "db", plan.subscribers, plan.vouchers)
    db = seed.working_copy(seeded, work / "soak.db")
    pins = PinBudget(seeded, rounds)
    out: dict[str, Any] = {"concurrency": level, "round_seconds": seconds, "rounds": []}
    with gateway_server(db, logdir, "serve-soak") as gw:
        for r in range(rounds):
            run = loadgen({**spec(plan, level, plan.subscribers, seed=500 + r, session_prefix=f"k{r}-",
                                  **pins.take()), "duration": seconds}, gw)
            out["rounds"].append({"steps_per_s": run["steps_per_s"], "p99_ms": run["p99_ms"],
                                  "errors": run["errors"], "topups_sent": run["topups_sent"],
                                  "serve_peak_rss_mb": round(gw.peak_rss() / 2**20, 1)})
    out["serve_peak_rss_mb"] = out["rounds"][-1]["serve_peak_rss_mb"]
    out["errors"] = sum(x["errors"] for x in out["rounds"])
    out["topups_sent"] = sum(x["topups_sent"] for x in out["rounds"])
    out["topups_in_db"] = _count(db, "SELECT COUNT(*) FROM topups")
    return out


def part_topups(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    seeded = seed.build(ROOT, work.parent / "db", plan.subscribers, plan.vouchers)
    out: dict[str, Any] = {}
    for procs in (1, 2):
        db = seed.working_copy(seeded, work / f"topups-{procs}.db")
        go = work / f"go-{procs}"
        for stale in [go, *work.glob(f"{go.name}.ready-*")]:
            stale.unlink(missing_ok=True)
        share = plan.vouchers // 2
        workers = [
            subprocess.Popen(pinned(i % max(cores(), 1), [
                sys.executable, "-m", "benchmarks.topups", str(db), str(seeded.pins), str(i * share),
                str(share), str(plan.topup_seconds), str(go), str(plan.subscribers)]),
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(procs)
        ]
        deadline = time.monotonic() + 60
        while len(list(work.glob(f"{go.name}.ready-*"))) < procs and time.monotonic() < deadline:
            time.sleep(0.02)  # every worker imported and waiting for the go file
        go.touch()
        results = []
        for w in workers:
            stdout, stderr = w.communicate(timeout=plan.topup_seconds + 60)
            if w.returncode != 0:
                raise RuntimeError(f"topups worker failed: {stderr[-800:]}")
            results.append(json.loads(stdout.strip().splitlines()[-1]))
        total = sum(r["redeemed"] for r in results)
        window = max(r["seconds"] for r in results)
        out[f"processes_{procs}"] = {"workers": results, "per_s": round(total / window, 1),
                                     "errors": sum(r["errors"] for r in results),
                                     "topups_in_db": _count(db, "SELECT COUNT(*) FROM topups")}
    return out


def _ceiling_code() -> str:
    return (
        "import asyncio, json, sys\n"
        "from gateway.simulator.bench import measure_submit_rate as m\n"
        "p, n = int(sys.argv[1]), int(sys.argv[2])\n"
        "asyncio.run(m('127.0.0.1', p, 'selfcare', 'secret', min(n, 2000), 64))\n"
        "print(json.dumps({'submit_sm_per_s': round(asyncio.run(m('127.0.0.1', p, 'selfcare', 'secret', n, 64)), 1)}))\n"
    )


def part_simulator(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    port, control = free_port(), free_port()
    env = seed.gateway_env(work / "unused.db")
    argv = [sys.executable, "-m", "gateway", "smsc-sim", "--port", str(port), "--control-port", str(control)]
    with Server("smsc-sim", argv, port, env=env, log=logdir / "smsc-sim.log") as sim:
        result: dict[str, Any] = run_json([sys.executable, "-c", _ceiling_code(), str(port), str(plan.sim_count)],
                                          timeout=120, env=env)
        result["count"], result["window"] = plan.sim_count, 64
        result["simulator_peak_rss_mb"] = round(sim.peak_rss() / 2**20, 1)
    return result


def part_sms(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    """The simulator's ceiling, then MO BAL -> MT reply round trips and a campaign through
    the gateway, all against one simulator process: the gateway on core 0, the
    simulator on core 1 (it drives the load itself; the driver only polls it)."""
    seeded = seed.build(ROOT, work.parent / "db", plan.subscribers, plan.vouchers)
    db = seed.working_copy(seeded, work / "sms.db")
    port, control, http = free_port(), free_port(), free_port()
    sim_env = seed.gateway_env(work / "unused.db")
    sim_argv = [sys.executable, "-m", "gateway", "smsc-sim", "--port", str(port), "--control-port", str(control)]
    out: dict[str, Any] = {"send_rate": SMS_SEND_RATE, "shipped_send_rate": 200.0}
    url = f"http://127.0.0.1:{control}"
    sim = Server("smsc-sim", pinned(1, sim_argv), port, env=sim_env, log=logdir / "sms-sim.log", core=None)
    try:
        # The ceiling first, from a submit-only ESME on core 0 (where serve will run).
        out["ceiling"] = run_json([sys.executable, "-c", _ceiling_code(), str(port), str(plan.sim_count)],
                                  timeout=120, env=sim_env, core=0)
        ceiling = out["ceiling"]["submit_sm_per_s"]
        env = seed.gateway_env(db, GATEWAY_HTTP_PORT=str(http), GATEWAY_SMPP_PORT=str(port),
                               GATEWAY_SMPP_SEND_RATE=str(SMS_SEND_RATE))
        with Server("serve-sms", [sys.executable, "-m", "gateway", "serve"], http, env=env,
                    log=logdir / "serve-sms.log") as gw:
            _wait_bound(url)
            runs = []
            for r in range(1 if plan.smoke else 2):
                count = 200 if plan.smoke else SMS_ROUND_TRIPS
                cpu = (gw.cpu_seconds(), sim.cpu_seconds(), time.perf_counter())
                # Fresh numbers each round: the per-number rate limit would silence repeats.
                run = run_json([sys.executable, "-m", "benchmarks.sms", url, "round-trips", str(count),
                                str(SMS_WINDOW), str(plan.subscribers), str(r * count)], timeout=200)
                wall = time.perf_counter() - cpu[2]
                # Who is busy: the gateway on core 0, or the simulator (and the driver) on core 1.
                run["serve_cpu_share"] = round((gw.cpu_seconds() - cpu[0]) / wall, 2)
                run["simulator_cpu_share"] = round((sim.cpu_seconds() - cpu[1]) / wall, 2)
                runs.append(run)
            out["round_trips"] = max(runs, key=lambda r: r["round_trips_per_s"])
            out["round_trips"]["rounds_per_s"] = [r["round_trips_per_s"] for r in runs]
            out["round_trips_per_s"] = out["round_trips"]["round_trips_per_s"]
            n = 300 if plan.smoke else 20_000
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
    out["delivered_in_db"] = _count(db, "SELECT COUNT(*) FROM sms_outbox WHERE status = 'delivered'")
    out["outbox_rows"] = _count(db, "SELECT COUNT(*) FROM sms_outbox")
    return out


#: ``[smpp] send_rate`` for the SMS part: the shipped 200/s is an operator's
#: contract with its SMSC, not the gateway's capacity, which is what is measured.
SMS_SEND_RATE = 50_000.0
#: MOs awaiting their reply at once: round trips/s = window / round-trip time.
SMS_WINDOW = 512
#: Round trips per measured round (two rounds; the better one is reported).
SMS_ROUND_TRIPS = 20_000


def _wait_bound(url: str, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/binds", timeout=5) as resp:
            if json.loads(resp.read()):
                return
        time.sleep(0.1)
    raise RuntimeError("the gateway did not bind to the simulator")


def _count(db: Path, sql: str) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


RUNNERS = {"ussd": part_ussd, "minimal": part_minimal, "soak": part_soak, "growth": part_growth, "workers": part_workers, "topups": part_topups,
           "simulator": part_simulator, "sms": part_sms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny and quick: checks the script works")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeatable)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench-results",
                        help="folder for latest.json, logs and cached databases (default: bench-results/)")
    args = parser.parse_args(argv)
    plan = Plan(args.smoke)
    results_dir: Path = args.results.resolve()
    work = results_dir / ("smoke" if plan.smoke else "work")
    logdir = work / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    out: dict[str, Any] = {"smoke": plan.smoke, "machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "command": "scripts/bench" + (" --smoke" if plan.smoke else "")}
    for part in args.only or PARTS:
        t0 = time.perf_counter()
        print(f"[bench] {part} ...", file=sys.stderr, flush=True)
        out[part] = RUNNERS[part](plan, work, logdir)
        out[part]["took_s"] = round(time.perf_counter() - t0, 1)
    out["took_s"] = round(time.time() - started, 1)
    out["budgets"] = report.budgets(out)
    name = "smoke.json" if plan.smoke else ("latest.json" if not args.only else f"only-{'-'.join(args.only)}.json")
    (results_dir / name).write_text(json.dumps(out, indent=2) + "\n")
    if not plan.smoke and not args.only:
        (results_dir / time.strftime("run-%Y%m%d-%H%M%S.json")).write_text(json.dumps(out, indent=2) + "\n")
    print(report.table(out))
    print(f"\nresults: {results_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
