"""Bursts of requests from many threads at once against real ``serve`` and ``smsc-sim`` processes
(``tests.support.servers``), for the crash tests on either backend."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from tests.support.servers import Server, Smsc

#: Threads sending at once.
THREADS = 32


def topup_burst(server: Server, numbers: list[str], pins: list[str], tag: str,
           kill_after: int | None = None, via: Sequence[Server] = ()) -> dict[int, str]:
    """Each subscriber dials ``*123*PIN#`` with their own PIN from many threads at once.

    With ``kill_after`` the server is SIGKILLed once that many answers came
    back, while the other threads' requests are in flight. ``via``: the
    requests take turns over these gateways instead (``server`` among them).
    Returns index → reply for the requests that got an answer (connection
    failures after the kill are left out).
    """
    answered: dict[int, str] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        target = via[i % len(via)] if via else server
        try:
            status, body = target.post(f"{tag}-{i}", f"*123*{pins[i]}#", "", numbers[i], timeout=15)
        except OSError:
            return
        assert status == 200, (status, body)
        with lock:
            answered[i] = body
            if kill_after is not None and len(answered) == kill_after:
                server.kill()

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, range(len(numbers))))
    return answered


def sms_burst(smsc: Smsc, numbers: list[str], pins: list[str]) -> dict[int, str]:
    """Each of ``numbers`` sends one keyword (BAL, TOP PIN or STOP); simulator MO id → sender."""
    def one(i: int) -> tuple[int, str]:
        text, to = [("BAL", "888"), (f"TOP {pins[i // 3]}", "888"), ("STOP", "1204")][i % 3]
        return smsc.mo(numbers[i], to, text), numbers[i]

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, range(len(numbers))))
