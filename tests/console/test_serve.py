"""``serve`` runs the console on ``[admin] port`` when a token is set, and refuses a console it cannot run.

Real ``python -m gateway serve`` processes (``tests.support.servers.Server``) on loopback.
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.seed import seed
from tests.support.servers import Server, Smsc, campaign, sms_env
from tests.support.waiting import wait_for

TOKEN = "serve-operator-token-0123456789"
VIEWER = "serve-viewer-token-0123456789"


def get(port: int, path: str, token: str | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={} if token is None else {"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class TestServeRunsTheConsole:
    def test_on_its_own_port_with_a_token(self, tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
        """With ``GATEWAY_ADMIN_TOKEN`` the console answers on its port (the USSD port does not serve it);
        the log says where it listens and never holds a token."""
        port = free_port()
        server = server_factory(tmp_path, GATEWAY_ADMIN_TOKEN=TOKEN, GATEWAY_ADMIN_VIEWER_TOKEN=VIEWER,
                                GATEWAY_ADMIN_PORT=str(port)).start()
        wait_for(lambda: listening(port), 10, "the console port")
        status, body = get(port, "/admin/api/session", TOKEN)
        assert (status, json.loads(body)["role"]) == (200, "operator")
        assert get(port, "/admin/api/session", VIEWER)[0] == 200
        assert get(port, "/admin/api/session")[0] == 401
        assert get(server.port, "/admin/api/session", TOKEN)[0] == 404
        assert server.terminate() == 0
        log = server.log.read_text()
        assert '"event": "console_listening"' in log and f"127.0.0.1:{port}" in log
        assert TOKEN not in log and VIEWER not in log

    def test_off_without_a_token(self, tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
        """No ``[admin] token``: nothing listens on the console's port."""
        port = free_port()
        server = server_factory(tmp_path, GATEWAY_ADMIN_PORT=str(port)).start()
        assert server.get("/healthz")[0] == 200 and not listening(port)

    def test_with_workers_one_process_serves_it(self, tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
        """``--workers 2``: worker 0 serves the console (a second listener would have been refused with
        exit 2 and stopped the gateway); both workers keep answering USSD."""
        port = free_port()
        server = server_factory(tmp_path, GATEWAY_ADMIN_TOKEN=TOKEN, GATEWAY_ADMIN_PORT=str(port))
        server.args = ["--workers", "2"]
        server.start()
        wait_for(lambda: listening(port), 15, "the console port")
        assert get(port, "/admin/api/session", TOKEN)[0] == 200
        log = wait_for(lambda: (text := server.log.read_text()).count('"event": "http_listening"') >= 2 and text,
                       15, "both workers")
        assert str(log).count('"event": "console_listening"') == 1
        assert server.proc is not None and server.proc.poll() is None
        assert server.terminate() == 0


class TestEndToEnd:
    def test_a_campaign_followed_to_its_receipts_through_the_simulator(
            self, tmp_path: Path, server_factory, smsc_factory) -> None:  # type: ignore[no-untyped-def]
        """``campaign send`` (the CLI, another process), sent by ``serve`` over SMPP to the SMSC simulator,
        which sends receipts back: the console shows the campaign delivered and each message's SMSC id and
        DELIVRD receipt, without SQL."""
        numbers = seed(tmp_path / "gateway.db", subscribers=2).numbers
        smsc: Smsc = smsc_factory(tmp_path).start()
        port = free_port()
        server = server_factory(tmp_path, GATEWAY_ADMIN_TOKEN=TOKEN, GATEWAY_ADMIN_PORT=str(port),
                                **sms_env(smsc)).start()
        wait_for(smsc.bound, 10, "the gateway's bind")
        campaign(server, numbers, "Weekend offer")

        def delivered() -> dict[str, object] | None:
            found = json.loads(get(port, "/admin/api/campaigns", TOKEN)[1])["campaigns"]
            return found[0] if found and found[0]["delivered"] == 2 else None

        shown = wait_for(delivered, 15, "both receipts")
        assert isinstance(shown, dict) and (shown["sent"], shown["delivery_rate"]) == (2, 1.0)
        status, body = get(port, f"/admin/api/outbox?campaign={shown['id']}", TOKEN)
        messages = json.loads(body)["messages"]
        assert status == 200 and {m["destination"] for m in messages} == set(numbers)
        for message in messages:
            [part] = message["parts"]
            assert part["smsc_message_id"] and part["receipt"]["stat"] == "DELIVRD"
        assert {m["message_id"] for m in smsc.mt()} == {m["parts"][0]["smsc_message_id"] for m in messages}


class TestServeRefusesAConsoleItCannotRun:
    @pytest.mark.parametrize(("env", "key"), [
        ({"GATEWAY_ADMIN_TOKEN": "short"}, "admin.token"),
        ({"GATEWAY_ADMIN_VIEWER_TOKEN": VIEWER}, "admin.viewer_token"),
        ({"GATEWAY_ADMIN_TOKEN": TOKEN, "GATEWAY_ADMIN_VIEWER_TOKEN": TOKEN}, "admin.viewer_token"),
    ])
    def test_a_bad_setting_is_refused_by_name(self, tmp_path: Path, env: dict[str, str], key: str) -> None:
        """A short token, a viewer without an operator, one token for both: exit 2 naming the key, no token
        quoted, nothing created."""
        line = Server(tmp_path, **env).refused()
        assert line.startswith(f"error: {key}") and TOKEN not in line and VIEWER not in line
        assert not (tmp_path / "gateway.db").exists()

    def test_a_console_port_in_use(self, tmp_path: Path) -> None:
        """The console's port taken by another process: exit 2 naming admin.port."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            line = Server(tmp_path, GATEWAY_ADMIN_TOKEN=TOKEN, GATEWAY_ADMIN_PORT=str(port)).refused()
        assert line.startswith("error: admin.port") and str(port) in line and "in use" in line
