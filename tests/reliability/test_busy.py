"""The database held by another writer: USSD waits a bounded time, then asks to retry."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.reliability.conftest import audit, money_state, seed

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
            # A menu screen must be remembered (a write) too.
            started = time.monotonic()
            menu = server.post("m1", "*100#", "", data.numbers[0], timeout=30)
            menu_time = time.monotonic() - started
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        for elapsed, status, body in results:
            assert (status, body) == (200, BUSY_TEXT)
            assert elapsed < 4.0, elapsed
        assert menu == (200, BUSY_TEXT) and menu_time < 4.0
        assert money_state(server.db) == before

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
