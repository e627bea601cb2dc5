"""A PostgreSQL cluster of our own in a folder (``initdb`` + ``pg_ctl``), for the tests and the benchmark.

Not used by the gateway itself: ``tests/support/pg.py`` starts a throwaway one per
test session and ``scripts/bench`` keeps one under ``bench-results/`` between
runs (its seeded databases are the expensive part). ``binaries`` finds the
server programs (on PATH, else the newest /usr/lib/postgresql/*/bin).
initdb refuses to run as root, so as root the cluster belongs to an
unprivileged user (``owner``: ``postgres`` if it exists, else ``nobody``)
and runs through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 60
#: Server settings of a throwaway test cluster: nothing needs to survive a power cut.
UNDURABLE = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first; None when not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                         if Path(p).parent.name.isdigit() else 0, reverse=True):
        if os.access(Path(folder) / "initdb", os.X_OK) and os.access(Path(folder) / "pg_ctl", os.X_OK):
            return Path(folder)
    return None


def owner() -> tuple[str | None, str | None]:
    """Who runs a cluster started by this process: (user, None), or (None, why it cannot be run).

    The user is None when this process is not root (the cluster is its own)."""
    if os.geteuid() != 0:
        return None, None
    user = next((name for name in ("postgres", "nobody") if _has_user(name)), None)
    if user is None or shutil.which("runuser") is None:
        return None, "running as root without a 'postgres' or 'nobody' user and runuser for initdb"
    return user, None


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A cluster in ``root`` (``root/data``), run by ``user`` (None: this process's own user).

    ``settings``: extra ``-c name=value`` options of the server; ``prefix``: a command the
    server is started under (``taskset -c 1`` pins it and every backend it forks).
    """

    bin: Path
    root: Path
    user: str | None
    port: int = field(default_factory=free_port)
    settings: tuple[str, ...] = UNDURABLE
    prefix: tuple[str, ...] = ()

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run([*self.prefix, *prefix, *argv], cwd=self.root, env=env, capture_output=True,
                              text=True, timeout=START_TIMEOUT + 30)

    def start(self) -> str:
        """initdb (unless ``root`` already holds a cluster) + pg_ctl start; the URL of the
        ``postgres`` database for the superuser ``gateway``.

        Raises:
            RuntimeError: initdb or the server's start failed (with the server log's tail).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            proc = self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "gateway", "-A", "trust",
                            "-E", "UTF8", "--locale=C", "--no-sync")
            if proc.returncode != 0:
                raise RuntimeError(f"initdb failed: {proc.stderr.strip() or proc.stdout.strip()}")
        for _ in range(3):  # another process may take the free port before the server does
            options = " ".join((f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1",
                                "-c max_connections=200", *self.settings))
            proc = self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                            "-w", "-t", str(START_TIMEOUT), "-o", options, "start")
            if proc.returncode == 0:
                return f"postgresql://gateway@127.0.0.1:{self.port}/postgres"
            self.port = free_port()
        log = (self.root / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"pg_ctl start failed: {proc.stderr.strip()}\n{log}")

    def postmaster_pid(self) -> int | None:
        """The server's process id while it runs (the first line of ``postmaster.pid``)."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server: ``immediate`` for a throwaway cluster, ``fast`` to keep its data."""
        if (self.data / "postmaster.pid").exists():
            self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
