"""A minimal keep-alive HTTP/1.1 load generator for USSD dialogues.

Why not aiohttp's client: it spends 90-220 µs of CPU per request, which on a
2-core machine makes the generator, not the server, the bottleneck (a server
at 0.5x bare aiohttp looked like 0.9x). This one is one ``epoll`` loop over
non-blocking sockets: one connection per simulated subscriber, the request
bytes built with one f-string, the response parsed just enough (status line,
``Content-Length``, the body's ``CON ``/``END `` prefix). It costs ~15 µs of
CPU per request; ``scripts/bench`` checks it against ``wrk`` on the bare
server and reports its own CPU use next to every figure.

Each connection plays whole dialogues, one step at a time (a step is sent
when the previous answer arrived): ``*124#`` (balance at once), ``*100#``
then ``1`` (the menu's balance), ``*123*PIN#`` (a top-up with a fresh
voucher); in the Africa's Talking convention or, with ``dialect``, as one
of the JSON dialects sends them (the reply is then read back as ``CON`` /
``END`` by ``screen``, a few µs more of the generator's CPU). Dialogues go
to the seeded numbers in a fixed scattered order, so a big database is not
read in a cache-friendly order and no number recurs before all others (the
gateway limits requests per number); ``walk_from`` lets the runs on one
gateway continue that order instead of replaying its start.

Run as ``python -m benchmarks.loadgen SPEC.json``; prints one JSON object.
Everything is bounded: ``duration`` seconds (plus ``timeout`` to drain),
``max_requests`` steps, ``timeout`` per step; 127.0.0.1 only.
"""

from __future__ import annotations

import errno
import json
import os
import random
import select
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from gateway.ussd.dialects import JSON_DIALECTS

MAX_CONNECTIONS = 1024
STRIDE = 1_000_003  # prime: coprime with every subscriber count that is not its multiple


@dataclass
class Spec:
    port: int
    concurrency: int
    duration: float
    warmup: float = 1.0
    timeout: float = 15.0
    max_requests: int = 2_000_000
    path: str = "/ussd"
    #: "bare": every step is a *124# balance (for the bare server and wrk check);
    #: "mix": balance, menu and top-up dialogues in turn.
    mode: str = "mix"
    #: Seeded subscribers are 855 + (10000000 + i) for i < subscribers.
    subscribers: int = 1000
    seed: int = 1
    #: Where in the fixed order of numbers the run begins (None: at a point drawn from ``seed``): runs
    #: on one gateway given disjoint stretches play fresh numbers, as a real load test would.
    walk_from: int | None = None
    pins_file: str | None = None
    pins_offset: int = 0
    pins_count: int = 0
    #: Dialogue kinds in turn, e.g. ["balance", "menu", "topup"].
    mix: list[str] = field(default_factory=lambda: ["balance", "menu", "topup"])
    session_prefix: str = "b"
    #: The aggregator convention spoken (``path`` should then be ``/ussd/<dialect>``): the
    #: same dialogues, each request as that dialect sends it (``JSON_REQUESTS``).
    dialect: str = "africastalking"


def _form(session: str, code: str, msisdn: str, text: str) -> bytes:
    # serviceCode and text hold only digits, '*' and '#': escape those two.
    code = code.replace("*", "%2A").replace("#", "%23")
    text = text.replace("*", "%2A")
    return f"sessionId={session}&serviceCode={code}&phoneNumber=%2B{msisdn}&text={text}&networkCode=45606".encode()


#: The request of each JSON dialect (DESIGN.md "USSD over HTTP"): ``first`` is the dial,
#: ``data`` the dial string (``*123*PIN#``) on the first request, then the latest answer,
#: ``seq`` the step number. Only digits, ``*`` and ``#`` are ever substituted: no escaping.
JSON_REQUESTS = {
    "hubtel": '{{"Type":"{kind}","Mobile":"{msisdn}","SessionId":"{session}","ServiceCode":"{bare}",'
              '"Message":"{data}","Operator":"smart","Sequence":{seq},"ClientState":""}}',
    "nalo": '{{"USERID":"bench","MSISDN":"{msisdn}","USERDATA":"{data}","MSGTYPE":{first},"NETWORK":"smart",'
            '"SESSIONID":"{session}"}}',
    "arkesel": '{{"sessionID":"{session}","userID":"bench","newSession":{first},"msisdn":"{msisdn}",'
               '"userData":"{data}","network":"smart"}}',
    "madapi": '{{"sessionId":"{session}","messageType":"{mtype}","msisdn":"{msisdn}","serviceCode":"{code}",'
              '"ussdString":"{data}"}}',
}


