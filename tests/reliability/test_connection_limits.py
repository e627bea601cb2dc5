"""Connection limits of a real ``serve``: idle floods, slow and short requests, hostile binds, readiness.

Every socket here is on loopback; every wait is bounded in count and time.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import socket
import struct
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.support.raw_smsc import BIND_TRX, BIND_TRX_RESP, pdu
from tests.support.seed import seed
from tests.support.servers import Server, Smsc, sms_env
from tests.support.waiting import wait_for

FORM = urllib.parse.urlencode({"sessionId": "s1", "serviceCode": "*124#", "phoneNumber": "855100000000",
                               "text": ""}).encode()


def raw_request(port: int, data: bytes, source: str = "127.0.0.1", timeout: float = 10) -> bytes:
    """Send ``data`` on a new connection from ``source``; everything the server sends back until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as sock:
        sock.sendall(data)
        return _read_to_close(sock)


def _read_to_close(sock: socket.socket) -> bytes:
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except ConnectionResetError:
        pass
    return got


def post_head(length: int, *extra: bytes, close: bool = True) -> bytes:
    return b"\r\n".join([b"POST /ussd HTTP/1.1", b"Host: gateway", *([b"Connection: close"] if close else []),
                         b"Content-Type: application/x-www-form-urlencoded",
                         b"Content-Length: " + str(length).encode(), *extra, b"", b""])


def test_a_non_utf8_authorization_header_is_a_403(tmp_path: Path, server_factory) -> None:
    """Bytes that are not UTF-8 in ``Authorization`` are a wrong token: 403, no traceback."""
    seed(tmp_path / "gateway.db")
    server = server_factory(tmp_path, GATEWAY_HTTP_TOKEN="s3cret-token").start()
    reply = raw_request(server.port, post_head(len(FORM), b"Authorization: Bearer \xff\xfe\xc3(") + FORM)
    assert reply.startswith(b"HTTP/1.1 403"), reply[:200]
    right = raw_request(server.port, post_head(len(FORM), b"Authorization: Bearer s3cret-token") + FORM)
    assert right.startswith(b"HTTP/1.1 200"), right[:200]
    assert "Traceback" not in server.log.read_text()


def test_other_networks_are_refused_before_a_byte_is_read(tmp_path: Path, server_factory) -> None:
    """A caller outside ``allowed_networks`` and ``metrics_networks`` is disconnected at accept: no answer at all."""
    seed(tmp_path / "gateway.db")
    server = server_factory(tmp_path, GATEWAY_HTTP_ALLOWED_NETWORKS="127.0.0.1/32",
                            GATEWAY_HTTP_METRICS_NETWORKS="127.0.0.1/32").start()
    assert raw_request(server.port, post_head(len(FORM)) + FORM, source="127.0.0.2") == b""
    assert raw_request(server.port, post_head(len(FORM)) + FORM).startswith(b"HTTP/1.1 200")


