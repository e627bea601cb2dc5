"""MO: injected messages reach a bound receiver, encoded, split and queued as a phone would."""

from __future__ import annotations

import asyncio

import smpp34

from tests.support.rawsmpp import RawClient


async def next_deliver(smsc: smpp34.Smsc) -> smpp34.DeliverSmEvent:
    event = await asyncio.wait_for(smsc.next(), 2)
    assert isinstance(event, smpp34.DeliverSmEvent)
    return event


async def bind(port: int, bind_type: str = "RX", address_range: str = "") -> tuple[smpp34.Client, smpp34.Smsc]:
    client = smpp34.Client("127.0.0.1", port, "selfcare", "secret", bind_type=bind_type,
                           address_range=address_range)
    return client, await client.connect()


async def unbind(client: smpp34.Client, smsc: smpp34.Smsc) -> None:
    await smsc.unbind()
    await client.stop()


async def test_gsm_mo_reaches_receiver(sim):
    """A short Latin MO arrives as one deliver_sm in GSM 7-bit (data_coding 0)."""
    client, smsc = await bind(sim.port)
    try:
        sim.simulator.inject_mo("85512345678", "888", "BAL", 0)
        event = await next_deliver(smsc)
        assert (event.source_addr, event.destination_addr) == ("85512345678", "888")
        assert (event.data_coding, event.esm_class, event.short_message) == (0, 0, b"BAL")
    finally:
        await unbind(client, smsc)


async def test_khmer_mo_is_ucs2(sim):
    """Khmer text is sent as UCS-2 (data_coding 8)."""
    client, smsc = await bind(sim.port, "TRX")
    try:
        sim.simulator.inject_mo("85512345678", "888", "ពិនិត្យសមតុល្យ", 8)
        event = await next_deliver(smsc)
        assert event.data_coding == 8
        assert event.short_message.decode("utf-16-be") == "ពិនិត្យសមតុល្យ"
    finally:
        await unbind(client, smsc)


async def test_latin1_mo(sim):
    """data_coding 3 sends Latin-1 bytes."""
    client, smsc = await bind(sim.port)
    try:
        sim.simulator.inject_mo("85512345678", "888", "café", 3)
        event = await next_deliver(smsc)
        assert (event.data_coding, event.short_message) == (3, "café".encode("latin-1"))
    finally:
        await unbind(client, smsc)


async def test_long_mo_is_concatenated_with_udh(sim):
    """A 400-character MO comes as three deliver_sm with esm_class 0x40 and one UDH reference."""
    text = "".join(chr(ord("a") + i % 26) for i in range(400))
    client, smsc = await bind(sim.port)
    try:
        sim.simulator.inject_mo("85512345678", "888", text, 0)
        parts = [await next_deliver(smsc) for _ in range(3)]
    finally:
        await unbind(client, smsc)
    parts.sort(key=lambda p: p.short_message[5])  # smpp34 may hand events over out of order
    assert all(p.esm_class == 0x40 for p in parts)
    udhs = [p.short_message[: p.short_message[0] + 1] for p in parts]
    assert {u[:4] for u in udhs} == {udhs[0][:4]} and udhs[0][:3] == b"\x05\x00\x03"
    assert [(u[4], u[5]) for u in udhs] == [(3, 1), (3, 2), (3, 3)]
    assert b"".join(p.short_message[6:] for p in parts).decode() == text


async def test_long_ucs2_mo_splits_on_character_boundaries(sim):
    """A long Khmer MO is split into UCS-2 parts that each decode on their own."""
    text = "សួស្តី " * 30
    client, smsc = await bind(sim.port)
    try:
        sim.simulator.inject_mo("85512345678", "888", text, 8)
        parts = [await next_deliver(smsc) for _ in range(4)]
    finally:
        await unbind(client, smsc)
    parts.sort(key=lambda p: p.short_message[5])
    assert "".join(p.short_message[6:].decode("utf-16-be") for p in parts) == text


async def test_mo_waits_until_a_receiver_binds(sim):
    """MO injected while nobody is bound is delivered as soon as a receiver binds."""
    sim.simulator.inject_mo("85512345678", "888", "queued one", 0)
    sim.simulator.inject_mo("85512345678", "888", "queued two", 0)
    client, smsc = await bind(sim.port)
    try:
        texts = {(await next_deliver(smsc)).short_message for _ in range(2)}
        assert texts == {b"queued one", b"queued two"}
    finally:
        await unbind(client, smsc)


async def test_transmitter_gets_no_mo(sim):
    """A transmitter-only bind does not take MO; it waits for a receiver."""
    tx_client, tx = await bind(sim.port, "TX")
    try:
        sim.simulator.inject_mo("85512345678", "888", "for a receiver", 0)
        assert len(sim.simulator.mo.waiting) == 1
    finally:
        await unbind(tx_client, tx)


async def test_address_range_routes_mo(sim):
    """MO to 1204 goes to the receiver whose address_range matches, not the first one."""
    first = await RawClient.connect(sim.port)
    second = await RawClient.connect(sim.port)
    try:
        assert (await first.bind(mode="rx", address_range="888")).status == 0
        assert (await second.bind(mode="rx", address_range="^1204$")).status == 0
        sim.simulator.inject_mo("85512345678", "1204", "STOP", 0)
        pdu = await second.read()
        assert pdu.command_id == 0x00000005 and pdu.body.endswith(b"STOP")
    finally:
        await first.close()
        await second.close()


async def test_unacknowledged_mo_is_redelivered_after_disconnect(sim):
    """An MO whose deliver_sm was never acknowledged is delivered again on the next bind."""
    raw = await RawClient.connect(sim.port)
    await raw.bind(mode="rx")
    sim.simulator.inject_mo("85512345678", "888", "again please", 0)
    assert (await raw.read()).command_id == 0x00000005
    await raw.close()  # abrupt: no deliver_sm_resp, no unbind
    client, smsc = await bind(sim.port)
    try:
        assert (await next_deliver(smsc)).short_message == b"again please"
    finally:
        await unbind(client, smsc)
