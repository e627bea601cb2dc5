"""Real ``python -m gateway serve`` processes on loopback over real SQLite files.

``Server`` starts the gateway as a subprocess on a free 127.0.0.1 port with a
fresh environment (PIN secret, database path, SMPP off until the SMS side
lands), waits for ``/healthz``, and can kill, terminate and restart it.
Stderr (JSON log lines) goes to a file so the privacy test can read it.
``Smsc`` runs ``python -m gateway smsc-sim`` the same way (faults set through
``GATEWAY_SIMULATOR_*``) and talks to its control API; ``sms_env`` points a
``Server`` at it with short reconnect and keep-alive periods.
``seed`` fills a database with subscribers and vouchers through the services,
in this process, before the server opens it. ``audit`` checks the money
invariants a crash must never break.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import SystemClock
from gateway.domain.account import Bucket
from gateway.domain.money import parse_amount
from gateway.profile import load_profile
from gateway.services import Context, Services
from gateway.store import open_store
from gateway.store.accounts import ledger_totals
from menus.replies import Replies
from menus.texts import Catalog
from tests.support.net import free_port

SECRET = "reliability-secret-0123456789"
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0


def profile_with(tmp: Path, requests_per_minute: int) -> str:
    """A copy of the smart-kh profile with another ``requests_per_minute``; its path."""
    text = (ROOT / "config" / "operators" / "smart-kh.toml").read_text()
    path = tmp / f"rpm{requests_per_minute}.toml"
    path.write_text(text.replace("requests_per_minute = 30", f"requests_per_minute = {requests_per_minute}"))
    return str(path)


def services_on(db: Path | str) -> Services:
    """The services over ``db`` (a SQLite file, or a ``postgresql://`` URL) with the real clock (the server
    uses it too)."""
    profile = load_profile("smart-kh")
    if str(db).startswith("postgresql://"):
        from gateway.store.postgres.uow import open_database

        store: Any = open_database(str(db), migrate=True)
    else:
        store = open_store(db, migrate=True, synchronous="normal")
    return Services(Context(store=store, clock=SystemClock(), profile=profile, pin_secret=SECRET,
                            notices=Replies(Catalog.for_profile(profile), profile)))


@dataclass
class Seed:
    numbers: list[str]
    pins: list[str]
    id_numbers: dict[str, str] = field(default_factory=dict)


def seed(db: Path | str, subscribers: int = 1, vouchers: int = 0, *, first: int = 0, amount: str = "5",
         folder: Path | None = None) -> Seed:
    """``subscribers`` numbers 8551000nnnnn with $1.00 and an ID number each, and ``vouchers`` PINs
    (their CSV goes to ``folder``, default the database's folder)."""
    services = services_on(db)
    try:
        cur = services.profile.currency
        numbers, ids = [], {}
        for n in range(first, first + subscribers):
            msisdn = f"8551000{n:05d}"
            ids[msisdn] = f"ID{n:06d}"
            services.add_subscriber(msisdn, balance=parse_amount("1.00", cur), id_number=ids[msisdn])
            numbers.append(msisdn)
        pins: list[str] = []
        if vouchers:
            out = (folder or Path(db).parent) / f"pins-{time.monotonic_ns()}.csv"
            pins = [p for _, p in services.generate_vouchers(
                count=vouchers, amount=parse_amount(amount, cur), active_days=30, out=out)]
        return Seed(numbers, pins, ids)
    finally:
        services.ctx.store.close()


def audit(db: Path) -> dict[str, int]:
    """Assert the money invariants and the file's integrity; returns counts for the caller.

    No voucher redeemed twice; each used voucher has exactly one top-up and
    one credit in the ledger, and each top-up credit a used voucher; every
    balance equals its ledger.
    """
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        used = conn.execute("SELECT COUNT(*) FROM vouchers WHERE status = 'used'").fetchone()[0]
        topups = conn.execute("SELECT COUNT(*) FROM topups").fetchone()[0]
        assert used == topups, (used, topups)
        # Each top-up names a distinct voucher that is used (the unique index holds it too).
        assert conn.execute(
            "SELECT COUNT(DISTINCT t.voucher_id) FROM topups t JOIN vouchers v ON v.id = t.voucher_id "
            "WHERE v.status = 'used'").fetchone()[0] == topups
        # One ledger credit per redeemed voucher (referenced by its serial), and no other credit.
        used_serials = {r[0] for r in conn.execute("SELECT serial FROM vouchers WHERE status = 'used'")}
        credits = dict(conn.execute(
            "SELECT reference, COUNT(*) FROM ledger WHERE kind = 'topup' GROUP BY reference").fetchall())
        assert credits == {serial: 1 for serial in used_serials}
        for row in conn.execute("SELECT id, main_minor, restorable_minor FROM subscribers"):
            totals = ledger_totals(conn, row["id"])
            promo = conn.execute("SELECT COALESCE(SUM(amount_minor), 0) FROM promo_lots WHERE subscriber_id = ?",
                                 (row["id"],)).fetchone()[0]
            assert (totals[Bucket.MAIN], totals[Bucket.RESTORABLE], totals[Bucket.PROMO]) == (
                row["main_minor"], row["restorable_minor"], promo), row["id"]
        return {"used": used, "topups": topups}
    finally:
        conn.close()


def money_state(db: Path) -> list[tuple[object, ...]]:
    """Balances, ledger and vouchers: what no refused or malformed request may change."""
    conn = sqlite3.connect(db)
    try:
        rows: list[tuple[object, ...]] = []
        for query in ("SELECT id, main_minor, main_expires_at, restorable_minor FROM subscribers ORDER BY id",
                      "SELECT * FROM ledger ORDER BY id", "SELECT id, status, used_by FROM vouchers ORDER BY id",
                      "SELECT * FROM lost_reports ORDER BY id"):
            rows += [tuple(r) for r in conn.execute(query)]
        return rows
    finally:
        conn.close()


class Server:
    """One ``serve`` subprocess; ``start`` again after ``kill`` or ``terminate`` to restart it."""

    def __init__(self, tmp: Path, db: Path | None = None, **env: str) -> None:
        self.tmp = tmp
        self.db = db or tmp / "gateway.db"
        self.port = free_port()
        self.log = tmp / "serve.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        self.env.update(
            GATEWAY_SECURITY_PIN_SECRET=SECRET, GATEWAY_DATABASE_PATH=str(self.db),
            GATEWAY_HTTP_PORT=str(self.port), GATEWAY_SMPP_ENABLED="false",
            GATEWAY_LOGGING_FORMAT="json", GATEWAY_DATABASE_SYNCHRONOUS="normal",
        )
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None
        #: Run in the child before ``serve`` starts (e.g. to set its resource limits).
        self.preexec: Callable[[], None] | None = None
        #: More arguments of ``serve`` (e.g. ``--workers 2``).
        self.args: list[str] = []

    def start(self, *, wait: bool = True) -> Server:
        with self.log.open("ab") as err:
            # A process group of its own: ``close`` ends the workers of ``--workers N`` with it.
            self.proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve", *self.args], cwd=self.tmp,
                                         env=self.env, stdout=subprocess.DEVNULL, stderr=err,
                                         preexec_fn=self.preexec, process_group=0)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("serve did not start in time")

    def get(self, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def post(self, sid: str, code: str, text: str, msisdn: str, timeout: float = 10) -> tuple[int, str]:
        body = urllib.parse.urlencode({"sessionId": sid, "serviceCode": code, "phoneNumber": msisdn, "text": text})
        return self.raw("POST", "/ussd", body.encode(), {"Content-Type": "application/x-www-form-urlencoded"},
                        timeout=timeout)

    def raw(self, method: str, path: str, body: bytes, headers: dict[str, str],
            timeout: float = 10) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def dial(self, sid: str, code: str, msisdn: str, *answers: str) -> list[str]:
        """Dial ``code`` and give ``answers`` one by one; every screen (200s only)."""
        screens = []
        for n in range(len(answers) + 1):
            status, body = self.post(sid, code, "*".join(answers[:n]), msisdn)
            assert status == 200, (status, body)
            screens.append(body)
            if body.startswith("END "):
                break
        return screens

    def connect(self) -> Pinned:
        """A keep-alive connection: every request on it goes to the one process that accepted it."""
        return Pinned(self.port)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def rss_kb(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


class Pinned:
    """One keep-alive HTTP connection to a ``serve`` port, so one worker answers all its requests."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")

    def get(self, path: str) -> tuple[int, str]:
        return self.request("GET", path)

    def post(self, sid: str, code: str, text: str, msisdn: str) -> tuple[int, str]:
        body = urllib.parse.urlencode({"sessionId": sid, "serviceCode": code, "phoneNumber": msisdn, "text": text})
        return self.request("POST", "/ussd", body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})

    def metric(self, line: str) -> float:
        """The value of the ``/metrics`` line that starts with ``line`` (0 when absent)."""
        status, page = self.get("/metrics")
        assert status == 200, page
        for found in page.splitlines():
            if found.startswith(line + " "):
                return float(found.rpartition(" ")[2])
        return 0.0

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type[Server]]:
    """``server_factory(tmp_path, **env)``; every server made is killed at the end."""
    made: list[Server] = []

    class Tracked(Server):
        def __init__(self, *args: object, **kwargs: str) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    yield Tracked
    for s in made:
        s.close()


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``check`` (every 50 ms, at most ``timeout`` s) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {result!r}")
        time.sleep(0.05)


class Smsc:
    """One ``smsc-sim`` subprocess on free loopback ports; ``start`` again after ``stop``."""

    def __init__(self, tmp: Path, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.control_port = free_port()
        self.log = tmp / "smsc.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        self.env.update(GATEWAY_LOGGING_FORMAT="json", GATEWAY_SIMULATOR_RECEIPT_DELAY="0.05")
        self.env.update(env)
        self.cwd = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **env: str) -> Smsc:
        self.env.update(env)
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "smsc-sim", "--port", str(self.port),
                 "--control-port", str(self.control_port)],
                cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=err)
        wait_for(self._up, START_TIMEOUT, "the simulator's control API")
        return self

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"smsc-sim exited: {self.log.read_text()[-2000:]}")
        try:
            self.request("GET", "/binds")
            return True
        except OSError:
            return False

    def request(self, method: str, path: str, body: object = None) -> object:
        conn = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=10)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            raw = r.read()
            assert r.status < 300, (r.status, raw[:200])
            return json.loads(raw) if raw else None
        finally:
            conn.close()

    def mo(self, source: str, to: str, text: str) -> int:
        reply = self.request("POST", "/mo", {"from": source, "to": to, "text": text})
        assert isinstance(reply, dict)
        return int(reply["id"])

    def mt(self) -> list[dict[str, object]]:
        found = self.request("GET", "/mt")
        assert isinstance(found, list)
        return found

    def stats(self) -> dict[str, object]:
        found = self.request("GET", "/stats")
        assert isinstance(found, dict)
        return found

    def bound(self) -> bool:
        return bool(self.request("GET", "/binds"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def sms_env(smsc: Smsc, **extra: str) -> dict[str, str]:
    """Settings that bind a ``Server`` to ``smsc`` and recover from faults quickly."""
    env = dict(GATEWAY_SMPP_ENABLED="true", GATEWAY_SMPP_PORT=str(smsc.port),
               GATEWAY_SMPP_RECONNECT_MIN="0.1", GATEWAY_SMPP_RECONNECT_MAX="0.5",
               GATEWAY_SMPP_ENQUIRE_LINK_INTERVAL="2", GATEWAY_SMPP_RESPONSE_TIMEOUT="2",
               GATEWAY_SMPP_CONNECT_TIMEOUT="1", GATEWAY_SMPP_OUTBOX_POLL_INTERVAL="0.1")
    env.update(extra)
    return env


def campaign(server: Server, numbers: list[str], text: str) -> None:
    """Queue a marketing SMS with the real CLI, as an operator would (another process)."""
    subprocess.run([sys.executable, "-m", "gateway", "campaign", "send", "--text", text, "--to", *numbers],
                   cwd=server.tmp, env=server.env, check=True, capture_output=True, timeout=30)


def rows(db: Path, query: str, *args: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


@pytest.fixture
def smsc_factory(tmp_path: Path) -> Iterator[type[Smsc]]:
    """``smsc_factory(tmp_path, **env)``; every simulator made is stopped at the end."""
    made: list[Smsc] = []

    class Tracked(Smsc):
        def __init__(self, *args: object, **kwargs: str) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    yield Tracked
    for s in made:
        s.stop()
