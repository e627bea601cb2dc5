"""Our ESME against an independent SMSC (smpp34) over real sockets."""

from __future__ import annotations

import asyncio
import struct

from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from gateway.services.api import Services
from gateway.services.campaign import queue_campaign
from gateway.services.model import OutgoingSms
from gateway.sms.runtime import SmsRuntime
from gateway.store import Store
from gateway.store.sms import OutboxSql
from tests.support.net import free_port
from tests.support.smsc import Link, Smsc, Start
from tests.support.waiting import eventually
from tests.support.world import OTHER, SUBSCRIBER

KHMER = "សូមអរគុណ "


def queue(services: Services, rt: SmsRuntime, *texts: str, to: str = SUBSCRIBER, kind: str = "notification") -> None:
    with services.ctx.store.write() as conn:
        for text in texts:
            OutboxSql(conn).enqueue(OutgoingSms(to, text, "888", kind), services.ctx.clock.now())
    rt.wake()


def statuses(store: Store) -> dict[str, int]:
    rows = store.read().execute("SELECT status, count(*) FROM sms_outbox GROUP BY status").fetchall()
    return {r[0]: r[1] for r in rows}


class TestKeywords:
    async def test_bal_gets_the_balance_back(self, smsc: Smsc, gateway: SmsRuntime) -> None:
        """An MO 'BAL' to 888 is answered from 888 with the balance."""
        await smsc.mo("bal")
        await eventually(lambda: smsc.texts_to(SUBSCRIBER))
        assert smsc.texts_to(SUBSCRIBER) == ["[en] Balance $6.00"]
        assert smsc.submits[0].source_addr == "888"

    async def test_stop_then_campaign_skips_the_number(self, smsc: Smsc, gateway: SmsRuntime,
                                                       services: Services) -> None:
        """STOP to 1204 opts out; a campaign then reaches only the others."""
        await smsc.mo("STOP", to="1204")
        await eventually(lambda: smsc.texts_to(SUBSCRIBER))
        assert smsc.texts_to(SUBSCRIBER) == ["[en] Marketing now off"]
        result = queue_campaign(services.ctx, "Big promo", [SUBSCRIBER, OTHER])
        assert (result.queued, result.skipped) == (1, 1)
        gateway.wake()
        await eventually(lambda: smsc.texts_to(OTHER))
        assert smsc.texts_to(SUBSCRIBER) == ["[en] Marketing now off"]
        assert smsc.texts_to(OTHER) == ["Big promo"]


class TestEncodings:
    async def test_khmer_multipart_out(self, smsc: Smsc, gateway: SmsRuntime, services: Services) -> None:
        """A long Khmer text leaves as UCS-2 parts with a UDH and reads whole."""
        queue(services, gateway, KHMER * 20)
        await eventually(lambda: smsc.texts_to(SUBSCRIBER))
        assert smsc.texts_to(SUBSCRIBER) == [KHMER * 20]
        assert {(ev.data_coding, ev.esm_class) for ev in smsc.submits} == {(8, 0x40)}

    async def test_long_latin_text_is_concatenated(self, smsc: Smsc, gateway: SmsRuntime, services: Services) -> None:
        """A 200-character text goes as two UDH parts, not one oversized short_message."""
        queue(services, gateway, "x" * 200)
        await eventually(lambda: smsc.texts_to(SUBSCRIBER))
        assert smsc.texts_to(SUBSCRIBER) == ["x" * 200]
        assert len(smsc.submits) == 2 and all(len(ev.short_message) <= 159 for ev in smsc.submits)

    async def test_ucs2_multipart_in_with_16bit_reference(self, smsc: Smsc, gateway: SmsRuntime) -> None:
        """An MO in UCS-2 parts with IEI 0x08 is reassembled and answered once."""
        text = "lang km".encode("utf-16-be")
        for seq, chunk in ((1, text[:6]), (2, text[6:])):
            udh = bytes((6, 8, 4, 0x01, 0x02, 2, seq))
            await smsc.mo(udh + chunk, esm_class=0x40, data_coding=8)
        await eventually(lambda: smsc.texts_to(SUBSCRIBER))
        assert smsc.texts_to(SUBSCRIBER) == ["[km] Language set"]

    async def test_sar_tlv_parts_and_message_payload_in(self, smsc: Smsc, gateway: SmsRuntime) -> None:
        """Parts marked with sar_* TLVs, and text in message_payload, are read."""
        import smpp34

        def sar(seq: int) -> list[smpp34.Tlv]:
            return [smpp34.Tlv(smpp34.TLV_SAR_MSG_REF_NUM, b"\x00\x09"),
                    smpp34.Tlv(smpp34.TLV_SAR_TOTAL_SEGMENTS, b"\x02"),
                    smpp34.Tlv(smpp34.TLV_SAR_SEGMENT_SEQNUM, bytes((seq,)))]

        await smsc.mo(b"BA", tlvs=sar(1))
        await smsc.mo(b"L", tlvs=sar(2))
        await smsc.mo(b"", to="1204", tlvs=[smpp34.Tlv(smpp34.TLV_MESSAGE_PAYLOAD, b"STOP")])
        await eventually(lambda: len(smsc.texts_to(SUBSCRIBER)) == 2)
        assert sorted(smsc.texts_to(SUBSCRIBER)) == ["[en] Balance $6.00", "[en] Marketing now off"]


