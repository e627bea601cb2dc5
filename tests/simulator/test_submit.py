"""MT: submit_sm answered with a message id, stored for GET /mt, receipts as asked."""

from __future__ import annotations

import asyncio
import re

import smpp34
import smpplib.client
import smpplib.consts
import smpplib.gsm
from aiosmpplib import PhoneNumber, SubmitSm

from tests.support.rawsmpp import RawClient

RECEIPT = re.compile(
    r"^id:(\w+) sub:001 dlvrd:00([01]) submit date:\d{10} done date:\d{10} "
    r"stat:(DELIVRD|UNDELIV|EXPIRED) err:\d{3} text:(.*)$"
)


async def bound_smpp34(port: int, bind_type: str = "TRX") -> tuple[smpp34.Client, smpp34.Smsc]:
    client = smpp34.Client("127.0.0.1", port, "selfcare", "secret", bind_type=bind_type)
    return client, await client.connect()


async def close_smpp34(client: smpp34.Client, smsc: smpp34.Smsc) -> None:
    await smsc.unbind()
    await client.stop()


def tlv(event: smpp34.DeliverSmEvent, tag: int) -> bytes | None:
    return next((t.value for t in event.tlvs if t.tag == tag), None)


async def test_submit_gets_unique_ids_and_a_receipt(sim):
    """Each submit_sm gets its own message id and, when asked, a DELIVRD receipt naming it."""
    client, smsc = await bound_smpp34(sim.port)
    try:
        first = await smsc.submit_sm("85512345678", b"Your balance is $6.00", source_addr="888", registered_delivery=1)
        second = await smsc.submit_sm("85512345678", b"again", source_addr="888", registered_delivery=0)
        assert first.is_success and second.is_success
        assert first.message_id != second.message_id
        event = await asyncio.wait_for(smsc.next(), 2)
        assert event.esm_class == 0x04
        match = RECEIPT.match(event.short_message.decode())
        assert match and match.group(1) == first.message_id and match.group(3) == "DELIVRD"
        assert match.group(4) == "Your balance is $6.0"
        assert tlv(event, smpp34.TLV_RECEIPTED_MESSAGE_ID) == first.message_id.encode() + b"\0"
        assert tlv(event, smpp34.TLV_MESSAGE_STATE) == b"\x02"
        assert (event.source_addr, event.destination_addr) == ("85512345678", "888")
    finally:
        await close_smpp34(client, smsc)


async def test_no_receipt_unless_registered_delivery_asks(start_sim):
    """A submit with registered_delivery 0 gets no receipt."""
    sim = await start_sim(receipt_delay=0.0)
    client, smsc = await bound_smpp34(sim.port)
    try:
        await smsc.submit_sm("85512345678", b"quiet", source_addr="888", registered_delivery=0)
        sim.simulator.inject_mo("85512345678", "888", "marker", 0)
        event = await asyncio.wait_for(smsc.next(), 2)
        assert event.esm_class == 0 and event.short_message == b"marker"
    finally:
        await close_smpp34(client, smsc)


async def test_configured_failure_outcomes(start_sim):
    """With undeliverable_ratio 1 every receipt says UNDELIV, and failure-only receipts are sent."""
    sim = await start_sim(undeliverable_ratio=1.0)
    client, smsc = await bound_smpp34(sim.port)
    try:
        await smsc.submit_sm("85512345678", b"x", source_addr="888", registered_delivery=2)
        event = await asyncio.wait_for(smsc.next(), 2)
        assert "stat:UNDELIV" in event.short_message.decode()
        assert tlv(event, smpp34.TLV_MESSAGE_STATE) == b"\x05"
    finally:
        await close_smpp34(client, smsc)


async def test_expired_outcome(start_sim):
    """With expired_ratio 1 every receipt says EXPIRED."""
    sim = await start_sim(expired_ratio=1.0)
    client, smsc = await bound_smpp34(sim.port)
    try:
        await smsc.submit_sm("85512345678", b"x", source_addr="888", registered_delivery=1)
        event = await asyncio.wait_for(smsc.next(), 2)
        assert "stat:EXPIRED" in event.short_message.decode()
    finally:
        await close_smpp34(client, smsc)


