"""The per-number request buckets every process shares, in the store (``rate_limits`` table).

The buckets themselves live in memory at the channels (``gateway.ratelimit``);
these are the two use cases its ``LimitSharing`` job calls through ``Services``.
"""

from __future__ import annotations

from gateway.services.ports import Context


def share(ctx: Context, costs: dict[str, float], watch: list[str], now: float) -> dict[str, float]:
    """Add this process's spend (seconds of refill per number, at unix time ``now``) to the shared
    buckets, then read the full-again instants of ``watch`` (numbers with a full bucket are absent)."""
    if not costs:
        return ctx.store.read_uow().rate_limits.full_at(watch) if watch else {}
    # Not durable: a spend lost in a power cut only makes the limit more lenient for a minute.
    with ctx.store.write_uow(durable=False) as uow:
        uow.rate_limits.spend(costs, now)
        return uow.rate_limits.full_at(watch)


def forget_full(ctx: Context, now: float) -> int:
    """Delete the shared buckets that are full again at unix time ``now``; how many."""
    with ctx.store.write_uow(durable=False) as uow:
        return uow.rate_limits.forget_full(now)