def _json(dialect: str, session: str, code: str, msisdn: str, data: str, seq: int) -> bytes:
    first = seq == 1
    return JSON_REQUESTS[dialect].format(
        kind="Initiation" if first else "Response", first="true" if first else "false", mtype=0 if first else 1,
        session=session, msisdn=msisdn, code=code, bare=code.strip("*#"), data=data, seq=seq).encode()


def screen(dialect: str, body: bytes) -> bytes:
    """A dialect's reply as Africa's Talking would have said it (``CON …`` / ``END …``), or b"" if unreadable."""
    if dialect == "africastalking":
        return body
    try:
        text, end = JSON_DIALECTS[dialect].read_reply(json.loads(body))
    except (ValueError, KeyError, TypeError):
        return b""
    return (b"END " if end else b"CON ") + text.encode()


class Dialogues:
    """The next dialogue for a connection: a list of (serviceCode, text, expect)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.turn = 0
        if spec.walk_from is None:
            self.position = random.Random(spec.seed).randrange(spec.subscribers)
        else:
            self.position = (spec.walk_from - 1) * STRIDE % spec.subscribers
        self.pins: list[str] = []
        if spec.pins_file and spec.pins_count:
            with open(spec.pins_file, encoding="ascii") as handle:
                for i, line in enumerate(handle):
                    if i >= spec.pins_offset + spec.pins_count:
                        break
                    if i >= spec.pins_offset:
                        self.pins.append(line.strip())
        self.pins.reverse()
        self.counts: dict[str, int] = {}
        self.serial = 0

    def msisdn(self) -> str:
        # A fixed permutation of the seeded range (a prime stride): numbers are
        # spread over the whole table, and each one recurs only after all the
        # others (the gateway limits requests per number per minute).
        self.position = (self.position + STRIDE) % self.spec.subscribers
        return f"855{10000000 + self.position}"

    def next(self) -> tuple[str, list[tuple[str, str, bytes, bytes]]]:
        spec = self.spec
        if spec.mode == "bare":
            kind = "balance"
        else:
            kind = spec.mix[self.turn % len(spec.mix)]
            self.turn += 1
            if kind == "topup" and not self.pins:
                kind = "balance"
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.serial += 1
        session = f"{spec.session_prefix}{os.getpid()}-{self.serial}"
        msisdn = self.msisdn()
        # (service code, the whole path so far as Africa's Talking sends it, what a latest-answer
        # dialect sends: the dial string first, then the answer, expected screen prefix)
        if kind == "balance":
            steps = [("*124#", "", "*124#", b"" if spec.mode == "bare" else b"END ")]
        elif kind == "menu":
            steps = [("*100#", "", "*100#", b"CON "), ("*100#", "1", "1", b"")]
        else:
            pin = self.pins.pop()
            steps = [("*123#", pin, f"*123*{pin}#", b"END ")]
        return kind, [(session, msisdn, _request(spec, code, session, msisdn, text, latest, n + 1), expect)
                      for n, (code, text, latest, expect) in enumerate(steps)]


def _request(spec: Spec, code: str, session: str, msisdn: str, text: str, latest: str, seq: int) -> bytes:
    if spec.dialect == "africastalking":
        body, kind = _form(session, code, msisdn, text), "application/x-www-form-urlencoded"
    else:
        body, kind = _json(spec.dialect, session, code, msisdn, latest, seq), "application/json"
    return (
        f"POST {spec.path} HTTP/1.1\r\nHost: 127.0.0.1:{spec.port}\r\n"
        f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class Conn:
    __slots__ = ("sock", "fd", "buf", "steps", "index", "sent", "kind")

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.fd = self.sock.fileno()
        self.buf = b""
        self.steps: list[Any] = []
        self.index = 0
        self.sent = 0.0
        self.kind = ""


def run(spec: Spec) -> dict[str, Any]:
    if not 1 <= spec.concurrency <= MAX_CONNECTIONS:
        raise ValueError(f"concurrency must be 1..{MAX_CONNECTIONS}")
    dialogues = Dialogues(spec)
    ep = select.epoll()
    conns: dict[int, Conn] = {}
    latencies: list[float] = []
    errors: dict[str, int] = {}
    samples: list[str] = []

    def error(kind: str, detail: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1
        if len(samples) < 5:
            samples.append(f"{kind}: {detail[:160]}")

    def start_dialogue(c: Conn, now: float) -> None:
        c.kind, c.steps = dialogues.next()
        c.index = 0
        send(c, now)

    def send(c: Conn, now: float) -> None:
        c.sent = now
        data = c.steps[c.index][2]
        n = c.sock.send(data)
        if n != len(data):  # a few hundred bytes into an idle socket: never partial
            raise RuntimeError("partial send")

    def open_conn() -> Conn:
        c = Conn(spec.port)
        conns[c.fd] = c
        ep.register(c.fd, select.EPOLLIN)
        return c

    def drop(c: Conn) -> None:
        ep.unregister(c.fd)
        del conns[c.fd]
        c.sock.close()

    t0 = time.perf_counter()
    measure_from = t0 + spec.warmup
    stop_at = measure_from + spec.duration
    for _ in range(spec.concurrency):
        start_dialogue(open_conn(), time.perf_counter())
    cpu0 = None
    measured_until = None
    sent_total = 0
    answered = topups_measured = 0
    stopping = False
    next_check = t0 + 0.1
    while conns:
        events = ep.poll(0.05)
        now = time.perf_counter()
        if cpu0 is None and now >= measure_from:
            cpu0 = os.times()
        if not stopping and (now >= stop_at or sent_total >= spec.max_requests):
            stopping = True
            measured_until = now
            cpu1 = os.times()
        for fd, _ in events:
            c = conns.get(fd)
            if c is None:
                continue
            try:
                data = c.sock.recv(65536)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    continue
                error("socket", str(exc))
                drop(c)
                if not stopping:
                    start_dialogue(open_conn(), now)
                continue
            if not data:
                error("closed", "server closed the connection")
                drop(c)
                if not stopping:
                    start_dialogue(open_conn(), now)
                continue
            buf = c.buf + data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                c.buf = buf
                continue
            head = buf[:end]
            i = head.lower().find(b"\r\ncontent-length:")
            if i >= 0:
                j = head.find(b"\r", i + 17)
                length = int(head[i + 17:j if j > 0 else len(head)])
            else:
                length = 0
            if len(buf) < end + 4 + length:
                c.buf = buf
                continue
            body = buf[end + 4:end + 4 + length]
            c.buf = buf[end + 4 + length:]
            answered += 1
            if c.sent >= measure_from and not stopping:
                latencies.append(now - c.sent)
                measuring = True
                if c.kind == "topup":
                    topups_measured += 1
            else:
                measuring = False
            status = head[9:12]
            body = screen(spec.dialect, body)
            expect = c.steps[c.index][3]
            if status != b"200":
                if measuring:
                    error(f"http_{status.decode()}", body.decode(errors="replace"))
            elif not (body.startswith(b"CON ") or body.startswith(b"END ")) or (expect and not body.startswith(expect)):
                if measuring:
                    error("unexpected_screen", f"{c.kind} step {c.index}: {body.decode(errors='replace')}")
            c.index += 1
            if stopping:
                drop(c)
                continue
            sent_total += 1
            if c.index < len(c.steps) and status == b"200" and body.startswith(b"CON "):
                send(c, now)
            else:
                start_dialogue(c, now)
        if now >= next_check:
            next_check = now + 0.1
            for c in list(conns.values()):
                if now - c.sent > spec.timeout:
                    error("timeout", f"{c.kind} step {c.index} took over {spec.timeout} s")
                    drop(c)
                    if not stopping:
                        start_dialogue(open_conn(), now)
            if stopping and now - measured_until > spec.timeout:  # type: ignore[operator]
                for c in list(conns.values()):
                    drop(c)
    ep.close()
    if cpu0 is None or measured_until is None:
        raise RuntimeError("the run ended before the measuring window")
    window = measured_until - measure_from
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    latencies.sort()
    n = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    err_total = sum(errors.values())
    return {
        "concurrency": spec.concurrency,
        "steps": n,
        "seconds": round(window, 3),
        "steps_per_s": round(n / window, 1),
        "p50_ms": round(pct(0.50), 3),
        "p99_ms": round(pct(0.99), 3),
        "max_ms": round(latencies[-1] * 1000, 3) if n else float("nan"),
        "errors": err_total,
        "error_kinds": errors,
        "error_samples": samples,
        "dialogues": dialogues.counts,
        "topups_sent": spec.pins_count - len(dialogues.pins) if spec.pins_count else 0,
        "topups_per_s": round(topups_measured / window, 1),
        # Every step answered, warm-up and drain included: the divisor of the server's CPU over the run.
        "answered": answered,
        "generator_cpu_s": round(cpu, 3),
        "generator_cpu_share": round(cpu / window, 3),
        "generator_cpu_us_per_step": round(cpu / n * 1e6, 1) if n else None,
    }


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8") as handle:
        spec = Spec(**json.load(handle))
    print(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
