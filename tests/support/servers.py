"""Real ``python -m gateway serve`` and ``smsc-sim`` processes on loopback, for the tests that need the
whole program.

``Server`` starts the gateway as a subprocess on a free 127.0.0.1 port with a
fresh environment (PIN secret ``SECRET``, database path, SMPP off unless
``sms_env`` binds it to an ``Smsc``), waits for ``/healthz``, and can kill,
terminate and restart it; ``refused`` runs ``serve`` expecting a one-line
refusal. Stderr (JSON log lines) goes to a file so the privacy tests can read
it. ``Smsc`` runs ``python -m gateway smsc-sim`` the same way (faults set
through ``GATEWAY_SIMULATOR_*``) and talks to its control API. The
``server_factory`` and ``smsc_factory`` fixtures stop every process a test made.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.net import free_port
from tests.support.waiting import wait_for

SECRET = "reliability-secret-0123456789"
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
P = TypeVar("P")


def profile_with(tmp: Path, requests_per_minute: int) -> str:
    """A copy of the smart-kh profile with another ``requests_per_minute``; its path."""
    text = (ROOT / "config" / "operators" / "smart-kh.toml").read_text()
    path = tmp / f"rpm{requests_per_minute}.toml"
    path.write_text(text.replace("requests_per_minute = 30", f"requests_per_minute = {requests_per_minute}"))
    return str(path)


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

    def refused(self) -> str:
        """Run ``serve`` expecting a refusal: exit 2 within seconds, no traceback, the reason last; returns it."""
        proc = subprocess.run([sys.executable, "-m", "gateway", "serve"], cwd=self.tmp, env=self.env,
                              capture_output=True, text=True, timeout=30)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (proc.returncode, proc.stderr)
        assert lines[-1].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
        return lines[-1]

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


def pg_env(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    """Settings of a ``serve`` on the database at ``url`` (``extra``: more settings)."""
    return {"GATEWAY_DATABASE_URL": url, "GATEWAY_DATABASE_PATH": str(tmp_path / "never.db"), **extra}


def two_gateways(tmp_path: Path, server_factory: type[Server], url: str, **extra: str) -> tuple[Server, Server]:
    """Two ``serve`` on ports of their own, on the PostgreSQL database at ``url``."""
    env = pg_env(tmp_path, url, **extra)
    return server_factory(tmp_path, **env).start(), server_factory(tmp_path, **env).start()


#: The ``/metrics`` line naming the worker that answered: its pid and index.
WORKER_INFO = re.compile(r'^gateway_worker_info\{pid="(\d+)",worker="(\d+)"\} 1\.0$', re.M)
#: Workers of ``serve --workers`` in ``workers``.
WORKERS = 2


def workers(tmp_path: Path, server_factory: type[Server], **env: str) -> Server:
    """``serve --workers 2`` started (``env``: more settings)."""
    server = server_factory(tmp_path, **env)
    server.args = ["--workers", str(WORKERS)]
    return server.start()


def campaign(server: Server, numbers: list[str], text: str) -> None:
    """Queue a marketing SMS with the real CLI, as an operator would (another process)."""
    subprocess.run([sys.executable, "-m", "gateway", "campaign", "send", "--text", text, "--to", *numbers],
                   cwd=server.tmp, env=server.env, check=True, capture_output=True, timeout=30)


def _made(cls: type[P], stop: Callable[[P], object]) -> Iterator[type[P]]:
    """A subclass of ``cls`` for the test to make processes with; each one made is stopped at the end."""
    made: list[P] = []

    class Tracked(cls):  # type: ignore[valid-type,misc]
        def __init__(self, *args: object, **kwargs: str) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    yield Tracked
    for process in made:
        stop(process)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type[Server]]:
    """``server_factory(tmp_path, **env)``; every server made is killed at the end."""
    yield from _made(Server, Server.close)


@pytest.fixture
def smsc_factory(tmp_path: Path) -> Iterator[type[Smsc]]:
    """``smsc_factory(tmp_path, **env)``; every simulator made is stopped at the end."""
    yield from _made(Smsc, Smsc.stop)
