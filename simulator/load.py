"""Load generated inside the simulator, so that a benchmark's driver is not what it measures.

Injecting MO one ``POST /mo`` at a time and polling ``GET /mt`` for the
replies costs the driver and the control API more CPU than the SMPP traffic
itself: the earlier SMS benchmark measured them, not the gateway. Here the
simulator keeps the load going itself:

- ``RoundTrips``: MO from ``numbers`` distinct senders, at most ``window``
  awaiting their reply; an MT to a sender with an MO outstanding answers
  the oldest one (matched by destination), and the next MO is delivered in
  the same loop turn. Latency is taken inside the simulator, from the
  deliver_sm being written to the submit_sm of the reply being read.
- ``MtCount``: times the next ``count`` submit_sm accepted (a campaign),
  from the first to the last, in the simulator.
- ``UssdSteps``: USSD dialogues over SMPP through the simulator's USSD centre,
  ``window`` open at once, each from its own number, each playing one of
  ``scripts`` in turn (a dial string and the answers after it); a step is one
  deliver_sm and the screen that answers it, timed in the simulator.

Only one load runs at a time (``POST /load/...`` replaces it); ``GET /load``
reports it. These are benchmark helpers on top of the control API contract
(``POST /mo`` etc. are unchanged).
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.server import Simulator
    from simulator.ussd import Dialogue, Screen


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rates(answered: int, count: int, started: float, finished: float, latencies: list[float]) -> dict[str, Any]:
    """How far a load is and how fast it went: answered, done, seconds, per second, p50 and p99."""
    done = answered >= count
    seconds = (finished if done else time.perf_counter()) - started
    ordered = sorted(latencies)
    p50, p99 = _percentile(ordered, 0.5), _percentile(ordered, 0.99)
    return {
        "answered": answered, "done": done, "seconds": round(seconds, 3),
        "per_s": round(answered / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(p50 * 1000, 2) if p50 is not None else None,
        "p99_ms": round(p99 * 1000, 2) if p99 is not None else None,
    }


class RoundTrips:
    """MO → MT reply round trips, ``window`` outstanding, matched by the MT's destination."""

    def __init__(self, sim: Simulator, *, first: int, numbers: int, destination: str, text: str,
                 count: int, window: int) -> None:
        self._sim = sim
        self._first, self._numbers = first, max(1, numbers)
        self._destination, self._text = destination, text
        self.count = count
        self.window = max(1, min(window, self._numbers))
        self._outstanding: dict[str, deque[float]] = {}
        self._in_flight = 0
        self.injected = self.answered = 0
        self._latencies: list[float] = []
        self.started = self.finished = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()
        self._top_up()

    def _top_up(self) -> None:
        while self.injected < self.count and self._in_flight < self.window:
            source = str(self._first + self.injected % self._numbers)
            self.injected += 1
            self._in_flight += 1
            self._outstanding.setdefault(source, deque()).append(time.perf_counter())
            self._sim.inject_mo(source, self._destination, self._text, 0, flush=False)
        self._sim.flush_soon()

    def on_mt(self, destination: str) -> None:
        waiting = self._outstanding.get(destination)
        if not waiting:
            return
        now = time.perf_counter()
        self._latencies.append(now - waiting.popleft())
        if not waiting:
            del self._outstanding[destination]
        self._in_flight -= 1
        self.answered += 1
        if self.answered >= self.count:
            self.finished = now
        else:
            self._top_up()

    def report(self) -> dict[str, Any]:
        return {"kind": "round_trips", "count": self.count, "window": self.window, "injected": self.injected,
                **_rates(self.answered, self.count, self.started, self.finished, self._latencies)}


class MtCount:
    """The next ``count`` accepted submit_sm, timed from the first to the last."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = 0
        self.started = time.perf_counter()
        self.first = self.last = 0.0

    def on_mt(self, destination: str) -> None:
        if self.seen >= self.count:
            return
        now = time.perf_counter()
        if self.seen == 0:
            self.first = now
        self.seen += 1
        self.last = now

    def report(self) -> dict[str, Any]:
        span = self.last - self.first
        return {
            "kind": "mt_count", "count": self.count, "seen": self.seen, "done": self.seen >= self.count,
            "seconds": round(span, 3),
            # n submits span n - 1 intervals
            "per_s": round((self.seen - 1) / span, 1) if self.seen > 1 and span > 0 else 0.0,
            "first_after_s": round(self.first - self.started, 3) if self.seen else None,
        }


class UssdSteps:
    """USSD dialogues through the USSD centre, ``window`` at a time, until ``count`` steps are answered."""

    def __init__(self, sim: Simulator, *, first: int, numbers: int, scripts: list[list[str]], count: int,
                 window: int) -> None:
        self._sim = sim
        self._centre = sim.ussd
        self._first, self._numbers = first, max(1, numbers)
        self._scripts = scripts
        self.count = count
        self.window = max(1, min(window, self._numbers))
        self._dialled = 0
        #: Open dialogue id → (its script, answers sent so far, when its last message was sent).
        self._open: dict[str, tuple[list[str], int, float]] = {}
        self.sent = self.answered = self.dialogues = self.failed = 0
        self._latencies: list[float] = []
        self.started = self.finished = 0.0

    def on_mt(self, destination: str) -> None:
        """An SMS: not what this load counts."""

    def start(self) -> None:
        self._centre.on_screen = self._on_screen
        self.started = time.perf_counter()
        for _ in range(self.window):
            self._dial()
        self._sim.flush_soon()

    def _dial(self) -> None:
        if self.sent >= self.count:
            return
        script = self._scripts[self._dialled % len(self._scripts)]
        number = str(self._first + self._dialled % self._numbers)
        self._dialled += 1
        try:
            d = self._centre.open(number, script[0], flush=False)
        except Exception:  # noqa: BLE001 - no bound gateway: counted, the load stops short
            self.failed += 1
            return
        self.sent += 1
        self.dialogues += 1
        self._open[d.id] = (script, 0, time.perf_counter())

    def _on_screen(self, d: Dialogue, screen: Screen) -> None:
        entry = self._open.pop(d.id, None)
        if entry is None:
            return
        script, answered, sent_at = entry
        now = time.perf_counter()
        self._latencies.append(now - sent_at)
        self.answered += 1
        if self.answered >= self.count:
            self.finished = now
            self._centre.on_screen = None
            return
        if not screen.end and answered + 1 < len(script) and self.sent < self.count:
            self._centre.answer_nowait(d, script[answered + 1])
            self.sent += 1
            self._open[d.id] = (script, answered + 1, now)
        else:
            if not screen.end:
                self._centre.abort(d.id)  # the script is over: hang up
            self._dial()
        self._centre.forget_ended()
        self._sim.flush_soon()

    def report(self) -> dict[str, Any]:
        return {"kind": "ussd_steps", "count": self.count, "window": self.window, "dialogues": self.dialogues,
                "sent": self.sent, "failed": self.failed,
                **_rates(self.answered, self.count, self.started, self.finished, self._latencies)}
