"""Prometheus metrics of the USSD channel, on a registry of the app's own.

The registry is reachable as ``app[gateway.ussd.web.METRICS_REGISTRY]``, so
other parts (the SMPP bind state) can add their collectors to the same
``/metrics`` page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class UssdMetrics:
    registry: CollectorRegistry
    requests: Counter
    step_seconds: Histogram
    active_sessions: Gauge
    topups: Counter
    #: Dialogues the subscriber left unfinished, by the screen they stood on (``tree:screen``, or
    #: ``other``: a bounded label set, see ``gateway.ussd.journal``).
    abandoned: Counter
    #: Every HTTP request by dialect and outcome (``ok``, ``closed``, ``bad_request``, ``forbidden``, ...).
    dialect_requests: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry, active: Callable[[], float]) -> UssdMetrics:
        gauge = Gauge("ussd_active_sessions", "USSD dialogues awaiting an answer", registry=registry)
        gauge.set_function(active)
        return cls(
            registry=registry,
            requests=Counter("ussd_requests", "USSD requests by service code and outcome",
                             ["service_code", "outcome"], registry=registry),
            step_seconds=Histogram(
                "ussd_step_seconds", "Time to answer one USSD request, by service code", ["service_code"],
                registry=registry,
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            ),
            active_sessions=gauge,
            topups=Counter("ussd_topups", "USSD top-ups by outcome", ["outcome"], registry=registry),
            abandoned=Counter("ussd_abandoned_dialogues", "USSD dialogues abandoned, by the screen they stopped on",
                              ["screen"], registry=registry),
            dialect_requests=Counter("ussd_dialect_requests", "USSD HTTP requests by aggregator dialect and outcome",
                                     ["dialect", "outcome"], registry=registry),
        )


class TurnCounters:
    """``UssdMetrics.requests`` and ``step_seconds`` by label, looked up once: ``labels()`` takes a lock
    and checks its arguments each time."""

    def __init__(self, metrics: UssdMetrics) -> None:
        self.metrics = metrics
        self._requests: dict[tuple[str, str], Any] = {}
        self._steps: dict[str, Any] = {}

    def count(self, code: str, outcome: str, seconds: float) -> None:
        counter = self._requests.get((code, outcome))
        if counter is None:
            counter = self._requests[code, outcome] = self.metrics.requests.labels(code, outcome)
        counter.inc()
        timer = self._steps.get(code)
        if timer is None:
            timer = self._steps[code] = self.metrics.step_seconds.labels(code)
        timer.observe(seconds)
