"""Abuse: voucher guessing, lost-SIM ID guessing, request floods, exposed endpoints."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from gateway.config import load_settings
from gateway.domain.channels import Channel
from gateway.domain.errors import LostDetailsMismatch
from gateway.ratelimit import RateLimiter
from gateway.services.model import ReportLost
from simulator import load_simulator_settings
from tests.support.audit import money_state
from tests.support.seed import seed
from tests.support.servers import SECRET, profile_with
from tests.support.world import open_services

WRONG = ["1111111111", "2222222222", "3333333333", "4444444444", "5555555555", "6666666666"]


class TestVoucherGuessing:
    def test_lockout_per_number_holds_across_sessions_and_restarts(self, tmp_path: Path, server_factory) -> None:
        """Five wrong PINs from one number lock its top-up; the lock survives a restart and refuses a good PIN."""
        data = seed(tmp_path / "gateway.db", subscribers=2, vouchers=2)
        me, other = data.numbers
        server = server_factory(tmp_path).start()
        replies = [server.post(f"g{n}", f"*123*{pin}#", "", me)[1] for n, pin in enumerate(WRONG[:5])]
        assert replies[0] == "END Wrong PIN. 4 attempt(s) left."
        assert replies[4].startswith("END Wrong PIN. Top-up is locked until ")
        server.kill()
        server.start()
        status, body = server.post("g9", f"*123*{data.pins[0]}#", "", me)
        assert status == 200 and body.startswith("END Too many wrong PINs. Top-up is locked until "), body
        # The lock is the guesser's, not the voucher's: another number can still use it.
        assert "successful" in server.post("h1", f"*123*{data.pins[0]}#", "", other)[1]

    def test_one_session_takes_at_most_three_wrong_pins(self, tmp_path: Path, server_factory) -> None:
        """A session id replayed with new PINs gets three tries, then a polite refusal that tries nothing."""
        data = seed(tmp_path / "gateway.db", subscribers=1, vouchers=1)
        server = server_factory(tmp_path).start()
        me = data.numbers[0]
        answers = [server.post("same", "*123#", pin, me)[1] for pin in WRONG[:3]]
        assert all(a.startswith("END Wrong PIN.") for a in answers), answers
        status, body = server.post("same", "*123#", data.pins[0], me)
        assert status == 200 and body.startswith("END Too many requests. Please try again after "), body
        # A resend of an earlier step still gets its recorded answer.
        assert server.post("same", "*123#", WRONG[0], me)[1] == answers[0]
        # Nothing was tried for the fourth PIN: the voucher is untouched and a new session can use it.
        assert "successful" in server.post("fresh", f"*123*{data.pins[0]}#", "", me)[1]


class TestLostSimGuessing:
    def test_id_guessing_is_locked_per_reporting_phone_over_ussd(self, tmp_path: Path, server_factory) -> None:
        """Five wrong ID numbers from one phone lock its lost-SIM reports; the victim's line stays open."""
        data = seed(tmp_path / "gateway.db", subscribers=2)
        victim, thief = data.numbers
        # No request limit here: this test is about the lockout, not about the flood.
        server = server_factory(tmp_path, GATEWAY_OPERATOR_PROFILE=profile_with(tmp_path, 0)).start()
        national = "0" + victim[3:]
        ends = [server.dial(f"l{n}", "*100#", thief, "3", national, f"X{n}99999", "1")[-1] for n in range(6)]
        assert ends[0] == "END The number and ID do not match our records. 4 attempt(s) left."
        assert ends[4].startswith("END Too many attempts. To report a lost SIM now, contact customer care. "
                                  "Or try again after ")
        # Even the right ID is refused now.
        right = server.dial("l9", "*100#", thief, "3", national, data.id_numbers[victim], "1")[-1]
        assert right.startswith("END Too many attempts.")
        assert server.post("v", "*124#", "", victim)[1].startswith("END Main balance")

    def test_unknown_number_and_wrong_id_look_the_same(self, tmp_path: Path, server_factory) -> None:
        """An unknown number and a wrong ID get the same screen over USSD."""
        data = seed(tmp_path / "gateway.db", subscribers=3)
        server = server_factory(tmp_path).start()
        known = "0" + data.numbers[0][3:]
        unknown = "099888777"
        a = server.dial("u1", "*100#", data.numbers[1], "3", known, "WRONG1", "1")[-1]
        b = server.dial("u2", "*100#", data.numbers[2], "3", unknown, "WRONG1", "1")[-1]
        assert a == b == "END The number and ID do not match our records. 4 attempt(s) left."

    def test_unknown_number_and_wrong_id_take_the_same_time(self, tmp_path: Path) -> None:
        """The service does the same work for an unknown number as for a wrong ID (medians within 2 ms).

        One guess per number, so that the per-number lockout never shortens the path.
        """
        data = seed(tmp_path / "gateway.db", subscribers=60)
        services = open_services(tmp_path / "gateway.db", pin_secret=SECRET)
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        try:
            for n in range(60):
                for kind, number in (("known", data.numbers[n]), ("unknown", f"85599888{n:03d}")):
                    started = time.perf_counter()
                    try:
                        services.report_lost_sim(ReportLost(f"8551200{n:04d}{kind[0]}"[:11], number, "WRONG1",
                                                            Channel.USSD))
                    except LostDetailsMismatch:
                        pass
                    times[kind].append(time.perf_counter() - started)
        finally:
            services.ctx.store.close()
        assert abs(statistics.median(times["known"]) - statistics.median(times["unknown"])) < 0.002


