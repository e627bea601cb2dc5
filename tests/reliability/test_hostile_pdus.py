"""Hostile PDUs from the SMSC: a raw-socket fake SMSC feeds a real ``serve`` malformed and flooding traffic."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

from tests.reliability.conftest import Server, rows, seed, wait_for

BIND_TRX, BIND_TRX_RESP = 0x00000009, 0x80000009
SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
DELIVER_SM, DELIVER_SM_RESP = 0x00000005, 0x80000005
ENQUIRE, ENQUIRE_RESP = 0x00000015, 0x80000015
GENERIC_NACK = 0x80000000


def pdu(command: int, seq: int, body: bytes = b"", status: int = 0, length: int | None = None) -> bytes:
    return struct.pack("!IIII", 16 + len(body) if length is None else length, command, status, seq) + body


def deliver_body(source: str, text: bytes, data_coding: int = 0, to: str = "888") -> bytes:
    return (b"\x00" + b"\x01\x01" + source.encode() + b"\x00" + b"\x00\x00" + to.encode() + b"\x00"
            + b"\x00\x00\x00" + b"\x00\x00" + b"\x00\x00" + bytes((data_coding, 0, len(text))) + text)


class FakeSmsc:
    """Accepts the gateway's binds; answers enquire_link and submit_sm by itself while a test waits."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.sock: socket.socket | None = None
        self.submits: list[bytes] = []
        self.seq = 1000

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.listener.close()

    def accept(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, _ = self.listener.accept()
        self.sock.settimeout(0.3)
        command, _, seq, _ = self.read()
        assert command == BIND_TRX
        self.send(pdu(BIND_TRX_RESP, seq, b"FAKE\x00"))

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def read(self) -> tuple[int, int, int, bytes]:
        assert self.sock is not None
        head = self._exactly(16)
        length, command, status, seq = struct.unpack("!IIII", head)
        return command, status, seq, self._exactly(length - 16)

    def _exactly(self, n: int) -> bytes:
        assert self.sock is not None
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the gateway")
            data += chunk
        return data

    def expect(self, command: int, count: int = 1, timeout: float = 5) -> list[tuple[int, int, bytes]]:
        """Read until ``count`` PDUs of ``command`` came; answers keep-alives and submits meanwhile."""
        found: list[tuple[int, int, bytes]] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            assert time.monotonic() < deadline, f"waited for {count} of 0x{command:08X}, got {len(found)}"
            got, status, seq, body = self.read()
            if got == command:
                found.append((status, seq, body))
            if got == ENQUIRE:
                self.send(pdu(ENQUIRE_RESP, seq))
            elif got == SUBMIT_SM:
                self.submits.append(body)
                self.send(pdu(SUBMIT_SM_RESP, seq, f"m{seq}\x00".encode()))
        return found

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


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
    wait_for(lambda: _pump(smsc) and rows(server.db, "SELECT count(*) FROM sms_outbox WHERE status = 'submitted'")[0][0]
             == 102, 10, "every reply accepted by the SMSC")

    # A PDU whose length cannot be right ends the link; the gateway binds again.
    for bad in (pdu(DELIVER_SM, smsc.next_seq(), length=8), pdu(DELIVER_SM, smsc.next_seq(), length=0x7FFFFFF0),
                pdu(DELIVER_SM, smsc.next_seq(), length=200) + b"\x00" * 10):
        smsc.send(bad)
        wait_for(lambda: _closed(smsc), 5, "the gateway to drop the link")
        smsc.accept()
    smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[102], b"BAL")))
    assert smsc.expect(DELIVER_SM_RESP)[0][0] == 0
    smsc.expect(SUBMIT_SM)
    assert rows(server.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'")[0][0] == 103
    assert server.proc is not None and server.proc.poll() is None
    assert "Traceback" not in server.log.read_text()


def _pump(smsc: FakeSmsc) -> bool:
    """Answer whatever the gateway sends for a moment."""
    try:
        smsc.expect(0xFFFFFFFF, timeout=0.2)
    except (AssertionError, TimeoutError):
        pass
    return True


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
        replies = rows(server.db, "SELECT destination, text FROM sms_outbox ORDER BY destination")
        assert [r["destination"] for r in replies] == nb
        assert all(r["text"].startswith("Main balance: ") for r in replies), [r["text"] for r in replies]
    finally:
        smsc.close()
