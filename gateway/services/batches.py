"""The jobs over many lines (life cycle, inactivity, postpaid review): a transaction per batch of lines.

Each line is read again inside its batch's transaction (what the job found due may have changed
since), and one that is gone by then (recycled, removed) is passed over. A batch bounds how long the
write lock is held and how much one failure undoes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from gateway.services.ports import Context
from gateway.store.port import SubscriberRecord, UnitOfWork

#: Lines a transaction.
BATCH = 500


def live_lines(ctx: Context, numbers: Sequence[str]) -> Iterator[tuple[UnitOfWork, SubscriberRecord]]:
    """Each live line of ``numbers`` with the unit of work of its batch (committed when the batch is done;
    an exception raised by the caller rolls its batch back)."""
    for start in range(0, len(numbers), BATCH):
        with ctx.store.write_uow() as uow:
            for msisdn in numbers[start:start + BATCH]:
                record = uow.accounts.load_live(msisdn, ctx.profile.currency)
                if record is not None:
                    yield uow, record