class TestDelivery:
    async def test_receipts_update_the_outbox(self, smsc: Smsc, gateway: SmsRuntime,
                                              services: Services, store: Store) -> None:
        """DELIVRD and UNDELIV receipts turn submitted rows delivered and undeliverable."""
        queue(services, gateway, "one", "two")
        await eventually(lambda: statuses(store).get("submitted") == 2)
        esme = smsc.esmes[-1]
        for mid, stat in (("msg-1", "DELIVRD"), ("msg-2", "UNDELIV")):
            text = f"id:{mid} sub:001 dlvrd:001 submit date:2601010000 done date:2601010000 stat:{stat} err:000 Text:x"
            await esme.deliver_sm(SUBSCRIBER, text.encode(), source_addr="888", esm_class=0x04)
        await eventually(lambda: statuses(store) == {"delivered": 1, "undeliverable": 1})

    async def test_throttled_submits_are_retried(self, smsc: Smsc, gateway: SmsRuntime,
                                                 services: Services, store: Store) -> None:
        """ESME_RTHROTTLED answers are retried until every message is accepted."""
        import smpp34

        refused = {"n": 0}

        def throttle(ev: smpp34.SubmitSmEvent) -> int:
            if refused["n"] < 15:
                refused["n"] += 1
                return int(smpp34.ESME_RTHROTTLED)
            return 0

        smsc.refuse = throttle
        queue(services, gateway, *[f"m{i}" for i in range(30)])
        await eventually(lambda: statuses(store) == {"submitted": 30})
        assert refused["n"] == 15
        assert sorted(smsc.texts_to(SUBSCRIBER)) == sorted(f"m{i}" for i in range(30))

    async def test_permanent_refusal_is_recorded(self, smsc: Smsc, gateway: SmsRuntime,
                                                 services: Services, store: Store) -> None:
        """ESME_RINVDSTADR marks the message failed with the reason, without retrying."""
        import smpp34

        smsc.refuse = lambda ev: int(smpp34.ESME_RINVDSTADR)
        queue(services, gateway, "nowhere")
        await eventually(lambda: statuses(store) == {"failed": 1})
        row = store.read().execute("SELECT error, attempts FROM sms_outbox").fetchone()
        assert (row["error"], row["attempts"]) == ("ESME_RINVDSTADR", 1)

    async def test_smsc_outage_mid_traffic_loses_nothing(self, smsc: Smsc, start_gateway: Start,
                                                         services: Services, store: Store) -> None:
        """The link dropped during a burst and restored later: every message arrives."""
        link = Link(smsc.port)
        await link.up()
        rt = await start_gateway(link.port, send_rate=400.0)
        await eventually(lambda: rt.bound)
        queue(services, rt, *[f"n{i}" for i in range(300)])
        await eventually(lambda: len(smsc.submits) > 20)
        await link.cut()
        await eventually(lambda: not rt.bound)
        queue(services, rt, "written while down")
        await asyncio.sleep(0.3)
        await link.up()
        await eventually(lambda: statuses(store) == {"submitted": 301}, timeout=15)
        texts = set(smsc.texts_to(SUBSCRIBER))
        await link.cut()
        assert texts == {f"n{i}" for i in range(300)} | {"written while down"}

    async def test_unsent_messages_survive_a_restart(self, smsc: Smsc, start_gateway: Start,
                                                     services: Services, store: Store) -> None:
        """Closing the gateway mid-queue leaves the rest queued; the next start sends them."""
        rt = await start_gateway(smsc.port, send_rate=100.0)
        await eventually(lambda: rt.bound)
        queue(services, rt, *[f"r{i}" for i in range(100)])
        await eventually(lambda: len(smsc.submits) >= 5)
        await rt.close()
        assert smsc.unbinds >= 1 or await eventually(lambda: smsc.unbinds >= 1)
        assert "sending" not in statuses(store)
        rt2 = await start_gateway(smsc.port, send_rate=5000.0)
        await eventually(lambda: statuses(store) == {"submitted": 100})
        assert set(smsc.texts_to(SUBSCRIBER)) == {f"r{i}" for i in range(100)}
        await rt2.close()


class TestBind:
    async def test_bound_state_and_gauge(self, smsc: Smsc, start_gateway: Start) -> None:
        """The runtime says it is bound and the gauge reads 1; after close it reads 0."""
        registry = CollectorRegistry()
        rt = await start_gateway(smsc.port, registry=registry)
        await eventually(lambda: rt.bound)
        assert registry.get_sample_value("selfcare_smpp_bound") == 1
        await rt.close()
        assert registry.get_sample_value("selfcare_smpp_bound") == 0
        assert not rt.bound

    async def test_wrong_password_is_logged_and_retried(self, start_gateway: Start) -> None:
        """A refused bind is logged with its status each attempt and retried, never a crash."""
        binds = {"n": 0}

        async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            header = await reader.readexactly(16)
            length, _, _, seq = struct.unpack("!IIII", header)
            await reader.readexactly(length - 16)
            binds["n"] += 1
            writer.write(struct.pack("!IIII", 17, 0x80000009, 0x0E, seq) + b"\x00")
            await writer.drain()
            writer.close()

        port = free_port()
        server = await asyncio.start_server(refuse, "127.0.0.1", port)
        try:
            with capture_logs() as logs:
                rt = await start_gateway(port, password="wrong")
                await eventually(lambda: sum(e["event"] == "smpp_bind_refused" for e in logs) >= 3)
                assert not rt.bound
                await rt.close()
        finally:
            server.close()
            await server.wait_closed()
        refused = [e for e in logs if e["event"] == "smpp_bind_refused"]
        assert len(refused) >= 3 and {e["status"] for e in refused} == {"ESME_RINVPASWD"}
        assert "wrong" not in repr(logs)
