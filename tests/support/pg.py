"""PostgreSQL for the tests: a server, and a fresh empty database per test.

``postgres_server`` (session) is ``GATEWAY_TEST_POSTGRES_URL`` when set (a
server where that role may create databases); otherwise, where the server
binaries are installed (``initdb`` and ``pg_ctl`` on PATH or under
/usr/lib/postgresql/*/bin), a throwaway cluster in a temporary folder on a free
127.0.0.1 port (``gateway.store.postgres.cluster``; as root it runs as an
unprivileged user), removed at the end. Without either the PostgreSQL tests
skip, saying what to install; with ``GATEWAY_TEST_REQUIRE_POSTGRES=1`` (CI)
they fail instead.

``postgres_url`` (function) is the URL of a new database of its own, so tests
never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.store.postgres.cluster import Cluster, binaries, owner

INSTALL_HINT = ("PostgreSQL tests need a server: apt-get install postgresql "
                "(or set GATEWAY_TEST_POSTGRES_URL=postgresql://user@host:port/db)")


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
    found = binaries()
    if found is None:
        _unavailable(INSTALL_HINT)
        return
    user, problem = owner()
    if problem:
        _unavailable(problem)
    cluster = Cluster(found, Path(tempfile.mkdtemp(prefix="gateway-pg-")), user)
    try:
        yield PostgresServer(cluster.start())
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database of this test's own."""
    url = postgres_server.fresh_database()
    yield url
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    postgres_server.drop(name)
    postgres_server.created.remove(name)
