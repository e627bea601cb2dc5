"""Loads the simulator drives itself (benchmarks): round trips matched by destination, MT counts."""

from __future__ import annotations

import asyncio
import struct

import aiohttp

from gateway.smpp.codec import parse_sm_body
from tests.simulator.rawsmpp import RawClient

DELIVER_SM, DELIVER_SM_RESP = 0x00000005, 0x80000005


async def echo(raw: RawClient, replies: int) -> None:
    """Acknowledge each deliver_sm and answer it with a submit_sm to its sender."""
    answered = 0
    while answered < replies:
        pdu = await raw.read()
        if pdu.command_id != DELIVER_SM:
            continue
        sm = parse_sm_body(pdu.body)
        raw.writer.write(struct.pack("!IIII", 17, DELIVER_SM_RESP, 0, pdu.sequence) + b"\x00")
        await raw.send(raw.submit_bytes("Your balance", to=sm.source))
        answered += 1


async def test_round_trips_keep_the_window_and_match_replies_by_destination(sim):
    """POST /load/round-trips delivers MO from distinct numbers, at most `window` unanswered,
    and counts each reply submit_sm to an MO's sender; GET /load reports the rate and latencies."""
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    async with aiohttp.ClientSession() as http:
        spec = {"first": 85510000000, "numbers": 50, "to": "888", "text": "BAL", "count": 30, "window": 4}
        async with http.post(f"{sim.control_url}/load/round-trips", json=spec) as resp:
            assert resp.status == 202
            assert (await resp.json())["injected"] == 4
        await asyncio.wait_for(echo(raw, 30), 5)
        await asyncio.sleep(0.05)
        async with http.get(f"{sim.control_url}/load") as resp:
            report = await resp.json()
    await raw.close()
    assert report["done"] and report["answered"] == 30 and report["injected"] == 30
    assert report["per_s"] > 0 and report["p99_ms"] >= report["p50_ms"] > 0


async def test_mt_count_times_the_next_submits(sim):
    """POST /load/mt-count times the next N accepted submit_sm; an unknown load is a 404."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim.control_url}/load") as resp:
            assert resp.status == 404
        async with http.post(f"{sim.control_url}/load/mt-count", json={"count": 3}) as resp:
            assert resp.status == 202
        raw = await RawClient.connect(sim.port)
        await raw.bind()
        for _ in range(4):
            await raw.send(raw.submit_bytes())
            assert (await raw.read()).status == 0
        await raw.close()
        async with http.get(f"{sim.control_url}/load") as resp:
            report = await resp.json()
        async with http.post(f"{sim.control_url}/load/mt-count", json={"count": 0}) as resp:
            assert resp.status == 400
    assert report["done"] and report["seen"] == 3 and report["per_s"] > 0
