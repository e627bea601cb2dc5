"""The parts of ``scripts/bench`` that compare the backends and the process counts.

``pg``: the USSD mix on one ``serve`` on SQLite and one on PostgreSQL,
alternately, round by round. ``growth``: the same dialogues on 10,000 and
1,000,000 subscribers, on each backend. ``workers``: one process against two
(``serve --workers 2`` on one SQLite file; two ``serve`` on one PostgreSQL
database). ``topups``: redemptions per second at the service layer, one and
two processes, on each backend. Each backend part returns ``{backend: figures}``.

Cores (2 on the reference machine): with one process ``serve`` runs on core 0
and the load generator (and a local PostgreSQL) on core 1; with two
processes nothing is pinned, everything shares both cores.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import PinBudget, Plan, count, gateway_server, median, median_run, spec
from benchmarks.procs import ROOT, cores, loadgen, pinned

#: Rounds per size and level in ``growth``: its verdict is a ratio of latency tails.
GROWTH_ROUNDS = 3


def per_backend(
    part: Callable[[Plan, Path, Path, str], dict[str, Any]],
) -> Callable[[Plan, Path, Path], dict[str, Any]]:
    """Run ``part`` once per backend of the plan; a backend that cannot run here says why."""
    def run(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for backend in plan.backends:
            reason = plan.dbs.skip_reason(backend)
            out[backend] = {"skipped": reason} if reason else part(plan, work, logdir, backend)
        return out
    run.__doc__ = part.__doc__
    return run


def _ratio(a: float, b: float) -> float:
    """a / b to three places; NaN when b is 0 (a run that answered nothing, which the report shows)."""
    return round(a / b, 3) if b else float("nan")


def _pg_core(plan: Plan, backend: str) -> None:
    """A local PostgreSQL on core 1 (with the generator), leaving core 0 to the one ``serve``."""
    plan.dbs.pin(backend, {1} if cores() >= 2 else None)


def part_pg(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    """The USSD mix on one ``serve`` per backend, alternately, round by round, at c=1 and c=64:
    steps/s, latency, and CPU per step of ``serve`` and of the PostgreSQL server."""
    reason = plan.dbs.skip_reason("postgres") if "postgres" in plan.backends else "--backend sqlite"
    if reason:
        return {"skipped": reason}
    levels = (1, 8) if plan.smoke else (1, 64)
    seeded = plan.seeded()
    dbs = {b: plan.dbs.copy(seeded, f"pg-{b}", b) for b in ("sqlite", "postgres")}
    _pg_core(plan, "postgres")
    pins = {b: PinBudget(seeded, len(levels) * plan.rounds) for b in dbs}
    out: dict[str, Any] = {"subscribers": plan.subscribers, "levels": []}
    with gateway_server(dbs["sqlite"], logdir, "serve-pg-sqlite") as lite, \
            gateway_server(dbs["postgres"], logdir, "serve-pg-postgres") as pg:
        for level in levels:
            runs: dict[str, list[dict[str, Any]]] = {"sqlite": [], "postgres": []}
            for r in range(plan.rounds):
                for backend, gw in (("sqlite", lite), ("postgres", pg)):
                    runs[backend].append(loadgen(
                        spec(plan, level, plan.subscribers, seed=700 + 10 * level + r,
                             session_prefix=f"p{backend[0]}{level}r{r}-", **pins[backend].take()),
                        gw, db_cpu=plan.dbs.db_cpu(backend)))
            lv: dict[str, Any] = {"concurrency": level, **{b: median_run(rs) for b, rs in runs.items()}}
            for backend, rs in runs.items():
                lv[backend]["topups_sent_all_rounds"] = sum(r["topups_sent"] for r in rs)
            lite_cpu, pg_cpu = (lv[b]["median_server_cpu_us_per_step"] for b in ("sqlite", "postgres"))
            lv["cpu_ratio"] = _ratio(pg_cpu, lite_cpu)
            lv["rate_ratio"] = _ratio(lv["postgres"]["steps_per_s"], lv["sqlite"]["steps_per_s"])
            out["levels"].append(lv)
        out["serve_peak_rss_mb"] = {"sqlite": round(lite.peak_rss() / 2**20, 1),
                                    "postgres": round(pg.peak_rss() / 2**20, 1)}
    for backend, db in dbs.items():
        out[f"topups_in_db_{backend}"] = count(db, "SELECT COUNT(*) FROM topups")
        out[f"topups_sent_{backend}"] = sum(lv[backend]["topups_sent_all_rounds"] for lv in out["levels"])
    return out


def _growth(plan: Plan, work: Path, logdir: Path, backend: str) -> dict[str, Any]:
    """The same dialogues on a small and a big database, alternately, round by round.

    The ratios are of each size's median over the rounds of p50 and of p99: a
    p99 at c=1 is the tail of the top-ups' fsyncs, which drifts from minute to
    minute on this disk."""
    small, big = (plan.seeded(n) for n in plan.growth_sizes)
    out: dict[str, Any] = {"sizes": list(plan.growth_sizes), "import_subscribers_s": big.import_subscribers_s,
                           "levels": []}
    if backend == "postgres":
        out["copy_into_postgres_s"] = plan.dbs.postgres().template(big)[1]
    dbs = [plan.dbs.copy(s, f"growth-{s.subscribers}", backend) for s in (small, big)]
    _pg_core(plan, backend)
    rounds = plan.rounds if plan.smoke else GROWTH_ROUNDS
    out["rounds"] = rounds
    budgets = [PinBudget(s, len(plan.growth_levels) * rounds) for s in (small, big)]
    with gateway_server(dbs[0], logdir, f"serve-small-{backend}") as s_gw, \
            gateway_server(dbs[1], logdir, f"serve-big-{backend}") as b_gw:
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
                "p50_ratio": _ratio(b["median_p50_ms"], a["median_p50_ms"]),
                "p99_ratio": _ratio(b["median_p99_ms"], a["median_p99_ms"]),
                "rate_ratio": _ratio(b["steps_per_s"], a["steps_per_s"]),
                "topups_sent_all_rounds": sum(run["topups_sent"] for size in runs for run in size),
            })
        out["peak_rss_mb"] = [round(s_gw.peak_rss() / 2**20, 1), round(b_gw.peak_rss() / 2**20, 1)]
    out["topups_sent"] = sum(lv["topups_sent_all_rounds"] for lv in out["levels"])
    out["topups_in_db"] = sum(count(db, "SELECT COUNT(*) FROM topups") for db in dbs)
    return out


def _workers(plan: Plan, work: Path, logdir: Path, backend: str) -> dict[str, Any]:
    """The USSD mix at c=64 on one ``serve`` (core 0; the generator and a local PostgreSQL on
    core 1), then on two processes on one database, nothing pinned: on SQLite ``serve
    --workers 2`` (one port, one generator), on PostgreSQL two ``serve`` (as on two hosts),
    each driven at c=32 by a generator of its own. Two processes on SQLite are two writers
    taking turns on its write lock; on PostgreSQL they lock rows."""
    level = 8 if plan.smoke else 64
    seeded = plan.seeded()
    pins = PinBudget(seeded, 3 * plan.rounds)
    out: dict[str, Any] = {"concurrency": level, "rounds": []}
    for r in range(plan.rounds):
        for procs in (1, 2):
            db = plan.dbs.copy(seeded, f"workers-{procs}", backend)
            plan.dbs.pin(backend, {1} if procs == 1 and cores() >= 2 else None)
            if procs == 1:
                servers = [gateway_server(db, logdir, f"serve-w1-{backend}")]
            elif backend == "sqlite":
                servers = [gateway_server(db, logdir, f"serve-w2-{backend}", core=None, workers=2)]
            else:
                servers = [gateway_server(db, logdir, f"serve-w2-{backend}-{i}", core=None) for i in range(2)]
            db_cpu = plan.dbs.db_cpu(backend)
            try:
                n = len(servers)
                specs = [spec(plan, level // n, plan.subscribers, seed=100 + 10 * r + i,
                              session_prefix=f"w{r}{procs}{i}-", **pins.take()) for i in range(n)]
                cpu0 = [s.cpu_seconds() for s in servers]
                db0 = db_cpu() if db_cpu else None
                with ThreadPoolExecutor(n) as pool:
                    runs = list(pool.map(partial(loadgen, core=1 if procs == 1 else None), specs, servers))
                serve_cpu = sum(s.cpu_seconds() - c for s, c in zip(servers, cpu0, strict=True))
                db1 = db_cpu() if db_cpu else None
            finally:
                for server in servers:
                    server.stop()
            answered = max(sum(run["answered"] for run in runs), 1)
            window = plan.duration + plan.warmup
            row: dict[str, Any] = {
                "round": r, "processes": procs,
                "steps_per_s": round(sum(run["steps_per_s"] for run in runs), 1),
                "topups_per_s": round(sum(run["topups_per_s"] for run in runs), 1),
                "per_generator_steps_per_s": [run["steps_per_s"] for run in runs],
                "p50_ms": max(run["p50_ms"] for run in runs),
                "p99_ms": max(run["p99_ms"] for run in runs),
                "errors": sum(run["errors"] for run in runs),
                "serve_cpu_us_per_step": round(serve_cpu / answered * 1e6, 1),
                "serve_cores": round(serve_cpu / window, 2),
                "topups_in_db": count(db, "SELECT COUNT(*) FROM topups"),
                "topups_sent": sum(run["topups_sent"] for run in runs),
            }
            if db0 is not None and db1 is not None:
                row["db_cpu_us_per_step"] = round((db1 - db0) / answered * 1e6, 1)
                row["db_cores"] = round((db1 - db0) / window, 2)
            out["rounds"].append(row)
    for procs in (1, 2):
        out[f"processes_{procs}"] = median([x for x in out["rounds"] if x["processes"] == procs])
    one, two = out["processes_1"], out["processes_2"]
    out["gain"] = _ratio(two["steps_per_s"], one["steps_per_s"])
    out["topups_gain"] = _ratio(two["topups_per_s"], one["topups_per_s"])
    # Derived, not measured: what one core of serve carries at the CPU per step measured with
    # two processes, and the database server's cores that N such processes would need.
    per_core = round(1e6 / two["serve_cpu_us_per_step"])
    out["derived"] = {"steps_per_s_per_serve_core": per_core}
    if "db_cpu_us_per_step" in two:
        out["derived"]["db_cores_per_serve_core"] = round(two["db_cpu_us_per_step"] / two["serve_cpu_us_per_step"], 2)
        out["derived"]["steps_per_s_per_core_with_db_on_host"] = round(
            1e6 / (two["serve_cpu_us_per_step"] + two["db_cpu_us_per_step"]))
    return out


def _topups(plan: Plan, work: Path, logdir: Path, backend: str) -> dict[str, Any]:
    """Redemptions per second at the service layer (``benchmarks.topups``), durable: one process
    on core 0, then two at once, one per core."""
    seeded = plan.seeded()
    out: dict[str, Any] = {}
    for procs in (1, 2):
        db = plan.dbs.copy(seeded, f"topups-{procs}", backend)
        plan.dbs.pin(backend, {1} if procs == 1 and cores() >= 2 else None)
        db_cpu = plan.dbs.db_cpu(backend)
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
        db0 = db_cpu() if db_cpu else None
        go.touch()
        results = []
        for w in workers:
            stdout, stderr = w.communicate(timeout=plan.topup_seconds + 60)
            if w.returncode != 0:
                raise RuntimeError(f"topups worker failed: {stderr[-800:]}")
            results.append(json.loads(stdout.strip().splitlines()[-1]))
        total = sum(r["redeemed"] for r in results)
        window = max(r["seconds"] for r in results)
        row: dict[str, Any] = {"workers": results, "per_s": round(total / window, 1),
                               "errors": sum(r["errors"] for r in results), "topups_sent": total,
                               "topups_in_db": count(db, "SELECT COUNT(*) FROM topups")}
        if db0 is not None and total:
            row["db_cpu_us_per_topup"] = round(((db_cpu() or 0.0) - db0) / total * 1e6, 1)
        out[f"processes_{procs}"] = row
    return out


part_growth = per_backend(_growth)
part_workers = per_backend(_workers)
part_topups = per_backend(_topups)
