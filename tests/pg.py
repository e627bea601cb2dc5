"""PostgreSQL for the tests: a server, and a fresh empty database per test.

``postgres_server`` (session) is ``GATEWAY_TEST_POSTGRES_URL`` when set (a
server where that role may create databases); otherwise, where the server
binaries are installed (``initdb`` and ``pg_ctl`` on PATH or under
/usr/lib/postgresql/*/bin), a throwaway cluster in a temporary folder on a free
127.0.0.1 port, removed at the end. initdb refuses to run as root, so as root
the cluster belongs to an unprivileged user (``postgres`` if it exists, else
``nobody``) and runs through ``runuser``. Without either the PostgreSQL tests
skip, saying what to install; with ``GATEWAY_TEST_REQUIRE_POSTGRES=1`` (CI)
they fail instead.

``postgres_url`` (function) is the URL of a new database of its own, so tests
never see each other's rows.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

INSTALL_HINT = ("PostgreSQL tests need a server: apt-get install postgresql "
                "(or set GATEWAY_TEST_POSTGRES_URL=postgresql://user@host:port/db)")
START_TIMEOUT = 60


def _binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first; None when not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                         if Path(p).parent.name.isdigit() else 0, reverse=True):
        if os.access(Path(folder) / "initdb", os.X_OK) and os.access(Path(folder) / "pg_ctl", os.X_OK):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A throwaway cluster in ``root``, run by ``user`` (None: this process's own user)."""

    bin: Path
    root: Path
    user: str | None
    port: int = field(default_factory=_free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run([*prefix, *argv], cwd=self.root, env=env, capture_output=True, text=True,
                              timeout=START_TIMEOUT + 30)

    def start(self) -> str:
        """initdb + pg_ctl start; the URL of the ``postgres`` database for the superuser ``gateway``."""
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        proc = self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "gateway", "-A", "trust",
                        "-E", "UTF8", "--locale=C", "--no-sync")
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed: {proc.stderr.strip() or proc.stdout.strip()}")
        for _ in range(3):  # another process may take the free port before the server does
            options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            proc = self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                            "-w", "-t", str(START_TIMEOUT), "-o", options, "start")
            if proc.returncode == 0:
                return f"postgresql://gateway@127.0.0.1:{self.port}/postgres"
            self.port = _free_port()
        log = (self.root / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"pg_ctl start failed: {proc.stderr.strip()}\n{log}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")


@dataclass
class PostgresServer:
    """A server the tests may create databases on, through ``admin_url``."""

    admin_url: str
    created: list[str] = field(default_factory=list)

    def url_of(self, name: str) -> str:
        parts = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    def fresh_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"gw_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url_of(name)

    def drop(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _unavailable(reason: str) -> None:
    if os.environ.get("GATEWAY_TEST_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"GATEWAY_TEST_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    given = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if given:
        server = PostgresServer(given)
        yield server
        for name in server.created:  # a shared server: leave it as it was
            server.drop(name)
        return
    binaries = _binaries()
    if binaries is None:
        _unavailable(INSTALL_HINT)
        return
    user = None
    if os.geteuid() == 0:
        user = next((name for name in ("postgres", "nobody") if _has_user(name)), None)
        if user is None or shutil.which("runuser") is None:
            _unavailable("running as root without a 'postgres' or 'nobody' user and runuser for initdb")
    cluster = Cluster(binaries, Path(tempfile.mkdtemp(prefix="gateway-pg-")), user)
    try:
        yield PostgresServer(cluster.start())
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database of this test's own."""
    url = postgres_server.fresh_database()
    yield url
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    postgres_server.drop(name)
    postgres_server.created.remove(name)
