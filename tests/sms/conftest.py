"""A real store on a temp SQLite file, the smart-kh profile and the services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gateway.clock import FixedClock
from gateway.domain.money import Money
from gateway.profile import OperatorProfile, load_profile
from gateway.services.facade import Services
from gateway.services.ports import Context
from gateway.store import Store, open_store
from gateway.services import sms_delivery

SUBSCRIBER = "85512345678"
OTHER = "85512345679"
PIN_SECRET = "s" * 20
#: The key the hook of a gateway with ``PIN_SECRET`` seals waiting MO parts with.
PART_KEY = sms_delivery.part_key(PIN_SECRET)


@pytest.fixture
def profile() -> OperatorProfile:
    return load_profile("smart-kh")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    s = open_store(tmp_path / "gateway.db", migrate=True, synchronous="normal")
    yield s
    s.close()


@pytest.fixture
def services(store: Store, clock: FixedClock, profile: OperatorProfile) -> Services:
    svc = Services(Context(store=store, clock=clock, profile=profile, pin_secret=PIN_SECRET))
    svc.add_subscriber(SUBSCRIBER, balance=Money(600, profile.currency))
    svc.add_subscriber(OTHER, balance=Money(100, profile.currency), language="km")
    return svc


def outbox(store: Store, **where: str) -> list[dict]:  # type: ignore[type-arg]
    sql = "SELECT * FROM sms_outbox"
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
    return [dict(r) for r in store.read().execute(sql + " ORDER BY id", tuple(where.values()))]
