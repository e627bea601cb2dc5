"""How many submit_sm per second an SMSC answers: ours against smpp34's server.

``measure_submit_rate`` is a deliberately thin pipelining client (one
pre-encoded submit_sm whose sequence number is patched in place, raw header
parsing of the responses, one write per batch) so that it measures the
server, not itself; ``ceiling`` is the one measurement (a warm-up, then the
run). ``python -m simulator.bench`` runs both servers in their own processes
and prints the two rates; ``--ceiling PORT`` measures a server already
listening (``scripts/bench``) and prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass

from aiosmpplib import BindTransceiver, PhoneNumber, SubmitSm

from gateway.smpp.codec import HEADER


async def measure_submit_rate(
    host: str, port: int, system_id: str, password: str, count: int, window: int
) -> float:
    """Bind, submit ``count`` messages keeping ``window`` unanswered, return submit_sm/s.

    Raises:
        RuntimeError: the bind or a submit is refused, or the server hangs up.
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(BindTransceiver(sequence_num=1, system_id=system_id, password=password).pdu())
        header = await asyncio.wait_for(reader.readexactly(16), 10)
        length, _, status, _ = HEADER.unpack(header)
        await reader.readexactly(length - 16)
        if status:
            raise RuntimeError(f"bind refused: status 0x{status:02x}")
        template = bytearray(SubmitSm(
            sequence_num=1, short_message="Benchmark message text", registered_delivery=0,
            source=PhoneNumber("888"), destination=PhoneNumber("85512345678"),
        ).pdu())
        sent = answered = 0
        buf = b""
        started = time.perf_counter()

        def batch(n: int) -> bytes:
            nonlocal sent
            out = []
            for _ in range(n):
                sent += 1
                struct.pack_into("!I", template, 12, sent + 1)
                out.append(bytes(template))
            return b"".join(out)

        writer.write(batch(min(window, count)))
        while answered < count:
            chunk = await asyncio.wait_for(reader.read(1 << 16), 10)
            if not chunk:
                raise RuntimeError(f"server closed after {answered} responses")
            buf += chunk
            offset = 0
            while len(buf) - offset >= 16:
                length, command, status, _ = HEADER.unpack_from(buf, offset)
                if len(buf) - offset < length:
                    break
                offset += length
                if command == 0x80000004:
                    if status:
                        raise RuntimeError(f"submit_sm refused: status 0x{status:02x}")
                    answered += 1
            buf = buf[offset:]
            room = min(count - sent, window - (sent - answered))
            if room > 0:
                writer.write(batch(room))
        return count / (time.perf_counter() - started)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclass(frozen=True)
class _StandIn:
    """The gateway our simulator stands in for here, as ``start_simulator`` reads it
    (``simulator.runner.GatewaySettings``): the account the bench binds with (the gateway's default
    one, which both servers accept) and the default profile."""

    system_id: str = "selfcare"
    password: str = "secret"
    profile: str = "smart-kh"

    @property
    def smpp(self) -> _StandIn:
        return self

    @property
    def operator(self) -> _StandIn:
        return self


BENCH_GATEWAY = _StandIn()


async def ceiling(port: int, count: int, window: int = 64) -> float:
    """submit_sm/s of the SMSC on ``port`` (the bench credentials), after a warm-up of up to 2,000."""
    account = BENCH_GATEWAY.smpp
    await measure_submit_rate("127.0.0.1", port, account.system_id, account.password, min(count, 2000), window)
    return await measure_submit_rate("127.0.0.1", port, account.system_id, account.password, count, window)


async def _serve_ours(port: int) -> None:
    from simulator import SimulatorSettings, start_simulator

    await start_simulator(SimulatorSettings(port=port, control_port=0), BENCH_GATEWAY)
    await asyncio.Event().wait()


async def _serve_smpp34(port: int) -> None:
    import smpp34  # test dependency: the reference server

    server = smpp34.Server("127.0.0.1", port)
    await server.start()
    count = 0
    while True:
        event = await server.next()
        if isinstance(event, smpp34.SubmitSmEvent):
            count += 1
            event.accept(str(count))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"nothing listens on {port} after 10 s")


async def compare(count: int, window: int) -> dict[str, float]:
    """Rates of our simulator and of smpp34's server, each in its own process."""
    rates: dict[str, float] = {}
    for name in ("ours", "smpp34"):
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulator.bench", f"--serve-{name}", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            await _wait_listening(port, proc)
            rates[name] = await ceiling(port, count, window)
        finally:
            proc.terminate()
            proc.wait(10)
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--ceiling", type=int, metavar="PORT",
                        help="measure the SMSC already listening on PORT; print {\"submit_sm_per_s\": ...}")
    parser.add_argument("--serve-ours", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-smpp34", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ceiling:
        rate = asyncio.run(ceiling(args.ceiling, args.count, args.window))
        print(json.dumps({"submit_sm_per_s": round(rate, 1)}))
        return 0
    if args.serve_ours:
        asyncio.run(_serve_ours(args.serve_ours))
        return 0
    if args.serve_smpp34:
        asyncio.run(_serve_smpp34(args.serve_smpp34))
        return 0
    rates = asyncio.run(compare(args.count, args.window))
    for name, rate in rates.items():
        print(f"{name:>7}: {rate:9.0f} submit_sm/s  (count={args.count}, window={args.window})")
    print(f"  ratio: {rates['ours'] / rates['smpp34']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
