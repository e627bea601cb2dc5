"""aiosmpplib's own ESME (the one the gateway uses) against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiosmpplib import ESME, DeliverSm, PhoneNumber, SmppMessage, SubmitSm, SubmitSmResp
from aiosmpplib.broker import SimpleBroker
from aiosmpplib.hook import AbstractHook


class RecordingHook(AbstractHook):
    """Keeps every message the ESME receives, so the test can wait for one."""

    def __init__(self) -> None:
        self.messages: list[SmppMessage] = []
        self.changed = asyncio.Event()

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        pass

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        if smpp_message is not None:
            self.messages.append(smpp_message)
            self.changed.set()

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        pass

    async def wait_for(self, kind: type, count: int = 1, timeout: float = 3.0) -> list:
        async with asyncio.timeout(timeout):
            while len(found := [m for m in self.messages if isinstance(m, kind)]) < count:
                self.changed.clear()
                await self.changed.wait()
        return found


@contextlib.asynccontextmanager
async def running_esme(port: int):
    hook, broker = RecordingHook(), SimpleBroker()
    esme = ESME("127.0.0.1", port, "selfcare", "secret", hook=hook, broker=broker,
                log_level=logging.WARNING, socket_timeout=3.0)
    task = asyncio.create_task(esme.start())
    try:
        yield esme, hook, broker
    finally:
        # aiosmpplib quirk: stop() sends unbind and write_eof() but never closes the
        # StreamWriter (a ResourceWarning at garbage collection), so close it here.
        writer = esme._writer
        await asyncio.wait_for(esme.stop(), 5)
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_submit_receipt_and_mo_with_aiosmpplib(sim):
    """aiosmpplib's ESME binds, gets a message id and a parsed receipt, and receives Khmer MO."""
    async with running_esme(sim.port) as (_, hook, broker):
        await broker.enqueue(SubmitSm(short_message="Top-up of $5.00 done", log_id="t1",
                                      source=PhoneNumber("888"), destination=PhoneNumber("85512345678")))
        [resp] = await hook.wait_for(SubmitSmResp)
        receipt = next(m for m in await hook.wait_for(DeliverSm) if m.is_receipt())
        assert receipt.parse_receipt()["id"] == resp.message_id
        assert receipt.parse_receipt()["stat"] == "DELIVRD"
        sim.simulator.inject_mo("85512345678", "888", "សមតុល្យ", 8)
        mo = (await hook.wait_for(DeliverSm, 2))[-1]
        assert (mo.short_message, mo.source.number) == ("សមតុល្យ", "85512345678")
    [mt] = sim.simulator.mt.query()
    assert mt.text == "Top-up of $5.00 done"
