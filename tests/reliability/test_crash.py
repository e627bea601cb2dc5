"""Crashes: SIGKILL in the middle of a burst of top-ups, SIGTERM with requests in flight."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.support.audit import audit
from tests.support.bursts import topup_burst
from tests.support.seed import seed

BURST = 240


@pytest.mark.slow
class TestSigkill:
    def test_kill_mid_burst_then_restart_loses_and_doubles_nothing(self, tmp_path: Path, server_factory) -> None:
        """Killed twice mid-burst and restarted, every voucher ends redeemed exactly once and the ledger agrees."""
        data = seed(tmp_path / "gateway.db", subscribers=BURST, vouchers=2 * BURST)
        server = server_factory(tmp_path).start()
        credited: dict[int, str] = {}
        for round_ in range(2):
            pins = data.pins[round_ * BURST:(round_ + 1) * BURST]
            answers = topup_burst(server, data.numbers, pins, f"k{round_}", kill_after=BURST // 3)
            assert 0 < len(answers) < BURST, "the kill must land mid-burst"
            credited.update({round_ * BURST + i: b for i, b in answers.items() if "successful" in b})
            audit(server.db)  # consistent straight after the kill, before any restart
            server.start()
        # Every top-up acknowledged before a kill survived it (synchronous=normal: a process crash).
        conn = sqlite3.connect(server.db)
        used = {pin_index for (pin_index,) in conn.execute("SELECT id - 1 FROM vouchers WHERE status = 'used'")}
        conn.close()
        assert set(credited) <= used

        # The subscribers try again: each PIN is credited now or was already; never twice.
        for round_ in range(2):
            pins = data.pins[round_ * BURST:(round_ + 1) * BURST]
            retry = topup_burst(server, data.numbers, pins, f"retry{round_}")
            assert len(retry) == BURST
            for i, body in retry.items():
                before = round_ * BURST + i in used
                assert ("already been used" if before else "successful") in body, (before, body)
        assert audit(server.db)["used"] == 2 * BURST
        # A request resent after the restarts gets its recorded answer, not a second credit.
        for i in [i for i in credited if i < BURST][:5]:
            status, body = server.post(f"k0-{i}", f"*123*{data.pins[i]}#", "", data.numbers[i])
            assert (status, body) == (200, credited[i])
        assert audit(server.db)["used"] == 2 * BURST
        assert server.terminate() == 0


class TestSigterm:
    def test_in_flight_top_up_finishes_and_outbox_is_kept(self, tmp_path: Path, server_factory) -> None:
        """SIGTERM while a top-up waits for the database: it completes and is answered, then serve exits 0."""
        data = seed(tmp_path / "gateway.db", subscribers=1, vouchers=1)
        server = server_factory(tmp_path).start()
        blocker = sqlite3.connect(server.db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        result: list[tuple[int, str]] = []
        t = threading.Thread(target=lambda: result.append(
            server.post("t1", f"*123*{data.pins[0]}#", "", data.numbers[0], timeout=15)))
        t.start()
        time.sleep(0.5)  # the request is now waiting on the write lock
        server.proc.send_signal(15)  # type: ignore[union-attr]
        time.sleep(0.3)
        blocker.execute("COMMIT")
        blocker.close()
        t.join(timeout=15)
        assert server.proc.wait(timeout=15) == 0  # type: ignore[union-attr]

        assert result and result[0][0] == 200 and "successful" in result[0][1], result
        counts = audit(server.db)
        assert counts["topups"] == 1
        conn = sqlite3.connect(server.db)
        queued = conn.execute("SELECT COUNT(*) FROM sms_outbox WHERE status = 'queued'").fetchone()[0]
        conn.close()
        assert queued == 1  # the confirmation SMS waits for the next start
        log = server.log.read_text()
        assert '"shutting_down"' in log and '"stopped"' in log

    def test_new_requests_after_sigterm_are_refused_not_half_done(self, tmp_path: Path, server_factory) -> None:
        """After SIGTERM the port closes; serve exits 0 and the database checks clean."""
        seed(tmp_path / "gateway.db", subscribers=1)
        server = server_factory(tmp_path).start()
        assert server.terminate() == 0
        with pytest.raises(OSError):
            server.get("/healthz")
        audit(server.db)
