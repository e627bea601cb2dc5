"""Our ESME against the project's SMSC simulator, with the shared USSD/SMS texts."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from gateway.app import default_texts
from gateway.config import Settings
from simulator import RunningSimulator, SimulatorSettings, start_simulator
from tests.support.smsc import Start
from tests.support.waiting import eventually
from tests.support.world import SUBSCRIBER


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    settings = SimulatorSettings(port=0, control_port=0, receipt_delay=0.05)
    running = await start_simulator(settings, Settings(), rng=random.Random(1))
    yield running
    await running.close()


async def mt(sim: RunningSimulator, to: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{sim.control_url}/mt", params={"to": to}) as resp:
        return list(await resp.json())


async def mo(sim: RunningSimulator, text: str, to: str = "888") -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{sim.control_url}/mo", json={"from": SUBSCRIBER, "to": to, "text": text}) as resp:
        assert resp.status == 202


class TestAgainstSimulator:
    async def test_bal_answered_with_the_shared_text(self, sim: RunningSimulator, start_gateway: Start,
                                                     profile: Any, store: Any) -> None:
        """MO BAL through the simulator comes back with the USSD balance wording, then is delivered."""
        texts = default_texts(profile)
        rt = await start_gateway(sim.port, texts=texts)
        await eventually(lambda: rt.bound)
        await mo(sim, "BAL")
        replies: list[dict[str, Any]] = []

        async def got() -> bool:
            replies[:] = await mt(sim, SUBSCRIBER)
            return bool(replies)

        for _ in range(200):
            if await got():
                break
            import asyncio
            await asyncio.sleep(0.02)
        assert replies and replies[0]["from"] == "888"
        assert "$6.00" in replies[0]["text"]
        await eventually(lambda: store.read().execute(
            "SELECT status FROM sms_outbox WHERE kind = 'reply'").fetchone()[0] == "delivered")

    async def test_bal_sent_twice_is_answered_twice(self, sim: RunningSimulator, start_gateway: Start,
                                                    store: Any) -> None:
        """The same BAL twice from one number through the simulator: two inbox rows, two replies."""
        rt = await start_gateway(sim.port)
        await eventually(lambda: rt.bound)
        await mo(sim, "BAL")
        await mo(sim, "BAL")
        await eventually(lambda: store.read().execute(
            "SELECT count(*) FROM sms_outbox WHERE kind = 'reply' AND status = 'delivered'").fetchone()[0] == 2)
        assert [tuple(r) for r in store.read().execute("SELECT text, status FROM sms_inbox")] == [
            ("BAL", "handled")] * 2


async def test_an_smsc_that_drops_before_answering_still_gets_every_message(start_gateway: Start, store: Any,
                                                                             services: Any) -> None:
    """A slow SMSC that cuts the link after 40 PDUs (before answering a full window) still gets everything.

    With a window of 64 every link carried more submits than the SMSC answered, the
    same rows were requeued and resent forever; the window now halves after such a link.
    """
    import asyncio
    from datetime import UTC, datetime

    from gateway.services.model import OutgoingSms
    from gateway.store.sms import OutboxSql

    settings = SimulatorSettings(port=0, control_port=0, receipt_delay=0.05, drop_after=40, response_delay=0.1)
    sim = await start_simulator(settings, Settings(), rng=random.Random(2))
    rt = None
    try:
        numbers = [f"8551200{i:04d}" for i in range(150)]
        with store.write() as conn:
            for number in numbers:
                OutboxSql(conn).enqueue(OutgoingSms(number, f"hello {number}", "888", "notification"),
                                        datetime.now(UTC))
        rt = await start_gateway(sim.port, window=64, send_rate=1_000_000.0)
        got: set[str] = set()
        for _ in range(300):
            got = {record.destination for record in sim.simulator.mt.query()}
            if got >= set(numbers):
                break
            await asyncio.sleep(0.05)
        assert got >= set(numbers), f"{len(set(numbers) - got)} of 150 never reached the SMSC"
    finally:
        if rt is not None:
            await rt.close()
        await sim.close()


async def test_receipts_after_an_smsc_restart_reach_the_new_messages(start_gateway: Start, store: Any) -> None:
    """The simulator restarts (its message ids begin again at 1) before it sent the receipts of the
    first messages: the receipts of the new messages mark the new rows delivered and leave the old
    rows submitted, instead of landing on the old rows."""
    from datetime import UTC, datetime

    from gateway.services.model import OutgoingSms
    from gateway.store.sms import OutboxSql
    from tests.support.net import free_port

    def queue(tag: str) -> None:
        with store.write() as conn:
            for n in range(3):
                OutboxSql(conn).enqueue(OutgoingSms(f"855120000{n}", f"{tag} {n}", "888", "notification"),
                        datetime.now(UTC))

    def states(tag: str) -> list[tuple[str, str]]:
        return [(r["smsc_message_id"], r["status"]) for r in store.read().execute(
            "SELECT smsc_message_id, status FROM sms_outbox WHERE text LIKE ? ORDER BY id", (f"{tag} %",))]

    port = free_port()

    def simulator(receipt_delay: float) -> SimulatorSettings:
        return SimulatorSettings(port=port, control_port=0, receipt_delay=receipt_delay)

    first = await start_simulator(simulator(3600.0), Settings(), rng=random.Random(1))  # no receipt before it stops
    rt = await start_gateway(port)
    try:
        queue("before")
        await eventually(lambda: [s for _, s in states("before")] == ["submitted"] * 3)
    finally:
        await first.close()
    second = await start_simulator(simulator(0.05), Settings(), rng=random.Random(1))
    try:
        queue("after")
        await eventually(lambda: [s for _, s in states("after")] == ["delivered"] * 3, timeout=15)
        assert [mid for mid, _ in states("after")] == [mid for mid, _ in states("before")]  # ids reused
        assert [s for _, s in states("before")] == ["submitted"] * 3
    finally:
        await rt.close()
        await second.close()
