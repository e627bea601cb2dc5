"""``scripts/bench``: the gateway measured side by side with its ceilings, on both backends.

One command, one run, every figure measured on this machine in the same run,
so each result is also a ratio that survives a noisy machine:

1. ``simulator``: the SMSC simulator's own submit_sm ceiling.
2. ``ussd``: bare aiohttp (``benchmarks.baseline``) and ``serve`` (SMPP off) on
   100,000 subscribers and vouchers, alternately, at each concurrency; the
   load generator is first checked against ``wrk``.
3. ``minimal``: the mix at c=64 on bare aiohttp, ``benchmarks.minimal`` (only
   the work no gateway can skip) and ``serve``.
4. ``soak``: the mix at c=256 for a minute on one ``serve``: its RSS over time.
5. ``pg``, ``growth``, ``workers``, ``topups`` (``benchmarks.scale``): SQLite
   against PostgreSQL, 10,000 against 1,000,000 subscribers, one process
   against two, redemptions per second at the service layer.
6. ``sms`` (``benchmarks.smsc``, with ``simulator`` and ``ussd_smpp``): MO ``BAL``
   -> MT reply round trips and a campaign through the gateway and the simulator,
   on each backend.
7. ``dialects`` (``benchmarks.dialects``): the mix through each aggregator
   dialect next to Africa's Talking on one ``serve``, and each codec alone.
8. ``ussd_smpp``: USSD dialogues over SMPP, the simulator as the USSD centre
   (``benchmarks.ussd_smpp``), on SQLite.
9. ``instructions`` (``benchmarks.instructions``): instructions per step of
   ``serve`` under callgrind, on both USSD paths (not in ``--smoke``).

The SQLite parts use ``bench-results/db/`` (cached seeded files); PostgreSQL
is ``benchmarks.postgres`` (a cluster of its own, or
``GATEWAY_BENCH_POSTGRES_URL``). Prints a table and writes
``bench-results/latest.json`` (``--results``). ``--smoke`` runs everything
tiny (the test suite does); ``--backend`` limits the per-backend parts.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import report, seed
from benchmarks.common import BACKENDS, PinBudget, Plan, count, gateway_server, median_run, spec
from benchmarks.dialects import part_dialects
from benchmarks.instructions import part_instructions
from benchmarks.procs import ROOT, Server, cores, free_port, loadgen, pinned
from benchmarks.scale import part_growth, part_pg, part_topups, part_workers
from benchmarks.smsc import part_simulator, part_sms, part_ussd_smpp


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


def baseline_server(logdir: Path) -> Server:
    port = free_port()
    return Server("baseline", [sys.executable, "-m", "benchmarks.baseline", str(port)], port,
                  log=logdir / "baseline.log")


# --- parts ---------------------------------------------------------------------------

def part_ussd(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    seeded = plan.seeded()
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
                                  "ratio": round(g["steps_per_s"] / b["steps_per_s"], 3),
                                  "gateway_topups_sent": sum(run["topups_sent"] for run in gw_runs)})
        out["serve_peak_rss_mb"] = round(gw.peak_rss() / 2**20, 1)
        out["baseline_peak_rss_mb"] = round(bare.peak_rss() / 2**20, 1)
    out["topups_sent"] = sum(lv["gateway_topups_sent"] for lv in out["levels"])
    out["topups_in_db"] = count(db, "SELECT COUNT(*) FROM topups")
    out["session_rows"] = count(db, "SELECT COUNT(*) FROM ussd_sessions")
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


def part_minimal(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    """The USSD mix at c=64 on three servers, alternately, round by round: bare
    aiohttp (answers ``CON hello``), ``benchmarks.minimal`` (the least work a
    step needs, on the same stack and database) and ``serve``."""
    level = 8 if plan.smoke else 64
    seeded = plan.seeded()
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
    out["minimal"]["topups_in_db"] = count(dbs["minimal"], "SELECT COUNT(*) FROM vouchers WHERE status = 'used'")
    out["serve"]["topups_in_db"] = count(dbs["serve"], "SELECT COUNT(*) FROM topups")
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
    seeded = plan.seeded()
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
    out["topups_in_db"] = count(db, "SELECT COUNT(*) FROM topups")
    return out



#: What a figure depends on: a change elsewhere (docs) does not make a run "dirty".
CODE = ("gateway", "menus", "benchmarks", "config", "pyproject.toml")


def _commit() -> str | None:
    """The commit measured (with ``+dirty`` when the code in the work tree differs from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                *CODE], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+dirty" if dirty else "")) or None


#: Every part, in the order a run takes them: ``--only`` names them, the JSON file keys them.
PARTS: dict[str, Callable[[Plan, Path, Path], dict[str, Any]]] = {
    "simulator": part_simulator, "ussd": part_ussd, "minimal": part_minimal, "soak": part_soak, "pg": part_pg,
    "growth": part_growth, "workers": part_workers, "topups": part_topups, "sms": part_sms,
    "dialects": part_dialects, "ussd_smpp": part_ussd_smpp, "instructions": part_instructions,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny and quick: checks the script works")
    parser.add_argument("--only", action="append", choices=list(PARTS), help="run only this part (repeatable)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench-results",
                        help="folder for latest.json, logs and cached databases (default: bench-results/)")
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both",
                        help="database of the growth, workers, topups and sms parts (default: both; "
                             "the pg part compares the two and needs PostgreSQL)")
    args = parser.parse_args(argv)
    results_dir: Path = args.results.resolve()
    work = results_dir / ("smoke" if args.smoke else "work")
    plan = Plan(args.smoke, results_dir, work, BACKENDS if args.backend == "both" else (args.backend,))
    logdir = work / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    out: dict[str, Any] = {"smoke": plan.smoke, "machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "command": "scripts/bench" + (" --smoke" if plan.smoke else "")}
    out["commit"] = _commit()
    try:
        for part in args.only or PARTS:
            t0 = time.perf_counter()
            print(f"[bench] {part} ...", file=sys.stderr, flush=True)
            out[part] = PARTS[part](plan, work, logdir)
            out[part]["took_s"] = round(time.perf_counter() - t0, 1)
    finally:
        plan.dbs.stop()
    out["took_s"] = round(time.time() - started, 1)
    out["budgets"] = report.budgets(out)
    if args.backend != "both":
        out["command"] += f" --backend {args.backend}"
    name = "smoke.json" if plan.smoke else ("latest.json" if not args.only else f"only-{'-'.join(args.only)}.json")
    (results_dir / name).write_text(json.dumps(out, indent=2) + "\n")
    if not plan.smoke and not args.only:
        (results_dir / time.strftime("run-%Y%m%d-%H%M%S.json")).write_text(json.dumps(out, indent=2) + "\n")
    print(report.table(out))
    print(f"\nresults: {results_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
