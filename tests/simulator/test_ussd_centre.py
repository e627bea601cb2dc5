"""The simulator as a USSD centre, on its own: a raw ESME on 127.0.0.1 plays the gateway.

The deliver_sm the centre sends are read with smpp34's codec (Rust, independent of
ours and of aiosmpplib); the raw ESME's screens are submit_sm encoded by smpp34
too, with the TLV octets each vendor's centre is expected to use written out here.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import smpp34
from aiosmpplib import DeliverSmResp, GSM7BitCodec, SmppCommandStatus

from tests.support.rawsmpp import RawClient

DELIVER_SM, SUBMIT_SM_RESP = 0x00000005, 0x80000004
ME = "85512345678"
OP, SESSION, REFERENCE = 0x0501, 0x1383, 0x0204

#: Per vendor: where numbering starts (chosen so that octets of 0x80 and 0x00 go on the wire),
#: the TLVs of the dial, of the answer, and of the hang-up, as raw octets.
VENDORS: dict[str, dict[str, Any]] = {
    "generic": {"start": 0x80,  # session number 0x80 in octet 1, octet 2 = sequence << 1
                "dial": {OP: b"\x01", SESSION: b"\x80\x00"},
                "answer": {OP: b"\x12", SESSION: b"\x80\x02"},
                "abort": {OP: b"\x12", SESSION: b"\x80\x05"}},  # sequence 2, end-of-session bit
    "sixdee": {"start": 0x4080,  # dialog id 0x4080 in bits 15..1
               "dial": {OP: b"\x01", SESSION: b"\x81\x00"},
               "answer": {OP: b"\x12", SESSION: b"\x81\x00"},
               "abort": {OP: b"\x81", SESSION: b"\x81\x00"}},
    "mica": {"start": 0x8000,
             "dial": {OP: b"\x01", REFERENCE: b"\x80\x00"},
             "answer": {OP: b"\x12", REFERENCE: b"\x80\x00"},
             "abort": {OP: b"\x81", REFERENCE: b"\x80\x00"}},
    "msisdn": {"start": 0,
               "dial": {OP: b"\x01"}, "answer": {OP: b"\x12"}, "abort": {OP: b"\x81"}},
}


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def decode(pdu: Any) -> Any:
    return smpp34.decode(struct.pack("!IIII", 16 + len(pdu.body), pdu.command_id, pdu.status, pdu.sequence)
                         + pdu.body)


def tlvs(message: Any) -> dict[int, bytes]:
    return {t.tag: t.value for t in message.tlvs}


async def receive(raw: RawClient, status: int = 0) -> Any:
    """The next deliver_sm, answered with ``status``."""
    pdu = await raw.read_until(DELIVER_SM)
    resp = DeliverSmResp(sequence_num=pdu.sequence)
    resp.command_status = SmppCommandStatus(status)
    await raw.send(resp.pdu())
    return decode(pdu)


async def screen(raw: RawClient, to: str, text: str, fields: dict[int, bytes]) -> int:
    """Submit a USSD screen (GSM 7-bit, unpacked) with these raw TLVs; the submit_sm_resp status."""
    pdu = smpp34.SubmitSm("*124#", to, GSM7BitCodec().encode(text)[0], service_type="USSD",
                          tlvs=[smpp34.Tlv(tag, value) for tag, value in fields.items()],
                          sequence_number=raw.next_seq())
    await raw.send(pdu.encode())
    return (await raw.read_until(SUBMIT_SM_RESP)).status


def reply_of(fields: dict[int, bytes], op: int) -> dict[int, bytes]:
    """The gateway's TLVs for a screen: the centre's, with op and (on the last screen) bit 0 set."""
    out = {**fields, OP: bytes((op,))}
    if SESSION in out:
        info = int.from_bytes(out[SESSION], "big") & ~1 | (op == 17)
        out[SESSION] = info.to_bytes(2, "big")
    return out


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    async with http.post(url, json=body) as resp:
        return resp.status, await resp.json()


@contextlib.asynccontextmanager
async def bound(start_sim: Any, vendor: str) -> AsyncIterator[tuple[Any, RawClient]]:
    """A simulator playing ``vendor``'s centre, numbering from the table's start, and a raw ESME bound to it."""
    sim = await start_sim(ussd_vendor=vendor)
    sim.simulator.ussd.number_from(VENDORS[vendor]["start"])
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    try:
        yield sim, raw
    finally:
        await raw.close()


async def step(http: aiohttp.ClientSession, sim: Any, raw: RawClient, path: str,
               body: dict[str, str]) -> tuple[asyncio.Task[tuple[int, Any]], Any]:
    """``POST /ussd/<path>`` under way, and the deliver_sm it sent (acknowledged)."""
    task = asyncio.create_task(post(http, f"{sim.control_url}/ussd/{path}", body))
    return task, await receive(raw)


@pytest.mark.parametrize("vendor", list(VENDORS))
async def test_a_dialogue_carries_each_vendors_tlvs_both_ways(start_sim, http, vendor):
    """Dial, answer and end: the deliver_sm carry the vendor's TLVs (octets 0x80+ and 0x00 intact),
    the ESME's submit_sm with the same TLVs is the screen the control API returns, and a USSD
    screen is not listed as an MT."""
    expect = VENDORS[vendor]
    async with bound(start_sim, vendor) as (sim, raw):
        dial, first = await step(http, sim, raw, "dial", {"msisdn": ME, "code": "*123*1234#"})
        assert (first.source_addr, first.destination_addr, first.short_message) == (ME, "*123#", b"*123*1234#")
        assert first.service_type == "USSD"
        assert tlvs(first) == expect["dial"]
        assert await screen(raw, ME, "1 Balance\n2 Top up", reply_of(tlvs(first), 2)) == 0
        assert await dial == (200, {"session": "u1", "text": "1 Balance\n2 Top up", "end": False})

        answer, second = await step(http, sim, raw, "answer", {"session": "u1", "text": "1"})
        assert second.short_message == b"1"
        assert tlvs(second) == expect["answer"]
        assert await screen(raw, ME, "Your balance is $6.00", reply_of(tlvs(second), 17)) == 0
        assert await answer == (200, {"session": "u1", "text": "Your balance is $6.00", "end": True})

        status, body = await post(http, f"{sim.control_url}/ussd/answer", {"session": "u1", "text": "2"})
        assert (status, body["error"]) == (409, "dialogue u1 has ended")
        async with http.get(f"{sim.control_url}/mt") as resp:
            assert await resp.json() == []


@pytest.mark.parametrize("vendor", list(VENDORS))
async def test_abort_sends_the_vendors_hang_up(start_sim, http, vendor):
    """POST /ussd/abort sends the vendor's hang-up to the gateway, and the dialogue takes no answer."""
    async with bound(start_sim, vendor) as (sim, raw):
        dial, first = await step(http, sim, raw, "dial", {"msisdn": ME, "code": "*100#"})
        await screen(raw, ME, "1 Balance", reply_of(tlvs(first), 2))
        assert (await dial)[0] == 200
        answer, second = await step(http, sim, raw, "answer", {"session": "u1", "text": "1"})
        await screen(raw, ME, "PIN?", reply_of(tlvs(second), 2))
        await answer
        assert await post(http, f"{sim.control_url}/ussd/abort", {"session": "u1"}) == \
            (200, {"session": "u1", "end": True})
        hang_up = await receive(raw)
        assert tlvs(hang_up) == VENDORS[vendor]["abort"]
        status, _ = await post(http, f"{sim.control_url}/ussd/answer", {"session": "u1", "text": "1"})
        assert status == 409


