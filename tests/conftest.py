"""The fixtures every test folder shares; a folder's conftest overrides one only where it differs.

``backend`` is a migrated database once on each backend (``tests.support.backends``),
``store`` its port, ``clock`` a fixed moment, ``profile`` smart-kh, and
``services`` the services over them with ``SUBSCRIBER`` ($6.00, English) and
``OTHER`` ($1.00, Khmer) added (``tests.support.world``). PostgreSQL comes
from ``tests.support.pg``; the subprocess harnesses from ``tests.support.servers``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import FixedClock
from gateway.domain.money import Money
from gateway.profile import OperatorProfile, load_profile
from gateway.services.api import Services
from tests.support.backends import BACKENDS, Backend, open_backend
from tests.support.pg import postgres_server, postgres_url
from tests.support.servers import server_factory, smsc_factory
from tests.support.world import OTHER, SUBSCRIBER, services_for

__all__ = ["postgres_server", "postgres_url", "server_factory", "smsc_factory"]


@pytest.fixture
def profile() -> OperatorProfile:
    return load_profile("smart-kh")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A migrated database, once on each backend (a ``PgDatabase`` on PostgreSQL)."""
    db = open_backend(request, tmp_path)
    yield db
    db.store.close()


@pytest.fixture
def store(backend: Backend) -> Any:
    return backend.store


@pytest.fixture
def services(store: Any, clock: Any, profile: OperatorProfile) -> Services:
    svc = services_for(store, clock, profile)
    svc.add_subscriber(SUBSCRIBER, balance=Money(600, profile.currency))
    svc.add_subscriber(OTHER, balance=Money(100, profile.currency), language="km")
    return svc
