"""Garbage on the wire: the simulator answers like an SMSC and never falls over."""

from __future__ import annotations

import struct

from aiosmpplib import EnquireLink

from tests.support.rawsmpp import RawClient


async def test_absurd_command_length_gets_nack_and_close(sim):
    """A header claiming a 4 GB PDU gets generic_nack ESME_RINVCMDLEN and the connection closes."""
    raw = await RawClient.connect(sim.port)
    try:
        await raw.send(struct.pack("!IIII", 0xFFFFFFFF, 4, 0, 1))
        pdu = await raw.read()
        assert (pdu.command_id, pdu.status) == (0x80000000, 0x02)
        assert await raw.is_closed()
    finally:
        await raw.close()


async def test_http_request_on_smpp_port_is_closed(sim):
    """Plain text (an HTTP request) on the SMPP port is treated as garbage and closed."""
    raw = await RawClient.connect(sim.port)
    try:
        await raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await raw.is_closed()
    finally:
        await raw.close()


async def test_unknown_command_id_gets_generic_nack_and_session_survives(sim):
    """An unknown command id gets generic_nack ESME_RINVCMDID; the bind stays usable."""
    raw = await RawClient.connect(sim.port)
    try:
        await raw.bind()
        await raw.send(struct.pack("!IIII", 16, 0x00000099, 0, 42))
        pdu = await raw.read()
        assert (pdu.command_id, pdu.status, pdu.sequence) == (0x80000000, 0x03, 42)
        await raw.send(raw.submit_bytes())
        assert (await raw.read()).status == 0
    finally:
        await raw.close()


async def test_unsupported_smpp_command_gets_generic_nack(sim):
    """query_sm, which the simulator does not implement, gets generic_nack ESME_RINVCMDID."""
    raw = await RawClient.connect(sim.port)
    try:
        await raw.bind()
        await raw.send(struct.pack("!IIII", 18, 0x00000003, 0, 7) + b"1\0")
        pdu = await raw.read()
        assert (pdu.command_id, pdu.status) == (0x80000000, 0x03)
    finally:
        await raw.close()


async def test_truncated_submit_body_gets_nack_and_session_survives(sim):
    """A submit_sm whose fields run past its length gets generic_nack; enquire_link still works."""
    raw = await RawClient.connect(sim.port)
    try:
        await raw.bind()
        body = b"\0\x01\x01888"  # no NUL terminator, nothing after
        await raw.send(struct.pack("!IIII", 16 + len(body), 4, 0, 5) + body)
        pdu = await raw.read()
        assert (pdu.command_id, pdu.sequence) == (0x80000000, 5)
        await raw.send(EnquireLink(sequence_num=6).pdu())
        assert (await raw.read()).command_id == 0x80000015
    finally:
        await raw.close()


async def test_abrupt_disconnect_mid_pdu_does_not_hurt_others(sim):
    """A client vanishing halfway through a PDU leaves the simulator serving the next one."""
    raw = await RawClient.connect(sim.port)
    await raw.bind()
    await raw.send(raw.submit_bytes()[:20])
    raw.writer.transport.abort()
    other = await RawClient.connect(sim.port)
    try:
        assert (await other.bind()).status == 0
        await other.send(other.submit_bytes("after"))
        assert (await other.read()).status == 0
    finally:
        await other.close()
    assert [r.text for r in sim.simulator.mt.query()] == ["after"]
