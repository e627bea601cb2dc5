"""A real store (a temp SQLite file, or a PostgreSQL database: ``tests.backends``), the smart-kh profile
and the services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gateway.clock import FixedClock
from gateway.domain.money import Money
from gateway.profile import OperatorProfile, load_profile
from gateway.services import sms_delivery
from gateway.services.api import Services
from gateway.services.ports import Context
from gateway.store import Store
from tests.backends import BACKENDS, Backend, open_backend, rows

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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path) -> Iterator[Backend]:  # type: ignore[no-untyped-def]
    """A migrated database, once on each backend (a ``PgDatabase`` on PostgreSQL)."""
    db = open_backend(request, tmp_path)
    yield db
    db.store.close()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store  # type: ignore[no-any-return]


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
    return [dict(zip(r.keys(), r, strict=True)) for r in rows(store, sql + " ORDER BY id", *where.values())]


def read(store: Store, query: str, params: tuple = ()) -> list:  # type: ignore[type-arg]
    """Rows of ``query`` (``?`` placeholders) on either backend, by name or position."""
    return rows(store, query, *params)
