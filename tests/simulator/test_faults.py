"""Fault injection from [simulator] settings: throttling, errors, window, delay, drops."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from aiosmpplib import EnquireLink

from tests.support.rawsmpp import RawClient


async def pipelined_statuses(port: int, count: int) -> Counter[int]:
    """Bind, send ``count`` submit_sm in one write, return how many got each status."""
    raw = await RawClient.connect(port)
    try:
        assert (await raw.bind()).status == 0
        await raw.send(b"".join(raw.submit_bytes(f"m{i}") for i in range(count)))
        return Counter([(await raw.read_until(0x80000004)).status for _ in range(count)])
    finally:
        await raw.close()


async def test_rate_cap_answers_throttled(start_sim):
    """Beyond throttle_rate per second, submit_sm is answered ESME_RTHROTTLED (0x58)."""
    sim = await start_sim(throttle_rate=5.0)
    statuses = await pipelined_statuses(sim.port, 20)
    assert 5 <= statuses[0] <= 6 and statuses[0x58] == 20 - statuses[0]
    assert len(sim.simulator.mt) == statuses[0]


async def test_syserr_share(start_sim):
    """With syserr_ratio 1 every submit_sm fails with ESME_RSYSERR and nothing is stored."""
    sim = await start_sim(syserr_ratio=1.0)
    assert await pipelined_statuses(sim.port, 5) == Counter({0x08: 5})
    assert len(sim.simulator.mt) == 0


async def test_window_limit_refuses_beyond_the_window(start_sim):
    """With window_limit 2 and slow answers, the third unanswered submit gets ESME_RMSGQFUL."""
    sim = await start_sim(window_limit=2, response_delay=0.2)
    assert await pipelined_statuses(sim.port, 5) == Counter({0: 2, 0x14: 3})


async def test_response_delay(start_sim):
    """response_delay holds each submit_sm_resp back by that many seconds."""
    sim = await start_sim(response_delay=0.3)
    raw = await RawClient.connect(sim.port)
    try:
        await raw.bind()
        started = time.monotonic()
        await raw.send(raw.submit_bytes())
        assert (await raw.read()).status == 0
        assert time.monotonic() - started >= 0.29
    finally:
        await raw.close()


async def test_connection_dropped_after_n_pdus(start_sim):
    """drop_after 3 cuts the connection right after the third PDU, like a flaky link."""
    sim = await start_sim(drop_after=3)
    raw = await RawClient.connect(sim.port)
    try:
        await raw.bind()
        await raw.send(EnquireLink(sequence_num=2).pdu())
        await raw.read()
        await raw.send(raw.submit_bytes())
        try:
            assert await raw.is_closed()
        except ConnectionResetError:
            pass
        await asyncio.sleep(0.05)
        assert sim.simulator.binds() == []
    finally:
        await raw.close()
