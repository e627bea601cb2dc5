"""A fake SMSC on a raw socket, byte by byte, for feeding a real ``serve`` malformed and flooding PDUs."""

from __future__ import annotations

import socket
import struct
import time

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


def pump(smsc: FakeSmsc) -> bool:
    """Answer whatever the gateway sends for a moment."""
    try:
        smsc.expect(0xFFFFFFFF, timeout=0.2)
    except (AssertionError, TimeoutError):
        pass
    return True
