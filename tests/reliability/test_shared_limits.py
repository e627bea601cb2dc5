"""The wrong-PIN lockout and the rate limit hold across processes, on both backends.

``sqlite``: ``serve --workers 2`` on one file; ``postgres``: two ``serve`` on
ports of their own on one database. Each test holds one keep-alive
connection to each process (so it knows which one answers) and alternates
its requests between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.audit import audit, pg_audit
from tests.support.seed import Seed, seed
from tests.support.servers import WORKER_INFO, Pinned, profile_with, two_gateways, workers
from tests.support.waiting import wait_for

WRONG = ["1111111111", "2222222222", "3333333333", "4444444444", "5555555555"]
SYNCS = "gateway_rate_limit_syncs_total"


@dataclass
class Two:
    """Two processes of one gateway, a connection to each, and the money audit of their database."""

    a: Pinned
    b: Pinned
    audit: Callable[[], dict[str, int]]

    def __iter__(self) -> Iterator[Pinned]:
        return iter((self.a, self.b))


def pinned_to_each_worker(port_of: Callable[[], Pinned], tries: int = 400) -> tuple[Pinned, Pinned]:
    """Connections until two workers have answered one each (the kernel spreads new connections)."""
    found: dict[str, Pinned] = {}
    for _ in range(tries):
        conn = port_of()
        match = WORKER_INFO.search(conn.get("/metrics")[1])
        assert match is not None
        if match.group(1) in found:
            conn.close()
        else:
            found[match.group(1)] = conn
            if len(found) == 2:
                a, b = found.values()
                return a, b
    raise AssertionError(f"only one worker answered {tries} connections")


@pytest.fixture(params=["sqlite", "postgres"])
def two(request: pytest.FixtureRequest, tmp_path: Path, server_factory) -> Callable[..., tuple[Seed, Two]]:  # type: ignore[no-untyped-def]
    """``two(vouchers=, **env)``: one subscriber seeded, then two processes on its database."""
    made: list[Pinned] = []

    def start(vouchers: int = 0, **env: str) -> tuple[Seed, Two]:
        if request.param == "sqlite":
            db = tmp_path / "gateway.db"
            data = seed(db, subscribers=2, vouchers=vouchers)
            server = workers(tmp_path, server_factory, **env)
            a, b = pinned_to_each_worker(server.connect)
            two = Two(a, b, lambda: audit(db))
        else:
            url = str(request.getfixturevalue("postgres_url"))
            data = seed(url, subscribers=2, vouchers=vouchers, folder=tmp_path)
            first, second = two_gateways(tmp_path, server_factory, url, **env)
            two = Two(first.connect(), second.connect(), lambda: pg_audit(url))
        made.extend(two)
        return data, two

    yield start
    for conn in made:
        conn.close()


def settle(two: Two) -> None:
    """Wait until each process has sent what it let through and then read back the other's: two
    exchanges each (the first may have begun before the request), then two more each."""
    for _ in range(2):
        marks = [(p, p.metric(SYNCS)) for p in two]
        wait_for(lambda marks=marks: all(p.metric(SYNCS) >= mark + 2 for p, mark in marks), 10,
                 "two rate-limit exchanges")


def test_the_pin_lockout_holds_across_both_processes(two) -> None:  # type: ignore[no-untyped-def]
    """Five wrong PINs from one number, alternating between the processes, lock it on both."""
    data, procs = two(vouchers=1)
    me = data.numbers[0]
    replies = [(procs.a, procs.b)[n % 2].post(f"g{n}", f"*123*{pin}#", "", me)[1] for n, pin in enumerate(WRONG)]
    assert replies[0] == "END Wrong PIN. 4 attempt(s) left."
    assert replies[1] == "END Wrong PIN. 3 attempt(s) left."  # the other process counted the first
    assert replies[4].startswith("END Wrong PIN. Top-up is locked until ")
    for n, proc in enumerate(procs):
        status, body = proc.post(f"ok{n}", f"*123*{data.pins[0]}#", "", me)
        assert status == 200 and body.startswith("END Too many wrong PINs. Top-up is locked until "), body
    assert procs.audit() == {"used": 0, "topups": 0}


def test_the_rate_limit_holds_across_both_processes(two, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``requests_per_minute = 2``: four balance requests alternating between the processes, each after
    the processes have exchanged their spend, get two balances, as on one process (each process on its
    own would allow two: four); the number is then refused on both, and another number is served."""
    data, procs = two(GATEWAY_OPERATOR_PROFILE=profile_with(tmp_path, 2))
    me, other = data.numbers
    settle(procs)
    bodies = []
    for n in range(4):
        status, body = (procs.a, procs.b)[n % 2].post(f"r{n}", "*124#", "", me)
        assert status == 200, body
        bodies.append(body)
        settle(procs)
    balances = sum(b.startswith("END Main balance") for b in bodies)
    refused = sum(b.startswith("END Too many requests. Please try again after ") for b in bodies)
    assert (balances, refused) == (2, 2), bodies
    for proc in procs:
        assert proc.post("again", "*124#", "", me)[1].startswith("END Too many requests."), proc
    assert procs.a.post("o", "*124#", "", other)[1].startswith("END Main balance")