class TestRateLimit:
    def test_flood_from_one_number_is_answered_politely(self, tmp_path: Path, server_factory) -> None:
        """Beyond requests_per_minute a number gets the rate-limit screen; other numbers are served."""
        data = seed(tmp_path / "gateway.db", subscribers=2)
        server = server_factory(tmp_path, GATEWAY_OPERATOR_PROFILE=profile_with(tmp_path, 5)).start()
        before = money_state(server.db)
        bodies = [server.post(f"r{n}", "*124#", "", data.numbers[0])[1] for n in range(8)]
        assert all(b.startswith("END Main balance") for b in bodies[:5])
        assert all(b.startswith("END Too many requests. Please try again after ") for b in bodies[5:]), bodies
        assert server.post("o", "*124#", "", data.numbers[1])[1].startswith("END Main balance")
        assert 'ussd_requests_total{outcome="rate_limited",service_code="*124#"} 3.0' in server.get("/metrics")[1]
        assert money_state(server.db) == before

    def test_token_bucket_refills_and_is_bounded(self) -> None:
        """The limiter allows a minute's burst, refills at the rate, forgets refilled numbers, and 0 is off."""
        now = [0.0]
        limiter = RateLimiter(6, monotonic=lambda: now[0], max_keys=3)
        assert [limiter.take("a") for _ in range(6)] == [0.0] * 6
        assert limiter.take("a") == 10.0  # one token every 10 s
        now[0] += 10.0
        assert limiter.take("a") == 0.0
        for key in "bcd":
            limiter.take(key)
        assert len(limiter) == 3  # "a" (least recently seen) was forgotten
        now[0] += 60.0
        assert limiter.prune() == 3 and len(limiter) == 0
        assert all(RateLimiter(0).take("x") == 0.0 for _ in range(1000))

    def test_a_flood_of_numbers_keeps_the_table_bounded_and_the_newest_limited(self) -> None:
        """A flood from 100,000 spoofed numbers keeps at most ``max_keys`` buckets (memory is
        bounded; its speed is the benchmark's business), and a number seen last is still limited."""
        limiter = RateLimiter(2, max_keys=1000)
        for n in range(100_000):
            limiter.take(f"8551{n:07d}")
        assert len(limiter) == 1000
        assert limiter.take("85510099999") == 0.0  # its second request of the minute
        assert limiter.take("85510099999") > 0.0  # its third: refused


class TestExposure:
    def test_metrics_and_simulator_control_listen_on_loopback_by_default(self) -> None:
        """The shipped configuration binds HTTP and the simulator's control API to loopback and limits /metrics."""
        settings = load_settings(None, environ={})
        assert settings.http.host == "127.0.0.1"
        assert set(settings.http.metrics_networks) == {"127.0.0.0/8", "::1/128"}
        assert set(settings.http.allowed_networks) == {"127.0.0.0/8", "::1/128"}
        simulator = load_simulator_settings(None, environ={})
        assert simulator.control_host == "127.0.0.1"
        assert simulator.host == "127.0.0.1"
