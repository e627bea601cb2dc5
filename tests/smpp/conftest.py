"""An independent SMSC (smpp34, Rust core) on 127.0.0.1 and our SMS runtime bound to it
(``tests.support.smsc``). The shared ``services`` of ``tests/conftest.py`` here run on SQLite only and
on the real clock, which the runtime's timers follow."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway.app import start_sms
from gateway.clock import SystemClock
from gateway.config import SmppSettings
from gateway.profile import OperatorProfile
from gateway.services.api import Services
from gateway.services.batcher import Batcher
from gateway.sms.runtime import SmsRuntime
from gateway.store import Store
from tests.support.backends import Backend, open_sqlite
from tests.support.net import free_port
from tests.support.smsc import Smsc, Start
from tests.support.texts import FakeTexts
from tests.support.waiting import eventually


@pytest.fixture
def clock() -> SystemClock:
    return SystemClock()


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    """SQLite only: these tests are about the SMPP link, not the store."""
    db = open_sqlite(tmp_path)
    yield db
    db.store.close()


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    server = Smsc(free_port())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def start_gateway(services: Services, store: Store, profile: OperatorProfile) -> AsyncIterator[Start]:
    """Start our SMS runtime against a port; fast timers so every wait is short."""
    batcher = Batcher(store)
    running: list[SmsRuntime] = []

    async def start(port: int, texts: Any = None, registry: CollectorRegistry | None = None,
                    **smpp: Any) -> SmsRuntime:
        settings = dataclasses.replace(
            SmppSettings(), **{"port": port, "reconnect_min": 0.05, "reconnect_max": 0.2,
                               "outbox_poll_interval": 0.05, "send_rate": 5000.0,
                               "enquire_link_interval": 1.0, **smpp})
        rt = await start_sms(settings=settings, profile=profile, services=services, store=store,
                             clock=services.ctx.clock, batcher=batcher, registry=registry,
                             texts=texts or FakeTexts())
        running.append(rt)
        return rt

    yield start
    for rt in running:
        await rt.close()
    batcher.close()


@pytest.fixture
async def gateway(start_gateway: Start, smsc: Smsc) -> SmsRuntime:
    rt = await start_gateway(smsc.port)
    await eventually(lambda: rt.bound)
    return rt