async def test_dialling_again_ends_the_open_dialogue_without_telling_the_gateway(start_sim, http):
    """A phone holds one dialogue: a second dial ends the first (the network lost it) and sends only
    the new PSSR indication; the first takes no more answers."""
    sim = await start_sim(ussd_vendor="sixdee")
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    try:
        dial = asyncio.create_task(post(http, f"{sim.control_url}/ussd/dial", {"msisdn": ME, "code": "*100#"}))
        first = await receive(raw)
        await screen(raw, ME, "menu", reply_of(tlvs(first), 2))
        await dial
        again = asyncio.create_task(post(http, f"{sim.control_url}/ussd/dial", {"msisdn": ME, "code": "*124#"}))
        second = await receive(raw)
        assert tlvs(second)[OP] == b"\x01" and tlvs(second)[SESSION] != tlvs(first)[SESSION]
        await screen(raw, ME, "balance", reply_of(tlvs(second), 17))
        assert await again == (200, {"session": "u2", "text": "balance", "end": True})
        status, body = await post(http, f"{sim.control_url}/ussd/answer", {"session": "u1", "text": "1"})
        assert (status, body["error"]) == (409, "dialogue u1 has ended")
    finally:
        await raw.close()


async def test_no_bound_gateway_is_503(sim, http):
    status, body = await post(http, f"{sim.control_url}/ussd/dial", {"msisdn": ME, "code": "*100#"})
    assert (status, body["error"]) == (503, "no gateway is bound to receive")