def _limit_1024() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def test_1100_idle_connections_under_a_1024_limit_do_not_stop_a_request(tmp_path: Path, server_factory) -> None:
    """With soft and hard ``RLIMIT_NOFILE`` at 1024, 1,100 idle connections leave room for a real /ussd request."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1300:
        pytest.skip(f"this test opens 1,100 sockets; the hard file limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 4096, hard))
    seed(tmp_path / "gateway.db")
    server = server_factory(tmp_path)
    server.preexec = _limit_1024
    server.start()
    assert server.proc is not None
    pid = server.proc.pid
    idle: list[socket.socket] = []

    def fds() -> int:
        return len(os.listdir(f"/proc/{pid}/fd"))

    base = fds()
    try:
        # In batches under the listen backlog: the kernel completes handshakes
        # faster than serve accepts, and drops what overflows its accept queue.
        for _ in range(22):
            batch = []
            for _ in range(50):
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", server.port))
                batch.append(sock)
            _wait_connected(batch, timeout=10)
            idle += batch
            wait_for(lambda idle=idle: fds() >= min(base + len(idle), 1000) - 2
                     or '"http_connections_at_cap"' in server.log.read_text(), 10, "serve to accept the batch")
        status, body = server.post("real", "*124#", "", "855100000000", timeout=20)
        assert status == 200 and body.startswith("END "), (status, body)
        assert server.get("/healthz")[0] == 200
    finally:
        for sock in idle:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    text = server.log.read_text()
    assert "Traceback" not in text and "out of system resource" not in text
    assert '"fd_limit"' in text  # serve logged its file limit


def test_at_the_cap_the_quietest_idle_connection_goes_not_one_being_answered(tmp_path: Path,
                                                                              server_factory) -> None:
    """With room for two connections: a third closes the idle keep-alive one, and the request still
    arriving on the oldest connection is answered."""
    seed(tmp_path / "gateway.db")
    server = server_factory(tmp_path, GATEWAY_HTTP_MAX_CONNECTIONS="2").start()
    with (socket.create_connection(("127.0.0.1", server.port), timeout=10) as answering,
          socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle):
        answering.sendall(post_head(len(FORM)) + FORM[:5])  # being answered: its body is on the way
        idle.sendall(post_head(len(FORM), close=False) + FORM)
        assert idle.recv(65536).startswith(b"HTTP/1.1 200")  # now quiet, kept alive
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as newcomer:
            assert _read_to_close(idle) == b"", "the idle connection was kept"
            answering.sendall(FORM[5:])
            assert _read_to_close(answering).startswith(b"HTTP/1.1 200")
            newcomer.sendall(post_head(len(FORM)) + FORM)
            assert _read_to_close(newcomer).startswith(b"HTTP/1.1 200")


def _wait_connected(socks: list[socket.socket], timeout: float) -> None:
    """Wait (at most ``timeout`` s) until every non-blocking connect has completed, accepted or not."""
    with selectors.DefaultSelector() as sel:
        for sock in socks:
            sel.register(sock, selectors.EVENT_WRITE)
        pending, deadline = len(socks), time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                sel.unregister(key.fileobj)
                pending -= 1
    assert not pending, f"{pending} connections never completed"


def test_slow_headers_and_short_bodies_are_closed_after_the_timeout(tmp_path: Path, server_factory) -> None:
    """Headers trickled a byte at a time, and a body shorter than its Content-Length, do not hold a connection."""
    seed(tmp_path / "gateway.db")
    server = server_factory(tmp_path, GATEWAY_HTTP_KEEPALIVE_TIMEOUT="1", GATEWAY_HTTP_BODY_TIMEOUT="1").start()

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        closed = False
        for n in range(100):  # at most 20 s of trickling
            try:
                slow.sendall(b"POST /ussd HTTP/1.1\r\n" if n == 0 else b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
        assert closed, "a connection trickling its headers was kept open"

    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as short:
        short.sendall(post_head(100) + FORM[:10])
        reply = _read_to_close(short)  # returns when the server closes; the socket timeout bounds it
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert server.post("after", "*124#", "", "855100000000")[0] == 200


def test_an_smsc_announcing_a_huge_bind_response_is_dropped_without_reading_it(tmp_path: Path,
                                                                                server_factory) -> None:
    """A bind answer whose header says 0x7FFFFFF0 bytes, then zeros: the ESME drops the link, reads
    no more than socket buffers hold, and binds again later."""
    seed(tmp_path / "gateway.db")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    port = listener.getsockname()[1]
    server = server_factory(tmp_path, GATEWAY_SMPP_ENABLED="true", GATEWAY_SMPP_PORT=str(port),
                            GATEWAY_SMPP_CONNECT_TIMEOUT="30", GATEWAY_SMPP_RECONNECT_MIN="0.1",
                            GATEWAY_SMPP_RECONNECT_MAX="0.3").start()
    try:
        smsc, _ = listener.accept()
        with smsc:
            smsc.settimeout(10)
            command, seq = _read_pdu(smsc)
            assert command == BIND_TRX
            smsc.sendall(pdu(BIND_TRX_RESP, seq, length=0x7FFFFFF0))
            sent, total, chunk = 0, 64 << 20, b"\x00" * 65536
            try:
                while sent < total:
                    smsc.sendall(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        assert sent < 32 << 20, f"the gateway went on reading {sent} bytes of one bind response"
        again, _ = listener.accept()  # it binds again after the backoff
        with again:
            again.settimeout(10)
            assert _read_pdu(again)[0] == BIND_TRX
    finally:
        listener.close()
    assert server.proc is not None and server.proc.poll() is None
    assert "Traceback" not in server.log.read_text()


def _read_pdu(sock: socket.socket) -> tuple[int, int]:
    head = b""
    while len(head) < 16:
        chunk = sock.recv(16 - len(head))
        assert chunk, "closed by the gateway"
        head += chunk
    length, command, _, seq = struct.unpack("!IIII", head)
    rest = length - 16
    while rest > 0:
        rest -= len(sock.recv(rest))
    return command, seq


def _ready(server: Server) -> tuple[int, dict[str, object]]:
    status, body = server.get("/readyz")
    return status, json.loads(body)


def test_readyz_follows_the_smpp_link_and_the_database(tmp_path: Path, server_factory, smsc_factory) -> None:
    """/readyz is 200 while bound, 503 naming the link while the SMSC is down, 200 again after it
    returns, and 503 naming the database when it cannot be read; /healthz stays 200 throughout."""
    seed(tmp_path / "gateway.db")
    smsc: Smsc = smsc_factory(tmp_path).start()
    server = server_factory(tmp_path, **sms_env(smsc)).start()
    wait_for(lambda: _ready(server)[0] == 200, 15, "ready while bound")
    assert _ready(server)[1]["reasons"] == []

    smsc.stop()
    status, body = wait_for(lambda: (r := _ready(server))[0] == 503 and r, 15, "not ready without the SMSC")
    assert any("smpp" in str(reason) for reason in body["reasons"]), body  # type: ignore[union-attr]
    assert server.get("/healthz")[0] == 200

    smsc.start()
    wait_for(lambda: _ready(server)[0] == 200, 15, "ready again once bound")

    db = server.db
    db.rename(db.with_name("moved.db"))
    try:
        status, body = _ready(server)
        assert status == 503 and any("database" in str(r) for r in body["reasons"]), body  # type: ignore[union-attr]
        assert server.get("/healthz")[0] == 200
    finally:
        db.with_name("moved.db").rename(db)
    assert _ready(server)[0] == 200
