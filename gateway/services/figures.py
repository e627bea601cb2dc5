"""What the database holds right now, for the dashboards: the outbox, receipts, campaigns, lockouts.

The counters of ``/metrics`` count what one process saw happen; these
figures are the state every process shares (a campaign queued by the CLI,
messages another gateway claimed, a lockout earned over SMS), read from the
store in one consistent snapshot by a background job of ``serve``
(``gateway.monitoring``) rather than on each scrape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.store.port import Database, OutboxFigures


@dataclass(frozen=True)
class Figures:
    #: When they were read.
    at: datetime
    outbox: OutboxFigures
    #: Keys locked out at ``at``, by lock kind (``gateway.store.port.LOCK_KINDS``).
    lockouts: Mapping[str, int]


def read_figures(db: Database, now: datetime, receipt_wait: timedelta) -> Figures:
    """The figures at ``now``; a receipt is overdue once a message has waited ``receipt_wait`` for it."""
    with db.snapshot_uow() as uow:
        return Figures(now, uow.outbox.figures(now - receipt_wait), uow.locks.in_force(now))
