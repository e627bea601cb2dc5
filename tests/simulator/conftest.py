"""Fixtures for the SMSC simulator suite: a real simulator on 127.0.0.1:0 per test."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gateway.config import Settings
from simulator import RunningSimulator, SimulatorSettings, start_simulator

StartSim = Callable[..., Awaitable[RunningSimulator]]


def make_settings(**simulator: Any) -> SimulatorSettings:
    """Default ``[simulator]`` settings with fields overridden (ports default to 0)."""
    return SimulatorSettings(**{"port": 0, "control_port": 0, "receipt_delay": 0.05, **simulator})


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """Start simulators with given ``[simulator]`` overrides; all are closed after the test."""
    running: list[RunningSimulator] = []

    async def start(**simulator: Any) -> RunningSimulator:
        sim = await start_simulator(make_settings(**simulator), Settings(), rng=random.Random(7))
        running.append(sim)
        return sim

    yield start
    for sim in running:
        await sim.close()


@pytest.fixture
async def sim(start_sim: StartSim) -> RunningSimulator:
    """A simulator with default behaviour and the extra account ``other``/``pw2``."""
    return await start_sim(accounts={"other": "pw2"})
