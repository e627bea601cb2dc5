"""PostgreSQL for the benchmark: a server, seeded template databases, a fresh copy per run.

The server is ``GATEWAY_BENCH_POSTGRES_URL`` when set (a role that may create
databases; its CPU is then not measured), otherwise a cluster of the
benchmark's own in ``bench-results/pg/`` (``gateway.store.postgres.cluster``),
kept between runs so that its seeded databases are too, and stopped at the
end of each. It runs with PostgreSQL's durable defaults (``fsync``,
``synchronous_commit``): a top-up is on disk before its answer, as on SQLite
with ``synchronous = full``. It is pinned to core 1, with the load generator,
so that ``serve`` keeps core 0 as in the SQLite parts.

A template holds exactly the rows of the SQLite template of the same sizes
(``benchmarks.seed``: numbers, hashes, balances, vouchers), copied with
``COPY``, then ``ANALYZE``; its database comment says it is complete. Runs
spend vouchers, so each gets ``CREATE DATABASE … TEMPLATE`` (a file copy).
"""

from __future__ import annotations

import os
import pwd
import shutil
import sqlite3
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import psycopg

from benchmarks import seed
from benchmarks.procs import children, cores, pinned, process_cpu
from gateway.store.postgres.cluster import Cluster, binaries, owner

TABLES = ("subscribers", "ledger", "vouchers")
#: Server settings of the bench cluster beyond PostgreSQL's defaults (durable ones kept).
SETTINGS = ("-c shared_buffers=256MB", "-c max_wal_size=2GB", "-c checkpoint_timeout=30min")


def unavailable() -> str | None:
    """Why the PostgreSQL parts cannot run here (None: they can)."""
    if os.environ.get("GATEWAY_BENCH_POSTGRES_URL"):
        return None
    if binaries() is None:
        return "no PostgreSQL server binaries (apt-get install postgresql, or set GATEWAY_BENCH_POSTGRES_URL)"
    return owner()[1]


class Postgres:
    """The bench's server: ``admin_url``, templates by size, working copies, and its CPU."""

    def __init__(self, results: Path) -> None:
        given = os.environ.get("GATEWAY_BENCH_POSTGRES_URL")
        self.cluster: Cluster | None = None
        self.throwaway = False
        if given:
            self.admin_url = given
        else:
            found = binaries()
            user, problem = owner()
            if found is None or problem:
                raise RuntimeError(unavailable() or problem)
            prefix = tuple(pinned(1, [])) if cores() >= 2 else ()
            root = results / "pg"
            if user and not _reachable(results, user):  # e.g. pytest's 0700 tmp folders: a throwaway one
                root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
                self.throwaway = True
            self.cluster = Cluster(found, root, user, settings=SETTINGS, prefix=prefix)
            self.admin_url = self.cluster.start()
        self.copies: list[str] = []

    def url_of(self, name: str) -> str:
        parts = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin_url, autocommit=True)

    def template(self, seeded: seed.Seeded) -> tuple[str, float | None]:
        """The template database for these sizes (filled now if missing) and the seconds its
        COPY took (None: it was there)."""
        name = f"bench_s{seeded.subscribers}_v{seeded.vouchers}_{seed.SEED_VERSION}"
        with self._admin() as conn:
            row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                               (name,)).fetchone()
            if row is not None and row[0] == "seeded":
                return name, None
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = self.url_of(name)
        from gateway.store.postgres.uow import open_database

        open_database(url, migrate=True).close()
        took = _copy_rows(seeded.db, url)
        with self._admin() as conn:
            conn.execute(f"COMMENT ON DATABASE \"{name}\" IS 'seeded'")
        return name, took

    def working_copy(self, seeded: seed.Seeded, name: str) -> str:
        """A fresh database ``name`` copied from the template of ``seeded``; its URL."""
        template, _ = self.template(seeded)
        full = f"bench_w_{name}"
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{full}" WITH (FORCE)')
            try:
                conn.execute(f'CREATE DATABASE "{full}" TEMPLATE "{template}" STRATEGY FILE_COPY')
            except psycopg.errors.SyntaxError:  # before PostgreSQL 15
                conn.execute(f'CREATE DATABASE "{full}" TEMPLATE "{template}"')
        if full not in self.copies:
            self.copies.append(full)
        return self.url_of(full)

    def cpu_seconds(self) -> float | None:
        """CPU of the whole local server so far (postmaster, its backends and what they left), or None."""
        pid = self.cluster.postmaster_pid() if self.cluster else None
        if pid is None:
            return None
        return process_cpu(pid, tree=True)

    def pin(self, cpus: set[int] | None) -> None:
        """Move a local server (and the backends it forks from now on) to ``cpus``; None: every core."""
        pid = self.cluster.postmaster_pid() if self.cluster else None
        if pid is None or cores() < 2:
            return
        target = cpus or set(range(os.cpu_count() or 1)) & os.sched_getaffinity(0)
        for proc in [pid, *children(pid)]:
            try:
                for task in Path(f"/proc/{proc}/task").iterdir():
                    os.sched_setaffinity(int(task.name), target)
            except OSError:
                pass

    def stop(self) -> None:
        """Drop the working copies and stop a local server (its templates stay for the next run)."""
        try:
            with self._admin() as conn:
                for name in self.copies:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass
        if self.cluster is not None:
            self.cluster.stop("fast")
            if self.throwaway:
                shutil.rmtree(self.cluster.root, ignore_errors=True)


def _reachable(folder: Path, user: str) -> bool:
    """Whether ``user`` may enter every folder down to ``folder`` (the cluster's data goes below)."""
    uid = pwd.getpwnam(user).pw_uid
    for part in [folder.resolve(), *folder.resolve().parents]:
        if not part.exists():
            continue
        st = part.stat()
        if not (st.st_mode & 0o001 or (st.st_uid == uid and st.st_mode & 0o100)):
            return False
    return True


def _copy_rows(sqlite_db: Path, url: str) -> float:
    """Every row of ``TABLES`` from the SQLite template into the migrated database at ``url``."""
    started = time.perf_counter()
    source = sqlite3.connect(sqlite_db)
    try:
        with psycopg.connect(url) as conn:
            for table in TABLES:
                theirs = [r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))]
                columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})") if r[1] in theirs]
                names = ", ".join(columns)
                with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in source.execute(f"SELECT {names} FROM {table} ORDER BY rowid"):
                        copy.write_row(row)
                if "id" in columns:
                    conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT COALESCE(max(id), 1) FROM {table}))")
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
    finally:
        source.close()
    return round(time.perf_counter() - started, 1)
