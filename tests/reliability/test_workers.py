"""``serve --workers 2``: two processes on one port and one SQLite file, under a supervisor.

Which worker answers a connection is the kernel's choice (``SO_REUSEPORT``);
each request here opens a new connection, and ``/metrics`` (per process)
says which worker answered it: ``gateway_worker_info{worker, pid}`` and that
process's own counters.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.audit import audit, file_rows
from tests.support.seed import seed
from tests.support.servers import WORKER_INFO, WORKERS, Server, campaign, sms_env, workers
from tests.support.waiting import wait_for

#: Scrapes of /metrics until every worker has answered one (each is a new connection).
SCRAPES = 400


def scrape(server: Server) -> tuple[int, str]:
    """One ``/metrics`` page: (pid of the worker that answered, the page)."""
    status, page = server.get("/metrics")
    assert status == 200, page
    found = WORKER_INFO.search(page)
    assert found is not None, page[:500]
    return int(found.group(1)), page


def per_worker(server: Server, metric: str, *, scrapes: int = SCRAPES) -> dict[int, float]:
    """``metric`` (a counter line, labels included) as each live worker has it; every worker seen."""
    seen = seen_workers(server, metric, scrapes)
    if len(seen) < WORKERS:
        raise AssertionError(f"only workers {sorted(seen)} answered {scrapes} scrapes")
    return seen


def seen_workers(server: Server, metric: str, scrapes: int) -> dict[int, float]:
    """``metric`` by the pid of each worker that answered one of at most ``scrapes`` scrapes."""
    seen: dict[int, float] = {}
    pattern = re.compile(rf"^{re.escape(metric)} (\S+)$", re.M)
    for _ in range(scrapes):
        pid, page = scrape(server)
        value = pattern.search(page)
        seen[pid] = float(value.group(1)) if value else 0.0
        if len(seen) == WORKERS:
            break
    return seen


def worker_pids(server: Server) -> set[int]:
    return set(per_worker(server, "gateway_worker_info_unused"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class TestTwoWorkers:
    def test_both_workers_answer_and_dialogues_move_between_them(self, tmp_path: Path, server_factory) -> None:
        """Dialogues of three steps, each step on a new connection: all answered right, by both workers."""
        data = seed(tmp_path / "gateway.db", subscribers=20, vouchers=20)
        server = workers(tmp_path, server_factory)
        pids = worker_pids(server)
        assert server.proc is not None and server.proc.pid not in pids
        for i, (msisdn, pin) in enumerate(zip(data.numbers, data.pins, strict=True)):
            screens = server.dial(f"d{i}", "*100#", msisdn, "2", "1", pin)
            assert screens[2] == "CON Enter the card PIN:\n0 Back", screens
            assert screens[3].startswith("END Top-up of $5.00 successful"), screens
        steps = per_worker(server, 'ussd_requests_total{outcome="continue",service_code="*100#"}')
        assert set(steps) == pids
        assert all(count > 0 for count in steps.values()), steps
        assert sum(steps.values()) == 3 * 20
        assert audit(server.db)["used"] == 20
        assert server.terminate() == 0

    def test_the_same_100_vouchers_at_once_through_both_credit_100(self, tmp_path: Path, server_factory) -> None:
        """Each PIN dialled twice at once (two numbers, any worker): 100 credits, balances equal the ledger."""
        data = seed(tmp_path / "gateway.db", subscribers=200, vouchers=100)
        server = workers(tmp_path, server_factory)
        worker_pids(server)

        def one(i: int) -> str:
            status, body = server.post(f"v{i}", f"*123*{data.pins[i // 2]}#", "", data.numbers[i], timeout=20)
            assert status == 200, (status, body)
            return body

        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(one, range(200)))
        assert sum("successful" in a for a in answers) == 100, Counter(a[:40] for a in answers)
        assert audit(server.db) == {"used": 100, "topups": 100}
        credited = per_worker(server, 'ussd_topups_total{outcome="credited"}')
        assert sum(credited.values()) == 100 and all(credited.values()), credited
        assert server.terminate() == 0


class TestSupervisor:
    def test_sigterm_stops_every_worker_and_exits_0(self, tmp_path: Path, server_factory) -> None:
        server = workers(tmp_path, server_factory)
        pids = worker_pids(server)
        assert server.terminate() == 0
        assert not any(alive(pid) for pid in pids)
        log = server.log.read_text()
        assert log.count('"event": "stopped"') == WORKERS, log[-2000:]

    def test_a_killed_worker_is_restarted_and_no_request_is_lost(self, tmp_path: Path, server_factory) -> None:
        """SIGKILL one worker: the supervisor starts another; every request after the kill is answered."""
        data = seed(tmp_path / "gateway.db", subscribers=60, vouchers=60)
        server = workers(tmp_path, server_factory)
        pids = worker_pids(server)
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        # Reaped by the supervisor: every thread of it gone, so its listening socket is closed. (A
        # zombie leader is not enough: its other threads, and its socket, may live a moment longer,
        # and a connection the kernel queued there then is reset. That is SO_REUSEPORT's lot for a
        # worker that dies; the ones that arrive after are answered by the others.)
        wait_for(lambda: '"event": "worker_died"' in server.log.read_text(), 10, "the worker's death")
        for i in range(30):  # while it is down or coming back: the other worker answers
            status, body = server.post(f"k{i}", f"*123*{data.pins[i]}#", "", data.numbers[i])
            assert status == 200 and "successful" in body, (status, body)
        deadline = time.monotonic() + 20
        while len(now := set(seen_workers(server, "-", 50))) < WORKERS:
            assert time.monotonic() < deadline, "no worker was started in place of the killed one"
        assert victim not in now and pids - {victim} < now
        for i in range(30, 60):
            status, body = server.post(f"k{i}", f"*123*{data.pins[i]}#", "", data.numbers[i])
            assert status == 200 and "successful" in body, (status, body)
        assert audit(server.db)["used"] == 60
        assert '"event": "worker_died"' in server.log.read_text()
        assert server.terminate() == 0

    def test_sigterm_to_a_worker_still_starting_is_a_clean_stop(self, tmp_path: Path) -> None:
        """A worker that the supervisor's SIGTERM reaches before it has set its handlers (a restart
        still importing) ends by that signal, holding nothing: the stop is still clean, exit 0."""
        ready = tmp_path / "started"
        worker = f"import pathlib, time; pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"
        script = (
            "import sys\n"
            "from gateway.workers import Supervisor\n"
            "class Starting(Supervisor):  # a worker that never gets as far as its signal handlers\n"
            f"    def command(self, index): return [sys.executable, '-c', {worker!r}]\n"
            "sys.exit(Starting(1, []).run())\n"
        )
        supervisor = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
        try:
            wait_for(ready.exists, 20, "the worker started")
            supervisor.send_signal(signal.SIGTERM)
            assert supervisor.wait(timeout=20) == 0
        finally:
            if supervisor.poll() is None:
                supervisor.kill()

    def test_workers_0_is_refused_with_one_line(self, tmp_path: Path, server_factory) -> None:
        server = server_factory(tmp_path)
        for bad in ("0", "-1"):
            server.args = ["--workers", bad]
            server.start(wait=False)
            assert server.proc is not None
            assert server.proc.wait(timeout=20) == 2
        lines = server.log.read_text().splitlines()
        assert lines == ["error: --workers: must be 1 or more, not 0", "error: --workers: must be 1 or more, not -1"]
        assert not server.db.exists()  # refused before anything was opened

    def test_a_port_taken_by_another_program_stops_the_supervisor_with_exit_2(self, tmp_path: Path,
                                                                              server_factory) -> None:
        """Every worker refuses to start (the port is taken): the supervisor does not restart them for ever."""
        server = server_factory(tmp_path)
        server.args = ["--workers", "2"]
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", server.port))
            taken.listen()
            server.start(wait=False)
            assert server.proc is not None and server.proc.wait(timeout=30) == 2
        log = server.log.read_text()
        assert f"error: http.port: cannot listen on 127.0.0.1:{server.port}" in log
        assert '"event": "workers_refused"' in log

    def test_workers_on_port_0_are_refused_with_one_line(self, tmp_path: Path, server_factory) -> None:
        """Each worker would listen on a port of its own: not one gateway, refused before any starts."""
        server = server_factory(tmp_path, GATEWAY_HTTP_PORT="0")
        server.args = ["--workers", "2"]
        server.start(wait=False)
        assert server.proc is not None and server.proc.wait(timeout=20) == 2
        assert server.log.read_text().splitlines() == [
            "error: http.port: --workers needs a fixed port to share (0 would give each worker its own)"]


class TestSms:
    def test_binds_1_one_worker_binds_the_other_queues_and_every_mo_is_answered_once(
            self, tmp_path: Path, server_factory, smsc_factory) -> None:
        """``[smpp] binds = 1``: one bind for two workers; MO answered once; USSD on either worker
        still gets its SMS sent (by the bound one)."""
        data = seed(tmp_path / "gateway.db", subscribers=20, vouchers=20)
        smsc = smsc_factory(tmp_path).start()
        server = workers(tmp_path, server_factory, **sms_env(smsc, GATEWAY_SMPP_BINDS="1"))
        wait_for(smsc.bound, 10, "the bind")
        worker_pids(server)
        for number in data.numbers[:10]:
            smsc.mo(number, "888", "BAL")
        for i, (number, pin) in enumerate(zip(data.numbers[10:], data.pins[10:], strict=True)):
            status, body = server.post(f"u{i}", f"*123*{pin}#", "", number)
            assert status == 200 and "successful" in body, body
        wait_for(lambda: len(file_rows(server.db, "SELECT id FROM sms_inbox WHERE status = 'handled'")) == 10,
                 15, "every MO answered")
        wait_for(lambda: not file_rows(server.db, "SELECT id FROM sms_outbox WHERE status IN ('queued', 'sending')"),
                 15, "every SMS sent")
        assert len(smsc.request("GET", "/binds")) == 1  # type: ignore[arg-type]
        replies = Counter(str(m["to"]) for m in smsc.mt())
        queued = Counter(r["destination"] for r in file_rows(server.db, "SELECT destination FROM sms_outbox"))
        assert replies == queued and set(data.numbers[:10]) <= set(replies), (replies, queued)
        assert all(n == 1 for n in Counter(
            r["destination"] for r in file_rows(server.db, "SELECT destination FROM sms_outbox WHERE kind = 'reply'")
        ).values())
        assert server.terminate() == 0

    def test_a_bound_worker_killed_mid_campaign_is_replaced_and_sends_the_rest(
            self, tmp_path: Path, server_factory, smsc_factory) -> None:
        """Both workers bind; one is killed while the campaign flows: its claims go back to the queue
        when its place is taken again, and every message is sent."""
        data = seed(tmp_path / "gateway.db", subscribers=80)
        smsc = smsc_factory(tmp_path, GATEWAY_SIMULATOR_RESPONSE_DELAY="0.02").start()
        server = workers(tmp_path, server_factory, **sms_env(smsc, GATEWAY_SMPP_SEND_RATE="40"))
        wait_for(lambda: len(smsc.request("GET", "/binds")) == WORKERS, 10, "two binds")  # type: ignore[arg-type]
        pids = worker_pids(server)
        campaign(server, data.numbers, "Hello")
        wait_for(lambda: len(smsc.mt()) >= 10, 10, "the campaign under way")
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not file_rows(server.db, "SELECT id FROM sms_outbox WHERE status IN ('queued', 'sending')"),
                 30, "every message sent after the kill")
        sent = Counter(str(m["to"]) for m in smsc.mt())
        assert set(sent) == set(data.numbers)
        assert sum(sent.values()) - len(sent) <= 64  # only what awaited a submit_sm_resp at the kill
        assert '"event": "worker_died"' in server.log.read_text()
        assert server.terminate() == 0

    def test_a_hung_worker_claims_are_sent_by_the_other_after_the_lease(
            self, tmp_path: Path, server_factory, smsc_factory) -> None:
        """The worker that claimed the campaign hangs (SIGSTOP, so no restart takes its place): once
        ``outbox_lease`` has passed the other worker claims the rows and sends every one of them,
        and the hung one, woken, does not send them again."""
        data = seed(tmp_path / "gateway.db", subscribers=80)
        smsc = smsc_factory(tmp_path).start()
        server = workers(tmp_path, server_factory, **sms_env(
            smsc, GATEWAY_SMPP_SEND_RATE="40", GATEWAY_SMPP_CLAIM_BATCH="100", GATEWAY_SMPP_OUTBOX_LEASE="10",
            GATEWAY_SMPP_WINDOW="4"))
        wait_for(lambda: len(smsc.request("GET", "/binds")) == WORKERS, 10, "two binds")  # type: ignore[arg-type]
        pids = worker_indexes(server)
        campaign(server, data.numbers, "Hello")
        wait_for(lambda: len(smsc.mt()) >= 5, 10, "the campaign under way")
        claimants = {r[0] for r in file_rows(server.db, "SELECT claimed_by FROM sms_outbox WHERE status = 'sending'")}
        assert len(claimants) == 1, claimants  # one claim took the whole campaign
        [claimant] = claimants
        hung = int(claimant.rpartition("#")[0].rpartition("/")[2])
        os.kill(pids[hung], signal.SIGSTOP)
        try:
            left = {r[0] for r in file_rows(server.db, "SELECT id FROM sms_outbox WHERE status = 'sending'")}
            assert left
            unsent = "SELECT id FROM sms_outbox WHERE status IN ('queued', 'sending')"
            wait_for(lambda: not file_rows(server.db, unsent), 40, "the hung worker's messages sent by the other")
            assert set(str(m["to"]) for m in smsc.mt()) == set(data.numbers)
            marks = ",".join("?" * len(left))
            taken = file_rows(server.db, f"SELECT DISTINCT claimed_by FROM sms_outbox WHERE id IN ({marks})", *left)
            assert {r[0].rpartition("#")[0].rpartition("/")[2] for r in taken} == {str(1 - hung)}
        finally:
            os.kill(pids[hung], signal.SIGCONT)
        # Woken, the hung worker sends none of the rows it had claimed and not yet submitted:
        # only what awaited a submit_sm_resp when it stopped (at most the window of 4) and the
        # one it was pacing went twice.
        wait_for(lambda: server.log.read_text().count('"event": "sms_claim_lapsed"') >= len(left) - 5, 20,
                 "the woken worker to pass over the rows it no longer holds")
        assert server.terminate() == 0
        sent = Counter(str(m["to"]) for m in smsc.mt())
        assert sum(sent.values()) - len(sent) <= 5, sent


def worker_indexes(server: Server) -> dict[int, int]:
    """Worker index → pid, from scrapes of ``/metrics``."""
    found: dict[int, int] = {}
    for _ in range(SCRAPES):
        status, page = server.get("/metrics")
        assert status == 200
        match = WORKER_INFO.search(page)
        assert match is not None
        found[int(match.group(2))] = int(match.group(1))
        if len(found) == WORKERS:
            return found
    raise AssertionError(f"only workers {sorted(found)} answered")
