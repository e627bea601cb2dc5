"""Two ``serve`` processes on one PostgreSQL database (``[database] url``), on loopback.

Each process has a port of its own (two gateways, as on two hosts); every
request opens a new connection. What they share is only the database: a
voucher is taken once by a conditional update, a lockout is a row. (The
lockout and the rate limit across processes: ``test_shared_limits.py``.)
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from tests.reliability.conftest import Server, seed

def two_gateways(tmp_path: Path, server_factory, url: str, **extra: str) -> tuple[Server, Server]:  # type: ignore[no-untyped-def]
    """Two ``serve`` on ports of their own, on the database at ``url`` (``extra``: more settings)."""
    env = {"GATEWAY_DATABASE_URL": url, "GATEWAY_DATABASE_PATH": str(tmp_path / "never.db"), **extra}
    return server_factory(tmp_path, **env).start(), server_factory(tmp_path, **env).start()


def audit(url: str) -> dict[str, int]:
    """Assert that every balance equals its ledger rows; counts of used vouchers and top-ups."""
    with psycopg.connect(url) as conn:
        off = conn.execute(
            "SELECT s.id FROM subscribers s LEFT JOIN (SELECT subscriber_id, bucket, sum(delta_minor) AS total "
            "FROM ledger GROUP BY subscriber_id, bucket) l ON l.subscriber_id = s.id AND l.bucket = 'main' "
            "WHERE s.main_minor <> COALESCE(l.total, 0)").fetchall()
        assert off == [], off
        used = conn.execute("SELECT count(*) FROM vouchers WHERE status = 'used'").fetchone()
        topups = conn.execute("SELECT count(*) FROM topups").fetchone()
    assert used is not None and topups is not None
    return {"used": used[0], "topups": topups[0]}


def test_the_same_vouchers_at_once_through_two_gateways_credit_once_each(
        tmp_path: Path, server_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    """Each of 40 PINs dialled twice at once, once through each gateway: 40 credits, balances equal the
    ledger, both ready, and no SQLite file is made."""
    data = seed(postgres_url, subscribers=80, vouchers=40, folder=tmp_path)
    a, b = two_gateways(tmp_path, server_factory, postgres_url)
    assert a.get("/readyz")[0] == 200 and b.get("/readyz")[0] == 200

    def one(i: int) -> str:
        status, body = (a, b)[i % 2].post(f"v{i}", f"*123*{data.pins[i // 2]}#", "", data.numbers[i], timeout=20)
        assert status == 200, (status, body)
        return body

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(80)))
    assert sum("successful" in answer for answer in answers) == 40, Counter(answer[:40] for answer in answers)
    assert audit(postgres_url) == {"used": 40, "topups": 40}
    assert not (tmp_path / "never.db").exists()
    assert a.terminate() == 0 and b.terminate() == 0


def test_a_dialogue_begun_on_one_gateway_continues_on_the_other(
        tmp_path: Path, server_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    """The top-up menu, its steps alternating between the gateways: each step finds the session the other
    saved, and the card is redeemed once."""
    data = seed(postgres_url, subscribers=1, vouchers=1, folder=tmp_path)
    [me] = data.numbers
    a, b = two_gateways(tmp_path, server_factory, postgres_url)
    screens = []
    for n, text in enumerate(["", "2", "2*1", f"2*1*{data.pins[0]}"]):
        status, body = (a, b)[n % 2].post("moving", "*100#", text, me)
        assert status == 200, body
        screens.append(body)
    assert screens[2] == "CON Enter the card PIN:\n0 Back", screens
    assert screens[3].startswith("END Top-up of $5.00 successful"), screens
    assert audit(postgres_url) == {"used": 1, "topups": 1}
