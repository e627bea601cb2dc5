"""Instructions per USSD step of ``serve``, counted by callgrind: a figure that does not move with the machine.

CPU time per step moves by a tenth between runs of one commit (other work on the
machine, its clock, its caches), which hides a change of a few percent; the
instructions a step executes are the same on a busy machine and a quiet one.
``serve`` runs under callgrind with counting off, answers a warm-up, then counts
only the measured steps (``callgrind_control -i on`` / ``off``): the figure is
instructions per step, to compare commits on one Python and valgrind (measure the
other commit the same way, in its own checkout). Two paths: Africa's Talking over
HTTP, one request at a time from this process, and USSD over SMPP with the
simulator (not counted) as the generic USSD centre.

Another commit: ``python -m benchmarks.instructions --checkout DIR`` counts the
``serve`` of the checkout in DIR (its own ``.venv``, as ``scripts/test`` makes it)
with this driver, and prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import seed
from benchmarks.common import Plan
from benchmarks.procs import ROOT, Server, free_port
from benchmarks.sms import run_load
from benchmarks.smsc import Simulator, wait_bound
from benchmarks.ussd_smpp import SCRIPTS

#: Dialogues (half ``*124#``, half ``*100#`` then ``1``) over HTTP, or steps over SMPP, in the warm-up
#: and in the count, per path (and in a smoke run, which checks the part works).
WARMUP, MEASURED = 100, 400
SMOKE_WARMUP, SMOKE_MEASURED = 10, 20
#: Starting under valgrind takes longer than the plain process's 60 s allowance on a loaded machine.
READY_S = 300.0


def unavailable() -> str | None:
    """Why this part cannot run here (None: it can)."""
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


@dataclass(frozen=True)
class _Run:
    seeded: seed.Seeded
    work: Path
    logdir: Path
    checkout: Path
    warmup: int
    measured: int


class Counted:
    """``serve`` under callgrind with counting off; ``counting()`` switches it, ``stop()`` gives the count."""

    def __init__(self, name: str, env: dict[str, str], port: int, logdir: Path, checkout: Path) -> None:
        self.out = logdir / f"{name}.callgrind"
        python = sys.executable if checkout == ROOT else str(checkout / ".venv" / "bin" / "python")
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={self.out}",
                python, "-m", "gateway", "serve"]
        self.server = Server(name, argv, port, env={**env, "PYTHONHASHSEED": "0"}, log=logdir / f"{name}.log",
                             ready_s=READY_S, cwd=checkout)

    def counting(self, on: bool) -> None:
        subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(self.server.proc.pid)],
                       check=True, capture_output=True, timeout=60)

    def stop(self) -> int:
        """Stop ``serve`` and return the instructions counted while counting was on."""
        self.server.stop(timeout=120)
        found = re.search(r"^totals: (\d+)", self.out.read_text(), re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no totals in {self.out}")
        return int(found.group(1))


def _at_dialogues(port: int, first: int, count: int) -> int:
    """``count`` Africa's Talking dialogues from fresh numbers, one request at a time; the steps played."""
    steps = 0
    for i in range(first, first + count):
        number = seed.msisdn(i)
        for text in ([""] if i % 2 == 0 else ["", "1"]):
            code = "*124#" if i % 2 == 0 else "*100#"
            body = f"sessionId=cg{i}&serviceCode={code}&phoneNumber=%2B{number}&text={text}&networkCode=45606"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ussd", data=body.encode(), timeout=60) as resp:
                if resp.status != 200 or not resp.read().startswith((b"CON ", b"END ")):
                    raise RuntimeError(f"step {i} answered {resp.status}")
            steps += 1
    return steps


def _http(run: _Run) -> dict[str, Any]:
    db = seed.working_copy(run.seeded, run.work / "instructions-http.db")
    port = free_port()
    gw = Counted("serve-instructions-http", seed.gateway_env(db, GATEWAY_HTTP_PORT=str(port),
                                                            GATEWAY_SMPP_ENABLED="false"), port, run.logdir,
                 run.checkout)
    try:
        _at_dialogues(port, 0, run.warmup)
        gw.counting(True)
        steps = _at_dialogues(port, run.warmup, run.measured)
        gw.counting(False)
    finally:
        counted = gw.stop()
    return {"steps": steps, "instructions_per_step": round(counted / steps)}


def _smpp(run: _Run) -> dict[str, Any]:
    db = seed.working_copy(run.seeded, run.work / "instructions-smpp.db")
    sim = Simulator(run.work, run.logdir, "instructions-sim", core=1, GATEWAY_SIMULATOR_USSD_VENDOR="generic")
    port = free_port()
    env = seed.gateway_env(db, GATEWAY_HTTP_PORT=str(port), GATEWAY_SMPP_PORT=str(sim.port),
                           GATEWAY_SMPP_USSD="true", GATEWAY_SMPP_USSD_VENDOR="generic")
    try:
        gw = Counted("serve-instructions-smpp", env, port, run.logdir, run.checkout)
        try:
            wait_bound(sim.url, READY_S)
            spec = {"numbers": run.seeded.subscribers - run.warmup, "scripts": SCRIPTS, "window": 4}
            asyncio.run(run_load(sim.url, "/load/ussd", {**spec, "first": int(seed.msisdn(0)), "count": run.warmup}))
            gw.counting(True)
            report = asyncio.run(run_load(sim.url, "/load/ussd", {**spec, "first": int(seed.msisdn(run.warmup)),
                                                                  "count": run.measured}))
            gw.counting(False)
        finally:
            counted = gw.stop()
    finally:
        sim.server.stop()
    if report["answered"] != run.measured:
        raise RuntimeError(f"USSD over SMPP: {report['answered']} of {run.measured} steps answered")
    return {"steps": run.measured, "instructions_per_step": round(counted / run.measured)}


def _both(run: _Run) -> dict[str, Any]:
    """Both paths, one after the other (the counts do not depend on what else runs)."""
    return {"python": sys.version.split()[0], "warmup": run.warmup, "http_africastalking": _http(run),
            "ussd_smpp": _smpp(run)}


def part_instructions(plan: Plan, work: Path, logdir: Path) -> dict[str, Any]:
    reason = unavailable()
    if reason is not None:
        return {"skipped": reason}
    counts = (SMOKE_WARMUP, SMOKE_MEASURED) if plan.smoke else (WARMUP, MEASURED)
    return _both(_Run(plan.seeded(), work, logdir, ROOT, *counts))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout whose serve is counted")
    parser.add_argument("--results", type=Path, default=ROOT / "bench-results", help="as scripts/bench's")
    args = parser.parse_args(argv)
    reason = unavailable()
    if reason is not None:
        parser.error(reason)
    plan = Plan(False, args.results.resolve(), args.results.resolve() / "work")
    logdir = plan.dbs.work / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(_both(_Run(plan.seeded(), plan.dbs.work, logdir, args.checkout.resolve(), WARMUP, MEASURED))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
