"""SMSC outages: down, refusing the bind, dropping, slow and throttling; USSD keeps answering, SMS catches up."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.audit import file_rows
from tests.support.seed import seed
from tests.support.servers import Server, campaign, sms_env
from tests.support.waiting import wait_for


def _ussd_p99(server: Server, numbers: list[str], count: int = 60) -> float:
    """Seconds for the 99th percentile of ``count`` quick-balance requests (every one must answer)."""
    times = []
    for n in range(count):
        started = time.monotonic()
        status, body = server.post(f"p99-{time.monotonic_ns()}", "*124#", "", numbers[n % len(numbers)])
        times.append(time.monotonic() - started)
        assert status == 200 and body.startswith("END "), body
    times.sort()
    return times[int(0.99 * (len(times) - 1))]


def _drained(db: Path) -> bool:
    return file_rows(db, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')")[0][0] == 0 and \
        file_rows(db, "SELECT count(*) FROM sms_inbox WHERE status = 'received'")[0][0] == 0


class TestSmscDownOrRefusing:
    def test_down_then_refusing_then_fixed(self, tmp_path: Path, server_factory, smsc_factory) -> None:
        """No SMSC, then one refusing our password: USSD stays fast, one log line per bind attempt, the queue goes out
        once fixed."""
        data = seed(tmp_path / "gateway.db", subscribers=20)
        smsc = smsc_factory(tmp_path, GATEWAY_SMPP_PASSWORD="other")  # not started: the SMSC is down
        server = server_factory(tmp_path, **sms_env(smsc)).start()
        assert _ussd_p99(server, data.numbers) < 0.5
        campaign(server, data.numbers, "Queued while down")

        smsc.start()  # up, but our password is wrong
        time.sleep(1.5)
        assert _ussd_p99(server, data.numbers) < 0.5
        assert server.proc is not None and server.proc.poll() is None
        refused = [json.loads(line) for line in server.log.read_text().splitlines()
                   if '"smpp_bind_refused"' in line]
        assert refused and all(r["status"] == "ESME_RINVPASWD" for r in refused)
        attempts = [r["attempt"] for r in refused]
        assert attempts == sorted(set(attempts)) and len(attempts) <= 15  # one line each, backing off

        smsc.stop()
        smsc.start(GATEWAY_SMPP_PASSWORD="secret")
        wait_for(lambda: _drained(server.db), 15, "the queue sent once the bind is accepted")
        assert sorted(str(m["to"]) for m in smsc.mt()) == sorted(data.numbers)
        _, metrics = server.get("/metrics")
        assert 'selfcare_smpp_bind_attempts_total{status="refused"}' in metrics
        assert "selfcare_smpp_bound 1.0" in metrics


class TestSmscFaulty:
    def test_dropping_slow_and_throttling_smsc_loses_nothing(self, tmp_path: Path, server_factory,
                                                             smsc_factory) -> None:
        """An SMSC that drops the link, answers slowly and throttles: USSD stays fast, every MO answered, every MT
        sent."""
        data = seed(tmp_path / "gateway.db", subscribers=60)
        smsc = smsc_factory(tmp_path, GATEWAY_SIMULATOR_DROP_AFTER="50", GATEWAY_SIMULATOR_RESPONSE_DELAY="0.2",
                            GATEWAY_SIMULATOR_THROTTLE_RATE="15").start()
        # A window under drop_after: with every PDU of a session in flight when it drops,
        # nothing would ever be answered (see docs/reliability.md).
        server = server_factory(tmp_path, **sms_env(smsc, GATEWAY_SMPP_WINDOW="10")).start()
        wait_for(smsc.bound, 10, "the bind")
        campaign(server, data.numbers[30:], "Offer")
        for number in data.numbers[:30]:
            smsc.mo(number, "888", "BAL")
        assert _ussd_p99(server, data.numbers) < 0.5
        wait_for(lambda: len(smsc.stats()["mo_acked"]) == 30 and _drained(server.db),  # type: ignore[arg-type]
                 30, "every MO answered and every MT sent")
        assert smsc.stats()["drops"] > 0  # type: ignore[operator]
        mt = smsc.mt()
        assert {str(m["to"]) for m in mt if m["text"] == "Offer"} == set(data.numbers[30:])
        assert {str(m["to"]) for m in mt if m["text"] != "Offer"} == set(data.numbers[:30])
        assert file_rows(server.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'")[0][0] == 30
        _, metrics = server.get("/metrics")
        assert 'selfcare_sms_mt_submitted_total{outcome="throttled"}' in metrics
        assert "selfcare_sms_mo_received_total 30.0" in metrics
