"""What every part of ``scripts/bench`` shares: the plan, the servers, the databases, medians."""

from __future__ import annotations

import sqlite3
import statistics
import sys
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import seed
from benchmarks.postgres import Postgres, unavailable
from benchmarks.procs import ROOT, Server, free_port

BACKENDS = ("sqlite", "postgres")


class Plan:
    def __init__(self, smoke: bool, results: Path, work: Path, backends: tuple[str, ...] = BACKENDS) -> None:
        self.smoke = smoke
        # Enough numbers that no one of them nears the profile's requests per minute (30) on any
        # machine: a part plays several runs on one serve, and each run walks the whole range.
        self.subscribers = 3_000 if smoke else 100_000
        self.vouchers = 3_000 if smoke else 100_000
        self.growth_sizes = (300, 3_000) if smoke else (10_000, 1_000_000)
        self.levels = (1, 8) if smoke else (1, 16, 64, 256)
        self.growth_levels = (1,) if smoke else (1, 64)
        self.rounds = 1 if smoke else 2
        self.duration = 0.5 if smoke else 6.0
        self.warmup = 0.2 if smoke else 1.0
        self.topup_seconds = 0.5 if smoke else 8.0
        self.sim_count = 2_000 if smoke else 30_000
        self.backends = backends
        self.results = results
        self.dbs = Databases(results, work)

    def seeded(self, subscribers: int | None = None) -> seed.Seeded:
        """The seeded template every part copies its databases from (built on first use, then cached
        in ``bench-results/db/``): the plan's subscribers, or ``subscribers``, and its vouchers."""
        return seed.build(ROOT, self.results / "db", subscribers or self.subscribers, self.vouchers)


class Databases:
    """Working databases on either backend, copied from the seeded templates.

    The PostgreSQL server starts on first use (``benchmarks.postgres``) and
    stops in ``stop``; ``skip_reason`` says why a PostgreSQL part cannot run."""

    def __init__(self, results: Path, work: Path) -> None:
        self.results, self.work = results, work
        self._pg: Postgres | None = None

    def skip_reason(self, backend: str) -> str | None:
        return unavailable() if backend == "postgres" else None

    def postgres(self) -> Postgres:
        if self._pg is None:
            self._pg = Postgres(self.results)
        return self._pg

    def copy(self, seeded: seed.Seeded, name: str, backend: str) -> str:
        """A fresh database with the template's rows: a SQLite file's path or a PostgreSQL URL."""
        if backend == "sqlite":
            return str(seed.working_copy(seeded, self.work / f"{name}.db"))
        return self.postgres().working_copy(seeded, name.replace("-", "_"))

    def db_cpu(self, backend: str) -> Any:
        """A function giving the database server's CPU seconds (None: in-process, or not measurable)."""
        return self._pg.cpu_seconds if backend == "postgres" and self._pg else None

    def pin(self, backend: str, cpus: set[int] | None) -> None:
        if backend == "postgres" and self._pg:
            self._pg.pin(cpus)

    def stop(self) -> None:
        if self._pg is not None:
            self._pg.stop()
            self._pg = None


def count(db: str | Path, sql: str) -> int:
    """One number from the database at ``db`` (a SQLite path or a PostgreSQL URL)."""
    if str(db).startswith("postgresql://"):
        import psycopg

        with psycopg.connect(str(db)) as conn:
            row = conn.execute(sql).fetchone()
            return int(row[0]) if row else 0
    lite = sqlite3.connect(db)
    try:
        return int(lite.execute(sql).fetchone()[0])
    finally:
        lite.close()


def gateway_server(db: str | Path, logdir: Path, name: str, core: int | None = 0, workers: int = 1,
                   **env_extra: str) -> Server:
    """``serve`` on ``db`` with SMPP off (``workers`` > 1: ``serve --workers N``, ready once every worker
    answers); ``env_extra``: more ``GATEWAY_*`` settings."""
    port = free_port()
    env = seed.gateway_env(db, GATEWAY_HTTP_PORT=str(port), GATEWAY_SMPP_ENABLED="false", **env_extra)
    argv = [sys.executable, "-m", "gateway", "serve", *(["--workers", str(workers)] if workers > 1 else [])]
    server = Server(name, argv, port, env=env, log=logdir / f"{name}.log", core=core, tree=workers > 1)
    if workers > 1:
        try:
            _wait_workers(port, workers)
        except BaseException:
            server.stop()
            raise
    return server


def _wait_workers(port: int, workers: int, timeout: float = 60.0) -> None:
    """Until ``workers`` distinct processes have answered ``/metrics`` on ``port`` (each connection
    goes to one of the listeners that share it): a load begun earlier would miss the late ones."""
    import time

    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"serve --workers {workers}: only {len(seen)} answered in {timeout:.0f} s")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                text = resp.read().decode()
            seen.update(line.split("pid=")[1].split(",")[0].split("}")[0] for line in text.splitlines()
                        if line.startswith("gateway_worker_info{"))
        except OSError:
            pass
        time.sleep(0.05)


class PinBudget:
    """Hands out disjoint slices of a database's voucher PINs, one per run, and of its numbers: each run
    begins where the one before it would have stopped, so the runs of a part on one gateway spread
    over every number and none nears the per-number request limit."""

    def __init__(self, seeded: seed.Seeded, runs: int) -> None:
        self.file = str(seeded.pins)
        self.per_run = seeded.vouchers // max(runs, 1)
        self.numbers_per_run = seeded.subscribers // max(runs, 1)
        self.next = 0
        self.runs = 0

    def take(self) -> dict[str, Any]:
        offset, self.next = self.next, self.next + self.per_run
        walk_from, self.runs = self.runs * self.numbers_per_run, self.runs + 1
        return {"pins_file": self.file, "pins_offset": offset, "pins_count": self.per_run, "walk_from": walk_from}


def spec(plan: Plan, concurrency: int, subscribers: int, mode: str = "mix", **extra: Any) -> dict[str, Any]:
    return {"concurrency": concurrency, "duration": plan.duration, "warmup": plan.warmup,
            "mode": mode, "subscribers": subscribers, "timeout": 15.0, **extra}


def median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the lower middle of an even count)."""
    ordered = sorted(runs, key=lambda r: r["steps_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput, with every round's figure kept (and the median of
    each round's CPU per step)."""
    chosen = dict(median(runs))
    chosen["rounds_steps_per_s"] = [r["steps_per_s"] for r in runs]
    chosen["rounds_p50_ms"] = [r["p50_ms"] for r in runs]
    chosen["rounds_p99_ms"] = [r["p99_ms"] for r in runs]
    chosen["errors"] = sum(r["errors"] for r in runs)
    for key in ("server_cpu_us_per_step", "db_cpu_us_per_step"):
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            chosen[f"median_{key}"] = round(statistics.median(values), 1)
    return chosen
