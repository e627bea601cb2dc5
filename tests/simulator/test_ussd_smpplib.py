"""The simulator's USSD centre against smpplib, an independent SMPP implementation, as the ESME's codec.

smpplib's ``submit_sm`` carries all three USSD TLVs as integers (``ussd_service_op``,
``its_session_info``, ``user_message_reference``); its ``deliver_sm`` class lacks
``ussd_service_op`` (it refuses a deliver_sm carrying one), so the centre's
deliver_sm are read with smpplib's ``submit_sm`` class, whose body has the same
layout. The socket is a plain asyncio stream on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import aiohttp
import pytest
from smpplib import command, smpp

from tests.support.rawsmpp import RawClient

DELIVER_SM = 0x00000005
ME = "85512345678"

#: Per vendor: where numbering starts, and the TLVs smpplib must read from the dial (None: absent).
VENDORS = {
    "generic": (0xC3, {"its_session_info": 0xC300, "user_message_reference": None}),
    "sixdee": (0x7F80, {"its_session_info": 0xFF00, "user_message_reference": None}),
    "mica": (0xFF00, {"its_session_info": None, "user_message_reference": 0xFF00}),
    "msisdn": (0, {"its_session_info": None, "user_message_reference": None}),
}


async def receive(raw: RawClient) -> Any:
    """The next deliver_sm, decoded by smpplib and acknowledged with its deliver_sm_resp."""
    pdu = await raw.read_until(DELIVER_SM)
    parsed = command.SubmitSM("submit_sm", sequence=0)
    parsed.parse(struct.pack("!IIII", 16 + len(pdu.body), pdu.command_id, pdu.status, pdu.sequence) + pdu.body)
    resp = smpp.make_pdu("deliver_sm_resp", sequence=pdu.sequence)
    resp.sequence = pdu.sequence
    await raw.send(resp.generate())
    return parsed


async def screen(raw: RawClient, dialled: Any, text: str, end: bool) -> None:
    """smpplib's submit_sm answering ``dialled`` with the same TLVs (end bit and op 17 on the last)."""
    info = dialled.its_session_info
    submit = command.SubmitSM(
        "submit_sm", sequence=0, service_type="USSD", source_addr=dialled.destination_addr.decode(),
        destination_addr=dialled.source_addr.decode(), short_message=text.encode(), data_coding=0,
        ussd_service_op=17 if end else 2,
        its_session_info=None if info is None else (info | 1 if end else info & ~1),
        user_message_reference=dialled.user_message_reference,
    )
    submit.sequence = raw.next_seq()
    await raw.send(submit.generate())
    resp = await raw.read_until(0x80000004)
    assert resp.status == 0


@pytest.mark.parametrize("vendor", list(VENDORS))
async def test_smpplib_reads_and_writes_the_centres_ussd_tlvs(start_sim, vendor):
    start, expected = VENDORS[vendor]
    sim = await start_sim(ussd_vendor=vendor)
    sim.simulator.ussd.number_from(start)
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    try:
        async with aiohttp.ClientSession() as http:
            dial = asyncio.create_task(http.post(f"{sim.control_url}/ussd/dial",
                                                 json={"msisdn": ME, "code": "*124#"}))
            first = await receive(raw)
            assert (first.ussd_service_op, first.short_message, first.service_type) == (1, b"*124#", b"USSD")
            assert {k: getattr(first, k) for k in expected} == expected
            await screen(raw, first, "1 Data\n2 Voice", end=False)
            async with await dial as resp:
                assert await resp.json() == {"session": "u1", "text": "1 Data\n2 Voice", "end": False}

            answer = asyncio.create_task(http.post(f"{sim.control_url}/ussd/answer",
                                                   json={"session": "u1", "text": "2"}))
            second = await receive(raw)
            assert (second.ussd_service_op, second.short_message) == (18, b"2")
            assert second.user_message_reference == first.user_message_reference
            await screen(raw, second, "Voice: 30 min", end=True)
            async with await answer as resp:
                assert await resp.json() == {"session": "u1", "text": "Voice: 30 min", "end": True}
            assert sim.simulator.ussd.get("u1").last_reply is not None
            assert sim.simulator.ussd.get("u1").last_reply.service_op == 17
    finally:
        await raw.close()
