"""Refusals at start: configuration, PIN secret, and a database that cannot be used."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.support.cli import HEADER, ROOT, Gateway

#: A Khmer sentence of about 90 UCS-2 characters: no question screen holding it fits in 80.
LONG_KM = "តវ៉ាវិក្កយបត្រចុងក្រោយ? ចំនួនទឹកប្រាក់ត្រូវរក្សាទុកជាប្រាក់កក់រហូតដល់វិវាទត្រូវបានដោះស្រាយ។"


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
        assert "http.dialects: unknown dialect 'vodacom'" in gateway.refused(
            "db", "migrate", env={"GATEWAY_HTTP_DIALECTS": "hubtel,vodacom"})
        assert not gateway.db.exists()

    def test_custom_config_file_is_used(self, gateway: Gateway) -> None:
        """A --config file's database path and PIN secret are used when the environment does not override them."""
        path = gateway.csv("mine.toml", f'[database]\npath = "{gateway.tmp / "other.db"}"\n'
                                        '[security]\npin_secret = "a-file-secret-0123456789"\n')
        env = {"GATEWAY_DATABASE_PATH": None, "GATEWAY_SECURITY_PIN_SECRET": None}

        gateway("db", "migrate", "--config", str(path), env=env)
        gateway("subscribers", "add", "012345678", "--config", str(path), env=env)

        assert (gateway.tmp / "other.db").exists() and not gateway.db.exists()
        assert gateway("subscribers", "show", "012345678", "--config", str(path), env=env).returncode == 0


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


class TestBrokenMenuFiles:
    def test_broken_translation_file_is_one_line_naming_file_and_line(self, gateway: Gateway) -> None:
        """A translation file with a TOML error stops the command in one line naming the file and the line."""
        broken = gateway.own_menus() / "locales" / "km" / "replies.toml"
        broken.write_text(broken.read_text(encoding="utf-8") + "oops = = 1\n", encoding="utf-8")

        message = gateway.refused("db", "migrate")

        # Named from the working directory, which holds the copy.
        assert "menus/locales/km/replies.toml: " in message and "line" in message

    def test_translation_missing_a_key_names_file_and_key(self, gateway: Gateway) -> None:
        """A key present in English but missing in Khmer is refused naming the Khmer file and the key."""
        folder = gateway.own_menus() / "locales"
        english = folder / "en" / "replies.toml"
        english.write_text(english.read_text(encoding="utf-8") + 'only_english = "x"\n', encoding="utf-8")

        message = gateway.refused("db", "migrate")

        assert "menus/locales/km/replies.toml: replies.only_english: missing in 'km'" in message

    def test_broken_menu_tree_stops_serve_in_one_line(self, gateway: Gateway) -> None:
        """A menu tree that links to a screen it lacks stops serve in one line naming the file and the key path."""
        tree = gateway.own_menus() / "trees" / "optout.toml"
        tree.write_text('code = "marketing_optout"\nstart = "nowhere"\n[screens.a]\nkind = "end"\ntext = "ussd.bye"\n',
                        encoding="utf-8")

        message = gateway.refused("serve", env={"GATEWAY_SMPP_ENABLED": "false", "GATEWAY_HTTP_PORT": "0"})

        assert "menus/trees/optout.toml: start: no screen 'nowhere'" in message

    def test_serve_refuses_what_menus_check_reports_before_touching_the_database(self, gateway: Gateway) -> None:
        """Problems only the lint finds (a Khmer prompt over 80 UCS-2 characters, a screen nothing leads
        to) stop serve, and serve --workers, with the first line menus check prints and the count of the
        others; no database is created."""
        menus = gateway.own_menus()
        khmer = menus / "locales" / "km" / "selfcare.toml"
        text = khmer.read_text(encoding="utf-8")
        start = text.index("topup_number_prompt = ")
        end = text.index("\n", start)
        khmer.write_text(text[:start] + f'topup_number_prompt = "{LONG_KM}"' + text[end:], encoding="utf-8")
        tree = menus / "trees" / "optout.toml"
        tree.write_text(tree.read_text(encoding="utf-8") + '\n[screens.orphan]\nkind = "end"\ntext = "ussd.back"\n',
                        encoding="utf-8")
        fresh = gateway.tmp / "fresh.db"
        env = {"GATEWAY_SMPP_ENABLED": "false", "GATEWAY_HTTP_PORT": "0", "GATEWAY_DATABASE_PATH": str(fresh)}

        check = gateway("menus", "check", env=env, check=False)
        message = gateway.refused("serve", env=env)

        lines = check.stdout.splitlines()
        assert check.returncode == 2
        assert "menus/trees/optout.toml: screens.orphan: unreachable: no way leads here from start 'stop'" in lines
        khmer_lines = [line for line in lines if line.startswith(
            "menus/locales/km/selfcare.toml: selfcare.topup_number_prompt: ")]
        # The prompt is asked in the menu (selfcare:topup_number) and after *123*PIN*NUMBER# (topup:target).
        assert len(khmer_lines) == 2 and len(lines) == 3
        assert message == f"error: {lines[0]} (and {len(lines) - 1} more: 'ussd-gateway menus check' lists them)"
        # The supervisor of --workers refuses once, before it migrates or starts a worker (nothing
        # listens: the port is never bound).
        assert gateway.refused("serve", "--workers", "2", env={**env, "GATEWAY_HTTP_PORT": "18097"}) == message
        assert not fresh.exists()


