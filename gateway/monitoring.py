"""Gauges of what the database holds, on ``/metrics``: read by a job of ``serve``, never by a scrape.

The outbox (depth by kind and state, how long the longest-waiting due
message has waited), receipts overdue, campaign progress and lockouts in
force are shared by every process on the database, and some of them come
from other processes (a campaign queued by the CLI, a lockout earned on
another gateway). ``keep_figures`` reads them every
``[jobs] figures_interval_seconds`` on a thread and a connection of their own
(``gateway.services.figures``), so neither the event loop nor the write
path waits for the counts; a scrape shows the last reading, and
``selfcare_figures_timestamp_seconds`` says when it was taken. Every
process of ``serve --workers N`` or of several gateways shows the same
figures: dashboards take ``max`` of them across processes, not the sum.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

from prometheus_client import CollectorRegistry, Gauge

from gateway.logs import get_logger
from gateway.services.figures import Figures

log = get_logger("gateway.monitoring")


class StoreGauges:
    """The gauges ``keep_figures`` sets, on the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.outbox = Gauge("selfcare_sms_outbox", "Outbox messages not yet final, by kind and status "
                            "(queued, sending, submitted: awaiting a receipt)", ["kind", "status"],
                            registry=registry)
        self.oldest_due = Gauge("selfcare_sms_outbox_oldest_due_seconds",
                                "Seconds the longest-waiting queued message of each kind has been due "
                                "(since it was queued, or due for its next try); 0 when none waits",
                                ["kind"], registry=registry)
        self.receipts_overdue = Gauge("selfcare_sms_receipts_overdue",
                                      "Messages submitted more than [jobs] receipt_overdue_minutes ago "
                                      "without a final delivery receipt, by kind", ["kind"], registry=registry)
        self.campaign = Gauge("selfcare_campaign_messages", "Marketing (campaign) messages by status, "
                              "every campaign so far", ["status"], registry=registry)
        self.lockouts = Gauge("selfcare_lockouts", "Numbers locked out now, by kind (topup: wrong voucher "
                              "PINs; lost, lost-number: lost-SIM mismatches)", ["kind"], registry=registry)
        self.read_at = Gauge("selfcare_figures_timestamp_seconds",
                             "Unix time the database figures (outbox, receipts, campaigns, lockouts) were read",
                             registry=registry)

    def show(self, figures: Figures) -> None:
        """Set every gauge from one reading (on the event loop: a scrape sees all of it or none)."""
        outbox = figures.outbox
        for (kind, status), count in outbox.live.items():
            self.outbox.labels(kind, status).set(count)
        for kind in {kind for kind, _ in outbox.live}:
            due = outbox.oldest_due.get(kind)
            waited = 0.0 if due is None else (figures.at - due).total_seconds()
            self.oldest_due.labels(kind).set(max(0.0, waited))
        for kind, count in outbox.receipts_overdue.items():
            self.receipts_overdue.labels(kind).set(count)
        for status, count in outbox.marketing.items():
            self.campaign.labels(status).set(count)
        for kind, count in figures.lockouts.items():
            self.lockouts.labels(kind).set(count)
        self.read_at.set(figures.at.timestamp())


async def keep_figures(gauges: StoreGauges, read: Callable[[], Figures], interval: float,
                       executor: Executor) -> None:
    """Read the figures now and then every ``interval`` seconds until cancelled.

    ``read`` runs on ``executor`` (one thread: its connection is used by no
    other). A failed reading is logged and the gauges keep the last one
    (``selfcare_figures_timestamp_seconds`` shows how old it is).
    """
    loop = asyncio.get_running_loop()
    while True:
        try:
            gauges.show(await loop.run_in_executor(executor, read))
        except Exception as exc:  # noqa: BLE001 - the next reading may succeed; USSD and SMS go on
            log.warning("figures_not_read", error=repr(exc))
        await asyncio.sleep(interval)
