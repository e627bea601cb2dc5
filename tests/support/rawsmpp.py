"""A minimal SMPP peer over a raw asyncio stream, for byte-level tests.

It encodes requests with aiosmpplib's PDU classes and reads raw responses,
so tests can send exactly the bytes they want (garbage included) and look at
exactly what came back. Every read is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

from aiosmpplib import BindReceiver, BindTransceiver, BindTransmitter, PhoneNumber, SubmitSm

TIMEOUT = 2.0


@dataclass(frozen=True)
class Pdu:
    command_id: int
    status: int
    sequence: int
    body: bytes


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sequence = 0

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def next_seq(self) -> int:
        self.sequence += 1
        return self.sequence

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, timeout: float = TIMEOUT) -> Pdu:
        header = await asyncio.wait_for(self.reader.readexactly(16), timeout)
        length, command_id, status, sequence = struct.unpack("!IIII", header)
        body = await asyncio.wait_for(self.reader.readexactly(length - 16), timeout)
        return Pdu(command_id, status, sequence, body)

    async def read_until(self, command_id: int, limit: int = 50) -> Pdu:
        for _ in range(limit):
            pdu = await self.read()
            if pdu.command_id == command_id:
                return pdu
        raise AssertionError(f"no PDU 0x{command_id:08x} in {limit} reads")

    async def is_closed(self, timeout: float = TIMEOUT) -> bool:
        """True when the peer closes the connection (after any queued bytes)."""
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        while data:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
        return True

    async def bind(self, system_id: str = "selfcare", password: str = "secret",
                   mode: str = "trx", address_range: str = "") -> Pdu:
        cls = {"trx": BindTransceiver, "tx": BindTransmitter, "rx": BindReceiver}[mode]
        await self.send(cls(sequence_num=self.next_seq(), system_id=system_id,
                            password=password, address_range=address_range).pdu())
        return await self.read()

    def submit_bytes(self, text: str = "hello", to: str = "85512345678",
                     registered_delivery: int = 0) -> bytes:
        return SubmitSm(sequence_num=self.next_seq(), short_message=text,
                        source=PhoneNumber("888"), destination=PhoneNumber(to),
                        registered_delivery=registered_delivery).pdu()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