async def test_receipt_goes_to_a_receiver_of_the_same_account(sim):
    """A transmitter's receipt is delivered on a receiver bound with the same system id."""
    tx_client, tx = await bound_smpp34(sim.port, "TX")
    rx_client, rx = await bound_smpp34(sim.port, "RX")
    try:
        resp = await tx.submit_sm("85512345678", b"x", source_addr="888", registered_delivery=1)
        event = await asyncio.wait_for(rx.next(), 2)
        assert f"id:{resp.message_id} " in event.short_message.decode()
    finally:
        await close_smpp34(tx_client, tx)
        await close_smpp34(rx_client, rx)


def smpplib_send_long(port: int, text: str) -> None:
    client = smpplib.client.Client("127.0.0.1", port, timeout=3, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transmitter(system_id="selfcare", password="secret")
        parts, coding, msg_type = smpplib.gsm.make_parts(text)
        for part in parts:
            client.send_message(source_addr="888", destination_addr="85512345678",
                                short_message=part, data_coding=coding, esm_class=msg_type)
            client.read_pdu()
        client.unbind()
    finally:
        client.disconnect()


async def test_long_ucs2_mt_with_8bit_udh_is_reassembled(sim):
    """A Khmer MT sent by smpplib in UDH parts (IEI 0x00) is one UCS-2 text in the store."""
    text = "សមតុល្យរបស់អ្នកគឺ ៦ ដុល្លារ។ " * 6
    await asyncio.to_thread(smpplib_send_long, sim.port, text)
    [record] = sim.simulator.mt.query(to="85512345678")
    assert record.text == text and record.data_coding == 8 and len(record.message_ids) > 1


async def test_16bit_udh_reference_parts_are_reassembled(sim):
    """Parts with a 16-bit reference UDH (IEI 0x08), sent out of order, make one message."""
    raw = await RawClient.connect(sim.port)
    try:
        await raw.bind()
        chunks = ["first half, ", "second half"]
        for index in (2, 1):
            msg = SubmitSm(sequence_num=raw.next_seq(), short_message="x", esm_class=0x40,
                           source=PhoneNumber("888"), destination=PhoneNumber("85599"))
            msg.set_encoded_message(bytes((6, 8, 4, 0x12, 0x34, 2, index)) + chunks[index - 1].encode())
            await raw.send(msg.pdu())
            assert (await raw.read()).status == 0
    finally:
        await raw.close()
    [record] = sim.simulator.mt.query(to="85599")
    assert record.text == "first half, second half"


async def test_sar_tlvs_and_message_payload_are_read(sim):
    """sar_* TLV parts are joined, and a message_payload text is stored whole."""
    client, smsc = await bound_smpp34(sim.port, "TX")
    try:
        for seq, chunk in ((1, b"Hello "), (2, b"world")):
            tlvs = [smpp34.Tlv(smpp34.TLV_SAR_MSG_REF_NUM, b"\x00\x07"),
                    smpp34.Tlv(smpp34.TLV_SAR_TOTAL_SEGMENTS, b"\x02"),
                    smpp34.Tlv(smpp34.TLV_SAR_SEGMENT_SEQNUM, bytes([seq]))]
            assert (await smsc.submit_sm("85511", chunk, source_addr="888", tlvs=tlvs)).is_success
        payload = ("long " * 80).encode()
        tlvs = [smpp34.Tlv(smpp34.TLV_MESSAGE_PAYLOAD, payload)]
        assert (await smsc.submit_sm("85522", b"", source_addr="888", tlvs=tlvs)).is_success
    finally:
        await close_smpp34(client, smsc)
    assert [r.text for r in sim.simulator.mt.query(to="85511")] == ["Hello world"]
    assert [r.text for r in sim.simulator.mt.query(to="85522")] == [payload.decode()]
