"""Refusals at start: configuration, PIN secret, and a database that cannot be used."""

from __future__ import annotations

import sqlite3

import pytest

from tests.cli.conftest import Gateway


class TestConfiguration:
    def test_pin_secret_missing_short_or_demo(self, gateway: Gateway) -> None:
        """Every command but demo needs a real PIN secret; the refusal names security.pin_secret."""
        for secret in ("", "too-short", "demo-only-not-a-secret", None):
            message = gateway.refused("db", "migrate", env={"GATEWAY_SECURITY_PIN_SECRET": secret})
            assert "security.pin_secret" in message, secret
        assert not gateway.db.exists()

    def test_config_file_errors_name_the_key(self, gateway: Gateway) -> None:
        """--config files with wrong types, unknown keys or bad TOML are refused naming the key or file."""
        cases = {
            '[http]\nport = "x"\n': "http.port",
            "[http]\nprot = 8080\n": "http.prot: unknown key",
            "[htp]\n": "htp: unknown section",
            "[smpp]\nenabled = 1\n": "smpp.enabled",
            "[http\n": "not valid TOML",
        }
        for n, (text, expected) in enumerate(cases.items()):
            path = gateway.csv(f"c{n}.toml", text)
            assert expected in gateway.refused("db", "migrate", "--config", str(path)), text
        assert "cannot read" in gateway.refused("db", "migrate", "--config", str(gateway.tmp / "no.toml"))
        assert not gateway.db.exists()

    def test_environment_errors_name_the_variable(self, gateway: Gateway) -> None:
        """A misspelt GATEWAY_ variable or a bad value is refused by name, not ignored."""
        assert "GATEWAY_HTTP_PROT: unknown setting" in gateway.refused(
            "db", "migrate", env={"GATEWAY_HTTP_PROT": "9000"})
        assert "http.port (from GATEWAY_HTTP_PORT)" in gateway.refused(
            "db", "migrate", env={"GATEWAY_HTTP_PORT": "x"})
        assert not gateway.db.exists()

    def test_custom_config_file_is_used(self, gateway: Gateway) -> None:
        """A --config file's database path and PIN secret are used when the environment does not override them."""
        path = gateway.csv("mine.toml", f'[database]\npath = "{gateway.tmp / "other.db"}"\n'
                                        '[security]\npin_secret = "a-file-secret-0123456789"\n')
        env = {"GATEWAY_DATABASE_PATH": None, "GATEWAY_SECURITY_PIN_SECRET": None}

        gateway("subscribers", "add", "012345678", "--config", str(path), env=env)

        assert (gateway.tmp / "other.db").exists() and not gateway.db.exists()


class TestUnusableDatabase:
    def test_directory(self, gateway: Gateway) -> None:
        """A database path that is a directory is refused saying so."""
        gateway.db.mkdir()
        assert "is a directory" in gateway.refused("db", "migrate")

    @pytest.mark.parametrize("junk", [b"this is not a database at all", bytes(range(256)) * 64])
    def test_junk_file(self, gateway: Gateway, junk: bytes) -> None:
        """A file of junk bytes is refused as not a database and left as it was."""
        gateway.db.write_bytes(junk)

        assert "not a database" in gateway.refused("subscribers", "show", "012345678")

        assert gateway.db.read_bytes() == junk

    def test_corrupt_page_found_mid_command(self, gateway: Gateway) -> None:
        """A database whose subscribers table is damaged gives a one-line error, not a traceback."""
        gateway("subscribers", "add", "012345678", "--expires-at", "2030-01-01")
        conn = sqlite3.connect(gateway.db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size, root = conn.execute(
            "SELECT (SELECT page_size FROM pragma_page_size), rootpage FROM sqlite_master "
            "WHERE name = 'subscribers'").fetchone()
        conn.close()
        data = bytearray(gateway.db.read_bytes())
        offset = (root - 1) * page_size
        data[offset:offset + page_size] = b"\xa5" * page_size
        gateway.db.write_bytes(bytes(data))

        message = gateway.refused("lifecycle", "run", "--now", "2040-01-01T00:00:00+07:00")

        assert "malformed" in message
