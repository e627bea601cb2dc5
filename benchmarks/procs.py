"""Processes of the benchmark: pinned to cores, watched, stopped by their own id.

On a machine with two or more cores the server under test runs on core 0 and
the load generator on core 1 (``taskset``), so the generator never takes CPU
from the server; with one core nothing is pinned (and the report says so).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cores() -> int:
    return len(os.sched_getaffinity(0))


def pinned(core: int, argv: list[str]) -> list[str]:
    if cores() >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *argv]
    return argv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def process_cpu(pid: int, *, tree: bool = False) -> float:
    """User + system CPU seconds of ``pid`` and its threads; with ``tree`` also of its
    children, live (recursively) and exited (waited for)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if not tree:
        return ticks / CLOCK_TICKS
    ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS + sum(process_cpu(child, tree=True) for child in children(pid))


class Server:
    """A long-running process (bare server, ``serve``, ``smsc-sim``) on core 0."""

    def __init__(self, name: str, argv: list[str], port: int, *, env: dict[str, str] | None = None,
                 log: Path | None = None, core: int | None = 0, tree: bool = False, ready_s: float = 60.0,
                 cwd: Path = ROOT) -> None:
        self.name = name
        self.tree = tree
        self.port = port
        self.log = log
        out = log.open("wb") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(pinned(core, argv) if core is not None else argv, cwd=cwd, env=env,
                                     stdout=out, stderr=out)
        try:
            self._wait_listening(ready_s)
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-800:] if self.log else ""
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {tail}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name}: nothing listens on {self.port} after {timeout:.0f} s")

    def _status(self, key: str) -> int:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def peak_rss(self) -> int:
        """Peak resident set size since start, bytes (``VmHWM``)."""
        return self._status("VmHWM")

    def rss(self) -> int:
        return self._status("VmRSS")

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and all its threads so far (with ``tree``: and of
        its child processes, as for ``serve --workers N``)."""
        return process_cpu(self.proc.pid, tree=self.tree)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_json(argv: list[str], *, core: int | None = 1, timeout: float, env: dict[str, str] | None = None,
             stdin: str | None = None) -> Any:
    """Run a helper to completion (pinned to ``core``) and parse its one JSON line."""
    cmd = pinned(core, argv) if core is not None else argv
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                          input=stdin)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def loadgen(spec: dict[str, Any], server: Server, *, core: int | None = 1,
            db_cpu: Callable[[], float | None] | None = None) -> dict[str, Any]:
    """One load-generator run (on ``core``) against ``server``, with the server's CPU over the
    same run (and the database server's, from ``db_cpu``), also per step answered."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({**spec, "port": server.port}, handle)
        path = handle.name
    try:
        cpu0, db0 = server.cpu_seconds(), db_cpu() if db_cpu else None
        result: dict[str, Any] = run_json(
            [sys.executable, "-m", "benchmarks.loadgen", path],
            timeout=spec.get("warmup", 1) + spec["duration"] + spec.get("timeout", 15) + 30, core=core,
        )
        result["server_cpu_s"] = round(server.cpu_seconds() - cpu0, 2)
        result["server_peak_rss_mb"] = round(server.peak_rss() / 2**20, 1)
        answered = max(result.get("answered", 0), 1)
        result["server_cpu_us_per_step"] = round(result["server_cpu_s"] / answered * 1e6, 1)
        db1 = db_cpu() if db_cpu else None
        if db0 is not None and db1 is not None:
            result["db_cpu_s"] = round(db1 - db0, 2)
            result["db_cpu_us_per_step"] = round((db1 - db0) / answered * 1e6, 1)
        return result
    finally:
        os.unlink(path)
