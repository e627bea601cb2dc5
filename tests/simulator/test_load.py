"""Loads the simulator drives itself (benchmarks): round trips matched by destination, MT counts."""

from __future__ import annotations

import asyncio
import struct

import aiohttp

from gateway.smpp.codec import parse_sm_body
from tests.support.rawsmpp import RawClient

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


async def ussd_echo(raw: RawClient, screens: int, seen: list[tuple[int, int, bytes]]) -> None:
    """Acknowledge each USSD deliver_sm and answer a dial with a menu (op 2), an answer with the end (op 17)."""
    from gateway.smpp.codec import UssdFields, ussd_fields
    from tests.support.pdus import submit

    sent = 0
    while sent < screens:
        pdu = await raw.read()
        if pdu.command_id != DELIVER_SM:
            continue
        sm = parse_sm_body(pdu.body)
        fields = ussd_fields(sm.tlvs)
        assert fields is not None
        raw.writer.write(struct.pack("!IIII", 17, DELIVER_SM_RESP, 0, pdu.sequence) + b"\x00")
        seen.append((fields.service_op, (fields.session_info or 0) & 1, sm.payload))
        if fields.service_op not in (1, 18) or (fields.session_info or 0) & 1:
            continue  # a hang-up (generic: the end bit): nothing to answer
        op = 2 if fields.service_op == 1 and sm.payload == b"*100#" else 17
        reply = bytearray(submit(UssdFields(op, fields.session_info), text=b"screen"))
        reply[12:16] = struct.pack("!I", raw.next_seq())
        # to the dialling number, as the gateway does (submit() addresses the test's own number)
        await raw.send(bytes(reply).replace(b"85512345678", sm.source.encode()))
        sent += 1


async def test_ussd_steps_play_the_scripts_and_count_each_screen(sim):
    """POST /load/ussd keeps `window` dialogues open, each from its own number, plays the scripts in
    turn (the menu answered with "1") and counts every screen; GET /load reports the rate."""
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    seen: list[tuple[int, int, bytes]] = []
    async with aiohttp.ClientSession() as http:
        spec = {"first": 85510000000, "numbers": 50, "scripts": [["*124#"], ["*100#", "1"]], "count": 30,
                "window": 4}
        async with http.post(f"{sim.control_url}/load/ussd", json=spec) as resp:
            assert resp.status == 202
            assert (await resp.json())["sent"] == 4
        await asyncio.wait_for(ussd_echo(raw, 30, seen), 5)
        await asyncio.sleep(0.05)
        async with http.get(f"{sim.control_url}/load") as resp:
            report = await resp.json()
    await raw.close()
    assert report["done"] and report["answered"] == 30 and report["failed"] == 0
    dials = [text for op, _, text in seen if op == 1]
    answers = [text for op, end, text in seen if op == 18 and not end]
    assert len(dials) == report["dialogues"] and dials[:4] == [b"*124#", b"*100#", b"*124#", b"*100#"]
    assert len(dials) + len(answers) == 30 and set(answers) == {b"1"}  # each menu answered "1"
    assert report["per_s"] > 0 and report["p99_ms"] >= report["p50_ms"] > 0


async def test_ussd_steps_need_a_bound_gateway_and_scripts_that_dial(sim):
    async with aiohttp.ClientSession() as http:
        spec = {"first": 85510000000, "numbers": 5, "count": 3, "window": 1}
        async with http.post(f"{sim.control_url}/load/ussd", json=spec) as resp:
            assert resp.status == 503
        async with http.post(f"{sim.control_url}/load/ussd", json={**spec, "scripts": [["124"]]}) as resp:
            assert resp.status == 400 and "'scripts'" in (await resp.json())["error"]
