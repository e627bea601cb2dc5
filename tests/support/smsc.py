"""Stand-ins for an SMSC in the test's own event loop: smpp34's server with a Python policy, and a TCP
relay between the gateway and it that a test can cut."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import smpp34
from aiosmpplib import GSM7BitCodec

from gateway.sms.runtime import SmsRuntime
from tests.support.net import free_port
from tests.support.waiting import eventually
from tests.support.world import SUBSCRIBER

#: The ``start_gateway`` fixture of ``tests/smpp``: starts our SMS runtime against an SMSC port.
Start = Callable[..., Awaitable[SmsRuntime]]


def _text(data: bytes, data_coding: int) -> str:
    if data_coding == 8:
        return data.decode("utf-16-be")
    return GSM7BitCodec().decode(data)[0]


class Smsc:
    """smpp34's server with a Python policy: accept, or refuse with a status."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.submits: list[smpp34.SubmitSmEvent] = []
        self.esmes: list[smpp34.Esme] = []
        self.unbinds = 0
        self.refuse: Callable[[smpp34.SubmitSmEvent], int] = lambda ev: 0
        self._server: smpp34.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server = smpp34.Server("127.0.0.1", self.port)
        await self._server.start()
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        assert self._server is not None
        while True:
            ev = await self._server.next()
            if isinstance(ev, smpp34.SubmitSmEvent):
                status = self.refuse(ev)
                if status:
                    ev.reject(status)
                else:
                    self.submits.append(ev)
                    ev.accept(f"msg-{len(self.submits)}")
            elif isinstance(ev, smpp34.Unbound):
                self.unbinds += 1
            else:
                self.esmes.append(ev)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            await self._server.stop()

    async def mo(self, text: bytes | str, *, to: str = "888", source: str = SUBSCRIBER, **kw: Any) -> None:
        esme = await eventually(lambda: self.esmes and self.esmes[-1])
        data = text.encode() if isinstance(text, str) else text
        resp = await esme.deliver_sm(to, data, source_addr=source, **kw)
        assert resp.is_success

    def texts_to(self, msisdn: str) -> list[str]:
        """Whole texts the SMSC accepted for ``msisdn`` (complete long messages only)."""
        out: list[str] = []
        groups: dict[int, dict[int, bytes]] = {}
        for ev in self.submits:
            if ev.destination_addr != msisdn:
                continue
            data = ev.short_message
            if not ev.esm_class & 0x40:
                out.append(_text(data, ev.data_coding))
                continue
            udh_len = data[0]
            ref, total, seq = data[udh_len - 2], data[udh_len - 1], data[udh_len]
            parts = groups.setdefault(ref, {})
            parts[seq] = data[udh_len + 1:]
            if len(parts) == total:
                out.append(_text(b"".join(parts[i] for i in sorted(parts)), ev.data_coding))
        return out


class Link:
    """A TCP relay between the gateway and the SMSC that a test can cut and restore."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        """The SMSC goes away: no new connections, open ones dropped."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in self._writers:
            w.transport.abort()
        self._writers.clear()
