"""``serve`` refuses to start on a broken set-up with one clear line, and a damaged file mid-run gets screens."""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path

import pytest

from tests.support.seed import seed
from tests.support.servers import Server


class TestServeRefusals:
    def test_port_in_use(self, tmp_path: Path) -> None:
        """A port another process listens on is named in a one-line refusal, not a traceback."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = str(taken.getsockname()[1])
            message = Server(tmp_path, GATEWAY_HTTP_PORT=port).refused()
        assert "http.port" in message and port in message and "in use" in message

    def test_junk_database_file_is_left_alone(self, tmp_path: Path) -> None:
        """A file that is not a database is refused naming the file, and left byte for byte as it was."""
        db = tmp_path / "gateway.db"
        db.write_bytes(b"not a database " * 100)
        assert "file is not a database" in Server(tmp_path, db).refused()
        assert db.read_bytes() == b"not a database " * 100
        assert not (tmp_path / "gateway.db-wal").exists()

    def test_unknown_profile_and_bad_setting(self, tmp_path: Path) -> None:
        """A missing operator profile or an out-of-range setting is refused by name before anything is created."""
        assert "operator.profile" in Server(tmp_path, GATEWAY_OPERATOR_PROFILE="nowhere").refused()
        assert "http.port" in Server(tmp_path, GATEWAY_HTTP_PORT="70000").refused()
        assert "security.pin_secret" in Server(tmp_path, GATEWAY_SECURITY_PIN_SECRET="short").refused()
        assert not (tmp_path / "gateway.db").exists()

    @pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files")
    def test_read_only_database(self, tmp_path: Path) -> None:
        """A database file without write permission is refused saying it is read-only."""
        db = tmp_path / "gateway.db"
        seed(db)
        db.chmod(0o444)
        tmp_path.chmod(0o555)
        try:
            assert "read" in Server(tmp_path / "..", db).refused().lower()
        finally:
            tmp_path.chmod(0o755)


class TestDamagedDatabase:
    def test_corrupt_page_mid_run_gets_a_screen_not_a_500(self, tmp_path: Path, server_factory) -> None:
        """A subscribers page damaged under a running gateway: the caller gets an 'unavailable' END, never a 500."""
        data = seed(tmp_path / "gateway.db", subscribers=1)
        conn = sqlite3.connect(tmp_path / "gateway.db")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size, root = conn.execute(
            "SELECT (SELECT page_size FROM pragma_page_size), rootpage FROM sqlite_master "
            "WHERE name = 'subscribers'").fetchone()
        conn.close()
        server = server_factory(tmp_path).start()
        with (tmp_path / "gateway.db").open("r+b") as f:
            f.seek((root - 1) * page_size)
            f.write(b"\xa5" * page_size)
        for code in ("*124#", "*100#"):
            status, body = server.post(f"c{code}", code, "", data.numbers[0])
            assert (status, body) == (200, "END Sorry, the service is unavailable. Please try again later.")
        assert server.get("/healthz")[0] == 200
