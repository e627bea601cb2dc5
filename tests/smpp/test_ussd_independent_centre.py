"""The gateway against smpp34 (an independent SMSC, Rust core) playing the USSD centre.

smpp34 carries TLVs as raw octets both ways, so the values written here go on the
wire exactly so, and what the gateway sends back is read octet by octet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import smpp34
from aiosmpplib import GSM7BitCodec, SmppCommandStatus

from gateway.app import SmsSide, build_gateway, start_sms_runtime
from gateway.clock import FixedClock
from gateway.config import SmppSettings
from gateway.domain.money import parse_amount
from tests.support.smsc import Smsc
from tests.support.ussd import ME, make_settings
from tests.support.waiting import eventually
from tests.support.world import START

OP, SESSION, REFERENCE = 0x0501, 0x1383, 0x0204
KHMER_LINE = "85512345679"
Deliver = Callable[..., Awaitable[Any]]


@pytest.fixture
async def centre(tmp_path: Path, smsc: Smsc) -> AsyncIterator[Callable[[str], Awaitable[Deliver]]]:
    """``await centre(vendor)``: the gateway bound to smpp34 with that vendor's rules; returns
    ``deliver(text, tlvs, source=ME, to="124", data_coding=0)`` → the deliver_sm_resp status."""
    running: list[tuple[Any, SmsSide]] = []

    async def start(vendor: str) -> Deliver:
        base = make_settings(tmp_path / "gw.db")
        settings = dataclasses.replace(base, smpp=SmppSettings(
            port=smsc.port, ussd=True, ussd_vendor=vendor, reconnect_min=0.05, reconnect_max=0.2,
            enquire_link_interval=1.0, outbox_poll_interval=0.05))
        gateway = build_gateway(settings, clock=FixedClock(START))
        currency = gateway.profile.currency
        gateway.services.add_subscriber(ME, balance=parse_amount("6.00", currency))
        gateway.services.add_subscriber(KHMER_LINE, balance=parse_amount("1.00", currency), language="km")
        sms = await start_sms_runtime(gateway)
        running.append((gateway, sms))
        await eventually(lambda: sms.bound)
        esme = await eventually(lambda: smsc.esmes and smsc.esmes[-1])

        async def deliver(text: bytes, tlvs: dict[int, bytes], *, source: str = ME, to: str = "124",
                          data_coding: int = 0) -> int:
            resp = await esme.deliver_sm(to, text, source_addr=source, service_type="USSD",
                                         data_coding=data_coding,
                                         tlvs=[smpp34.Tlv(tag, value) for tag, value in tlvs.items()])
            return int(resp.command_status)

        return deliver

    yield start
    for gateway, sms in running:
        await sms.close()
        gateway.close()


async def screens(smsc: Smsc, count: int) -> list[Any]:
    return list(await eventually(lambda: len(smsc.submits) >= count and smsc.submits))


def tlvs(event: Any) -> dict[int, bytes]:
    return {t.tag: t.value for t in event.tlvs}


def text(event: Any) -> str:
    if event.data_coding == 8:
        return str(event.short_message.decode("utf-16-be"))
    return str(GSM7BitCodec().decode(event.short_message)[0])


async def test_a_one_step_balance_comes_back_as_a_pssr_response(centre, smsc):
    """generic: the reply swaps the addresses, carries op 17 and the session info with bit 0 set,
    in GSM 7-bit unpacked, asks for no receipt, keeps the service type."""
    deliver = await centre("generic")
    assert await deliver(b"*124#", {OP: b"\x01", SESSION: b"\x80\x00"}) == 0
    [reply] = await screens(smsc, 1)
    assert (reply.source_addr, reply.destination_addr, reply.service_type) == ("124", ME, "USSD")
    assert tlvs(reply) == {OP: b"\x11", SESSION: b"\x80\x01"}
    assert (reply.data_coding, reply.registered_delivery, reply.esm_class) == (0, 0, 0)
    assert text(reply) == "Main balance: $6.00, valid until 01/12/2026."


async def test_a_sixdee_menu_walk_keeps_the_dialog_id(centre, smsc):
    deliver = await centre("sixdee")
    assert await deliver(b"*100#", {OP: b"\x01", SESSION: b"\xff\xfe"}) == 0
    [menu] = await screens(smsc, 1)
    assert tlvs(menu) == {OP: b"\x02", SESSION: b"\xff\xfe"}
    assert text(menu).startswith("Smart self-care\n1 Balance")
    assert await deliver(b"1", {OP: b"\x12", SESSION: b"\xff\xfe"}) == 0
    [_, balance] = await screens(smsc, 2)
    assert tlvs(balance) == {OP: b"\x11", SESSION: b"\xff\xff"}
    assert text(balance).startswith("Main balance: $6.00")


async def test_mica_echoes_the_message_reference(centre, smsc):
    deliver = await centre("mica")
    assert await deliver(b"*100#", {OP: b"\x01", REFERENCE: b"\x00\x80"}) == 0
    assert await deliver(b"1", {OP: b"\x12", REFERENCE: b"\x00\x80"}) == 0
    menu, balance = await screens(smsc, 2)
    assert (tlvs(menu), tlvs(balance)) == ({OP: b"\x02", REFERENCE: b"\x00\x80"},
                                           {OP: b"\x11", REFERENCE: b"\x00\x80"})


async def test_a_khmer_screen_goes_as_ucs2(centre, smsc):
    deliver = await centre("generic")
    assert await deliver(b"*124#", {OP: b"\x01", SESSION: b"\x01\x00"}, source=KHMER_LINE) == 0
    [reply] = await screens(smsc, 1)
    assert reply.data_coding == 8
    assert any("\u1780" <= ch <= "\u17ff" for ch in text(reply))


async def test_a_dial_string_that_is_no_code_gets_the_unknown_code_screen(centre, smsc):
    deliver = await centre("generic")
    assert await deliver(b"hello", {OP: b"\x01", SESSION: b"\x02\x00"}) == 0
    [reply] = await screens(smsc, 1)
    assert tlvs(reply)[OP] == b"\x11"
    assert "hello" in text(reply)


@pytest.mark.parametrize(("vendor", "source", "fields", "status"), [
    ("generic", "not-a-number", {OP: b"\x01", SESSION: b"\x01\x00"}, SmppCommandStatus.ESME_RINVSRCADR),
    ("generic", ME, {OP: b"\x01"}, SmppCommandStatus.ESME_RMISSINGOPTPARAM),
    ("mica", ME, {OP: b"\x01", SESSION: b"\x01\x00"}, SmppCommandStatus.ESME_RMISSINGOPTPARAM),
    ("generic", ME, {OP: b"\x20", SESSION: b"\x01\x00"}, SmppCommandStatus.ESME_RINVOPTPARAMVAL),
    ("generic", ME, {OP: b"\x01", SESSION: b"\x01"}, SmppCommandStatus.ESME_RINVOPTPARAMVAL),
])
async def test_a_message_that_cannot_be_a_step_is_refused_in_its_resp(centre, smsc, vendor, source, fields,
                                                                         status):
    """Refused with a status that says why, and no screen is sent."""
    deliver = await centre(vendor)
    assert await deliver(b"*124#", fields, source=source) == status
    assert await deliver(b"*124#", {OP: b"\x01", SESSION: b"\x05\x00", REFERENCE: b"\x00\x05"}) == 0
    assert len(await screens(smsc, 1)) == 1  # only the good one's


async def test_an_sms_on_the_same_bind_stays_an_sms(centre, smsc):
    """A deliver_sm without ussd_service_op is a keyword MO: answered from the outbox, with a receipt asked."""
    await centre("generic")
    await smsc.mo("BAL", to="888")
    [reply] = await screens(smsc, 1)
    assert OP not in tlvs(reply)
    assert (reply.source_addr, reply.registered_delivery) == ("888", 1)
    assert "$6.00" in text(reply)
