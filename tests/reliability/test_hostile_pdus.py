"""Hostile PDUs from the SMSC: a raw-socket fake SMSC feeds a real ``serve`` malformed and flooding traffic."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.support.audit import file_rows
from tests.support.raw_smsc import (
    DELIVER_SM,
    DELIVER_SM_RESP,
    ENQUIRE,
    ENQUIRE_RESP,
    GENERIC_NACK,
    SUBMIT_SM,
    FakeSmsc,
    deliver_body,
    pdu,
    pump,
)
from tests.support.seed import seed
from tests.support.servers import Server
from tests.support.waiting import wait_for


def test_hostile_pdus_are_refused_and_nothing_is_lost(tmp_path: Path, server_factory) -> None:
    """Malformed, unknown and flooding PDUs get a nack or an error status, the session survives or rebinds, and every
    acknowledged MO is answered."""
    data = seed(tmp_path / "gateway.db", subscribers=105)
    smsc = FakeSmsc()
    server = server_factory(tmp_path, GATEWAY_SMPP_ENABLED="true", GATEWAY_SMPP_PORT=str(smsc.port),
                            GATEWAY_SMPP_RECONNECT_MIN="0.1", GATEWAY_SMPP_RECONNECT_MAX="0.3",
                            GATEWAY_SMPP_ENQUIRE_LINK_INTERVAL="2")
    try:
        server.start()
        smsc.accept()
        _hostile(smsc, server, data.numbers)
    finally:
        smsc.close()


def _hostile(smsc: FakeSmsc, server: Server, nb: list[str]) -> None:

    smsc.send(pdu(0x00000077, smsc.next_seq()))  # unknown command id
    assert smsc.expect(GENERIC_NACK)[0][0] == 0x03  # ESME_RINVCMDID
    smsc.send(pdu(DELIVER_SM, smsc.next_seq(), b"\x00\x01\x01"))  # truncated body
    assert smsc.expect(DELIVER_SM_RESP)[0][0] != 0
    smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[0], b"\x00B\x00A\x00L\x00", 8)))  # odd UCS-2
    smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[1], b"BAL\x1b", 0)))  # dangling GSM escape
    assert [s for s, _, _ in smsc.expect(DELIVER_SM_RESP, 2)] == [0, 0]

    smsc.send(b"".join(pdu(ENQUIRE, smsc.next_seq()) for _ in range(300)))  # enquire_link flood
    assert len(smsc.expect(ENQUIRE_RESP, 300)) == 300
    smsc.send(b"".join(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(n, b"BAL")) for n in nb[2:102]))
    assert {s for s, _, _ in smsc.expect(DELIVER_SM_RESP, 100)} == {0}
    # Every acknowledged MO answered, odd encodings too.
    submitted = "SELECT count(*) FROM sms_outbox WHERE status = 'submitted'"
    wait_for(lambda: pump(smsc) and file_rows(server.db, submitted)[0][0] == 102, 10,
             "every reply accepted by the SMSC")

    # A PDU whose length cannot be right ends the link; the gateway binds again.
    for bad in (pdu(DELIVER_SM, smsc.next_seq(), length=8), pdu(DELIVER_SM, smsc.next_seq(), length=0x7FFFFFF0),
                pdu(DELIVER_SM, smsc.next_seq(), length=200) + b"\x00" * 10):
        smsc.send(bad)
        wait_for(lambda: _closed(smsc), 5, "the gateway to drop the link")
        smsc.accept()
    smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[102], b"BAL")))
    assert smsc.expect(DELIVER_SM_RESP)[0][0] == 0
    smsc.expect(SUBMIT_SM)
    assert file_rows(server.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'")[0][0] == 103
    assert server.proc is not None and server.proc.poll() is None
    assert "Traceback" not in server.log.read_text()


def _closed(smsc: FakeSmsc) -> bool:
    try:
        smsc.expect(0xFFFFFFFF, timeout=0.5)
    except (ConnectionError, OSError):
        return True
    except AssertionError:
        return False
    return False


def test_ucs2_with_a_class_and_stray_trailing_bytes_are_answered(tmp_path: Path, server_factory) -> None:
    """A UCS-2 ``BAL`` with a message class (0x18, 0x19) and a ``BAL`` with two stray octets after its
    optional parameters are acknowledged and answered with the balance, as any ``BAL``."""
    data = seed(tmp_path / "gateway.db", subscribers=3)
    smsc = FakeSmsc()
    server = server_factory(tmp_path, GATEWAY_SMPP_ENABLED="true", GATEWAY_SMPP_PORT=str(smsc.port),
                            GATEWAY_SMPP_RECONNECT_MIN="0.1", GATEWAY_SMPP_RECONNECT_MAX="0.3")
    try:
        server.start()
        smsc.accept()
        nb = data.numbers
        ussd_op = struct.pack("!HH", 0x0501, 1) + b"\x01"  # an optional parameter, then two stray octets
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[0], "BAL".encode("utf-16-be"), 0x18)))
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[1], "bal".encode("utf-16-be"), 0x19)))
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[2], b"BAL") + ussd_op + b"\x00\x00"))
        assert [s for s, _, _ in smsc.expect(DELIVER_SM_RESP, 3)] == [0, 0, 0]
        smsc.expect(SUBMIT_SM, 3)
        replies = file_rows(server.db, "SELECT destination, text FROM sms_outbox ORDER BY destination")
        assert [r["destination"] for r in replies] == nb
        assert all(r["text"].startswith("Main balance: ") for r in replies), [r["text"] for r in replies]
    finally:
        smsc.close()