async def test_a_gateway_that_does_not_answer_is_504(start_sim, http):
    """No screen within ussd_timeout: 504 with the reason, and the dialogue is over."""
    sim = await start_sim(ussd_timeout=0.2)
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    try:
        dial = asyncio.create_task(post(http, f"{sim.control_url}/ussd/dial", {"msisdn": ME, "code": "*100#"}))
        first = await receive(raw)
        status, body = await dial
        assert (status, body["error"]) == (504, "the gateway sent no screen within 0.2 s")
        # A screen after the timeout finds no dialogue waiting for it.
        assert await screen(raw, ME, "late", reply_of(tlvs(first), 2)) == SmppCommandStatus.ESME_RINVDSTADR
    finally:
        await raw.close()


async def test_a_refused_deliver_sm_is_502_naming_the_status(sim, http):
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    try:
        dial = asyncio.create_task(post(http, f"{sim.control_url}/ussd/dial", {"msisdn": ME, "code": "*100#"}))
        await receive(raw, status=SmppCommandStatus.ESME_RINVSRCADR)
        status, body = await dial
        assert (status, body["error"]) == (502, "the gateway refused the message: ESME_RINVSRCADR")
    finally:
        await raw.close()


async def test_a_bind_that_closes_before_the_screen_is_502(sim, http):
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    dial = asyncio.create_task(post(http, f"{sim.control_url}/ussd/dial", {"msisdn": ME, "code": "*100#"}))
    await raw.read_until(DELIVER_SM)
    await raw.close()
    status, body = await dial
    assert (status, body["error"]) == (502, "the gateway's bind closed before it sent the screen")


async def test_a_screen_for_no_dialogue_is_refused_and_sms_still_goes_to_mt(sim, http):
    """submit_sm with ussd_service_op naming no open dialogue: ESME_RINVDSTADR; a plain one is an MT."""
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    try:
        assert await screen(raw, ME, "stray", {OP: b"\x02", SESSION: b"\x12\x00"}) == \
            SmppCommandStatus.ESME_RINVDSTADR
        await raw.send(raw.submit_bytes("an SMS", to=ME))
        assert (await raw.read_until(SUBMIT_SM_RESP)).status == 0
        async with http.get(f"{sim.control_url}/mt") as resp:
            assert [m["text"] for m in await resp.json()] == ["an SMS"]
    finally:
        await raw.close()


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("dial", {"code": "*100#"}, 400, "'msisdn' is required"),
        ("dial", {"msisdn": ME, "code": "100"}, 400, "USSD code such as *100#"),
        ("dial", {"msisdn": ME, "code": "*100*#"}, 400, "USSD code such as *100#"),
        ("dial", {"msisdn": ME, "code": 100}, 400, "'code' is required"),
        ("answer", {"session": "u1"}, 400, "'text' is required"),
        ("answer", {"session": "u1", "text": "x" * 183}, 400, "longer than 182"),
        ("answer", {"session": "u9", "text": "1"}, 404, "no dialogue 'u9'"),
        ("abort", {}, 400, "'session' is required"),
        ("abort", {"session": "u9"}, 404, "no dialogue 'u9'"),
    ],
)
async def test_bad_ussd_requests_say_why(sim, http, path, body, status, reason):
    got, answer = await post(http, f"{sim.control_url}/ussd/{path}", body)
    assert got == status
    assert reason in answer["error"]


def test_an_unknown_simulator_vendor_is_refused_naming_the_key(tmp_path):
    from gateway.config import ConfigError
    from simulator import load_simulator_settings

    path = tmp_path / "gw.toml"
    path.write_text('[simulator]\nussd_vendor = "huawei"\n')
    with pytest.raises(ConfigError, match=r"^simulator\.ussd_vendor: unknown USSD vendor 'huawei'"):
        load_simulator_settings(path, environ={})