class TestOutputAndMissingDatabase:
    def test_show_into_a_closed_pipe_exits_quietly(self, gateway: Gateway) -> None:
        """show | head that stops reading: no traceback, exit 141 as a command killed by SIGPIPE."""
        gateway("subscribers", "add", "012345678")
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader has gone before anything is written
        try:
            proc = subprocess.run([sys.executable, "-m", "gateway", "subscribers", "show", "012345678"],
                                  cwd=gateway.tmp, env=gateway.env, stdout=write_end, stderr=subprocess.PIPE,
                                  text=True, timeout=120)
        finally:
            os.close(write_end)

        assert proc.stderr == ""
        assert proc.returncode == 141

    @pytest.mark.parametrize("command", [
        ("subscribers", "show", "012345678"),
        ("subscribers", "unblock", "012345678"),
        ("subscribers", "unlock", "012345678"),
        ("promo", "grant", "012345678", "1"),
        ("lifecycle", "run"),
        ("campaign", "send", "--text", "hello", "--to", "012345678"),
        ("subscribers", "add", "012345678"),
        ("subscribers", "import", "subscribers.csv"),
        ("vouchers", "generate", "--count", "1", "--amount", "1", "--active-days", "30", "--out", "pins.csv"),
        ("vouchers", "import", "vouchers.csv"),
    ])
    def test_command_on_a_mistyped_database_path_creates_nothing(
        self, gateway: Gateway, command: tuple[str, ...]
    ) -> None:
        """Every command but db migrate, serve and demo refuses a database that does not exist, naming
        it and saying to run db migrate first; it creates no folder, no file and no PIN file."""
        gateway.csv("subscribers.csv", f"{HEADER}\n012345678,1.00,,,,\n")
        gateway.csv("vouchers.csv", "serial,pin,amount,active_days\nS1,12345678901234,1.00,30\n")
        mistyped = gateway.tmp / "vra" / "gateway.db"

        message = gateway.refused(*command, env={"GATEWAY_DATABASE_PATH": str(mistyped)})

        assert str(mistyped) in message and "run 'ussd-gateway db migrate' first" in message
        assert not mistyped.parent.exists() and not (gateway.tmp / "pins.csv").exists()


class TestBrokenProfile:
    def test_profile_that_is_not_text_names_the_file(self, gateway: Gateway) -> None:
        """An operator profile of bytes that are not UTF-8 is refused in one line naming the file."""
        profile = gateway.tmp / "mine.toml"
        profile.write_bytes(b"name = \"\xff\xfe\"\n")

        assert str(profile) in gateway.refused("db", "migrate", env={"GATEWAY_OPERATOR_PROFILE": str(profile)})

    def test_money_bound_that_is_not_an_amount_names_the_key(self, gateway: Gateway) -> None:
        """A profile maximum that is not an amount of the currency is refused naming limits.<key>."""
        shipped = (ROOT / "config" / "operators" / "smart-kh.toml").read_text(encoding="utf-8")
        profile = gateway.tmp / "mine.toml"
        profile.write_text(shipped.replace('max_balance = "1000.00"', 'max_balance = "lots"'), encoding="utf-8")

        message = gateway.refused("db", "migrate", env={"GATEWAY_OPERATOR_PROFILE": str(profile)})

        assert f"{profile}: limits.max_balance" in message
