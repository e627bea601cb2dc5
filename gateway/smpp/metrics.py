"""Prometheus metrics of the SMS side, on the app registry (``GET /metrics``).

Counters are bumped where the event is seen on the wire or saved, so a
scrape never touches the database. What the outbox holds (depth, waiting
time, overdue receipts, campaigns) is the database's, shared by every
process: ``gateway.monitoring`` reads it for every ``serve``, SMPP or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter


@dataclass(frozen=True)
class SmsMetrics:
    mo_received: Counter
    mt_submitted: Counter
    receipts: Counter
    bind_attempts: Counter
    rate_limited: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None) -> SmsMetrics:
        """Metrics on ``registry`` (a private one when None, e.g. in tests)."""
        reg = registry if registry is not None else CollectorRegistry()
        return cls(
            mo_received=Counter("selfcare_sms_mo_received", "MO SMS saved to the inbox (whole messages)",
                                registry=reg),
            mt_submitted=Counter("selfcare_sms_mt_submitted", "submit_sm answered, by outcome "
                                 "(ok, throttled, error; a timeout counts as error)", ["outcome"],
                                 registry=reg),
            receipts=Counter("selfcare_sms_receipts", "delivery receipts received, by final state",
                             ["state"], registry=reg),
            bind_attempts=Counter("selfcare_smpp_bind_attempts", "binds tried, by result "
                                  "(ok, refused, error)", ["status"], registry=reg),
            rate_limited=Counter("selfcare_sms_rate_limited", "MO SMS over the per-number request limit "
                                 "(answered once 'too many requests', then not at all for a while)",
                                 registry=reg),
        )
