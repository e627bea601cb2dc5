"""An ESME standing in for the gateway, for tests of the simulator's own commands and pages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import smpp34

from gateway.profile import load_profile

SMART_KH = load_profile("smart-kh").number_plan


@contextlib.asynccontextmanager
async def echo_esme(port: int, reply: str, international: bool = False) -> AsyncIterator[None]:
    """A tiny gateway stand-in: answers every MO with one MT back to the sender.

    ``international``: answer to the sender's +855 form, as the gateway does
    (it normalises every number it is given).
    """
    client = smpp34.Client("127.0.0.1", port, "selfcare", "secret", bind_type="TRX")
    smsc = await client.connect()

    async def answer() -> None:
        for _ in range(100):
            event = await smsc.next()
            if not isinstance(event, smpp34.DeliverSmEvent):
                return
            if event.esm_class & 0x3C == 0:
                to = SMART_KH.normalise(event.source_addr) if international else event.source_addr
                await smsc.submit_sm(to, reply.encode(), source_addr=event.destination_addr)

    task = asyncio.create_task(answer())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await smsc.unbind()
        await client.stop()
