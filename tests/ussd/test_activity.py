"""A USSD dialogue is activity for the inactivity rule (004 3(B).12): noted on loopback, written by the flush."""

from __future__ import annotations

from tests.support.ussd import ME


async def test_a_dialogue_is_noted_and_written_once_by_the_flush(world):
    world.add()
    assert world.sql("SELECT last_active_at FROM subscribers")[0][0] is None
    await world.phone.dial("*124#")
    await world.phone.dial("*124#")
    services = world.gateway.services
    assert await world.gateway.batcher.call(services.flush_activity) == 1
    assert world.sql("SELECT last_active_at FROM subscribers WHERE msisdn = ?", ME)[0][0] is not None
    await world.phone.dial("*100#")
    assert await world.gateway.batcher.call(services.flush_activity) == 0  # once a day per line
