"""The database held by another writer: USSD waits a bounded time, then asks to retry."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.audit import audit, money_state
from tests.support.seed import seed

BUSY_TEXT = "END Service busy. Please try again in a moment."


class TestDatabaseBusy:
    def test_writes_answer_busy_within_bound_while_another_writer_holds_the_lock(
        self, tmp_path: Path, server_factory
    ) -> None:
        """Top-ups and dialogues asked while another process holds BEGIN IMMEDIATE get the busy screen in time."""
        data = seed(tmp_path / "gateway.db", subscribers=20, vouchers=20)
        server = server_factory(tmp_path, GATEWAY_DATABASE_BUSY_TIMEOUT_MS="800").start()
        before = money_state(server.db)
        blocker = sqlite3.connect(server.db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            def topup(i: int) -> tuple[float, int, str]:
                started = time.monotonic()
                status, body = server.post(f"b{i}", f"*123*{data.pins[i]}#", "", data.numbers[i], timeout=30)
                return time.monotonic() - started, status, body

            with ThreadPoolExecutor(20) as pool:
                results = list(pool.map(topup, range(20)))
            # A menu screen changes nothing: it is shown at once, its session row
            # is written once the lock is free (the dialogue replays from ``text``).
            started = time.monotonic()
            menu = server.post("m1", "*100#", "", data.numbers[0], timeout=30)
            menu_time = time.monotonic() - started
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        for elapsed, status, body in results:
            assert (status, body) == (200, BUSY_TEXT)
            assert elapsed < 4.0, elapsed
        assert menu[0] == 200 and menu[1].startswith("CON Smart self-care") and menu_time < 0.5, menu
        assert money_state(server.db) == before
        deadline = time.monotonic() + 5
        while not _session_rows(server.db, "m1") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _session_rows(server.db, "m1") == 1

        # Once the other writer is gone the same requests go through.
        status, body = server.post("b0", f"*123*{data.pins[0]}#", "", data.numbers[0])
        assert status == 200 and "successful" in body, body
        audit(server.db)

    def test_reads_still_answer_while_another_writer_holds_the_lock(self, tmp_path: Path, server_factory) -> None:
        """A balance check needs no write lock, so it answers at once while the database is busy."""
        data = seed(tmp_path / "gateway.db", subscribers=1)
        server = server_factory(tmp_path, GATEWAY_DATABASE_BUSY_TIMEOUT_MS="800").start()
        blocker = sqlite3.connect(server.db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            status, body = server.post("r1", "*124#", "", data.numbers[0])
            assert time.monotonic() - started < 0.5
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert status == 200 and body.startswith("END Main balance: $1.00"), body


def _session_rows(db: Path, session_id: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM ussd_sessions WHERE session_id = ?",
                                (session_id,)).fetchone()[0])
    finally:
        conn.close()
