"""``gateway.config.load_settings``: the embedded default, files, environment overrides, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings


class TestDefaults:
    def test_embedded_default_loads(self) -> None:
        """config/gateway.toml loads as-is and matches the documented defaults."""
        settings = load_settings(environ={})

        assert settings.source == str(DEFAULT_CONFIG)
        assert settings.operator.profile == "smart-kh"
        assert settings.http.port == 8080 and settings.smpp.port == 2775
        assert settings.http.allowed_networks == ("127.0.0.0/8", "::1/128")
        assert settings.smpp.enabled is True and settings.smpp.send_rate == 200.0

    def test_embedded_default_refuses_its_demo_secret_outside_demo(self) -> None:
        """The shipped PIN secret is the demo one, which require_pin_secret refuses by name."""
        with pytest.raises(ConfigError, match="security.pin_secret"):
            load_settings(environ={}).require_pin_secret()

    def test_an_empty_file_gives_the_dataclass_defaults(self, config_file: Callable[[str], Path]) -> None:
        """Every key is optional: an empty file is the defaults of the settings classes."""
        assert load_settings(config_file(""), environ={}) == Settings()


class TestEnvironmentOverrides:
    def test_each_type_is_parsed(self) -> None:
        """GATEWAY_<SECTION>_<KEY> overrides int, float, bool, str and list settings."""
        settings = load_settings(environ={
            "GATEWAY_HTTP_PORT": "9000",
            "GATEWAY_SMPP_SEND_RATE": "12.5",
            "GATEWAY_SMPP_ENABLED": "off",
            "GATEWAY_SMPP_HOST": "smsc.example",
            "GATEWAY_HTTP_ALLOWED_NETWORKS": "10.0.0.0/8, 192.168.1.0/24,",
            "GATEWAY_SECURITY_PIN_SECRET": "an-env-secret-0123456789",
        })

        assert settings.http.port == 9000
        assert settings.smpp.send_rate == 12.5
        assert settings.smpp.enabled is False
        assert settings.smpp.host == "smsc.example"
        assert settings.http.allowed_networks == ("10.0.0.0/8", "192.168.1.0/24")
        settings.require_pin_secret()
        dialects = load_settings(environ={"GATEWAY_HTTP_DIALECTS": "hubtel, madapi,"}).http.dialects
        assert dialects == ("hubtel", "madapi")

    @pytest.mark.parametrize(("text", "value"), [("1", True), ("YES", True), ("true", True), ("0", False),
                                                 ("False", False), ("no", False)])
    def test_boolean_spellings(self, text: str, value: bool) -> None:
        """Booleans accept the usual spellings in any case."""
        assert load_settings(environ={"GATEWAY_SMPP_ENABLED": text}).smpp.enabled is value

    def test_environment_beats_the_file(self, config_file: Callable[[str], Path]) -> None:
        """A variable overrides the same key in the file; other keys of the file stay."""
        path = config_file('[http]\nport = 7000\nhost = "0.0.0.0"\n')

        settings = load_settings(path, environ={"GATEWAY_HTTP_PORT": "7001"})

        assert (settings.http.host, settings.http.port) == ("0.0.0.0", 7001)

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("GATEWAY_HTTP_PORT", "x", "http.port (from GATEWAY_HTTP_PORT)"),
            ("GATEWAY_SMPP_SEND_RATE", "fast", "smpp.send_rate (from GATEWAY_SMPP_SEND_RATE)"),
            ("GATEWAY_SMPP_SEND_RATE", "nan", "smpp.send_rate: expected a finite number"),
            ("GATEWAY_SMPP_ENABLED", "maybe", "smpp.enabled (from GATEWAY_SMPP_ENABLED)"),
            ("GATEWAY_HTTP_PORT", "70000", "http.port: not a TCP port"),
            ("GATEWAY_HTTP_PROT", "1", "GATEWAY_HTTP_PROT: unknown setting"),
            ("GATEWAY_SMPP_PASSWORD", "123456789", "smpp.password: at most 8"),
            ("GATEWAY_HTTP_DIALECTS", "hubtel,vodacom", "http.dialects: unknown dialect 'vodacom'"),
        ],
    )
    def test_errors_name_the_key(self, name: str, value: str, message: str) -> None:
        """A bad or unknown variable is refused with the key (and variable) in the message."""
        with pytest.raises(ConfigError) as info:
            load_settings(environ={name: value})
        assert str(info.value).startswith(message)

    def test_the_simulator_section_is_skipped(self, config_file: Callable[[str], Path]) -> None:
        """[simulator] and GATEWAY_SIMULATOR_* are the SMSC simulator's (tests/simulator/test_settings.py)."""
        path = config_file('[simulator]\nsyserr_ratio = 1.5\nunknown = "x"\n[simulator.accounts]\nbank = 1\n')
        assert load_settings(path, environ={"GATEWAY_SIMULATOR_PROT": "1"}) == Settings()

    def test_other_variables_are_ignored(self) -> None:
        """Only the GATEWAY_ prefix is ours; PATH, HOME and the like do not matter."""
        assert load_settings(environ={"PATH": "/bin", "GATEWAYX": "1"}).http.port == 8080


class TestFileErrors:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ('[http]\nport = "x"\n', "http.port: expected an integer, got 'x'"),
            ("[http]\nport = true\n", "http.port: expected an integer"),
            ("[smpp]\nenabled = 1\n", "smpp.enabled: expected true or false"),
            ("[smpp]\nsend_rate = nan\n", "smpp.send_rate: expected a finite number"),
            ("[smpp]\nsend_rate = inf\n", "smpp.send_rate: expected a finite number"),
            ("[smpp]\nsend_rate = 0\n", "smpp.send_rate: must be greater than 0"),
            ("[smpp]\ninbox_text_retention_days = -1\n", "smpp.inbox_text_retention_days: must not be negative"),
            ("[smpp]\nbinds = -1\n", "smpp.binds: must not be negative"),
            ("[smpp]\noutbox_lease = 20\n", "smpp.outbox_lease: must be at least 22.56 seconds"),
            ('[http]\nallowed_networks = "127.0.0.1"\n', "http.allowed_networks: expected a list"),
            ('[http]\nallowed_networks = ["nowhere"]\n', "http.allowed_networks: 'nowhere' is not a network"),
            ("[http]\nmax_connections = 0\n", "http.max_connections: must be greater than 0"),
            ("[http]\nbody_timeout = -1.0\n", "http.body_timeout: must be greater than 0"),
            ("[http]\nprot = 1\n", "http.prot: unknown key"),
            ('[http]\ndialects = ["hubtel", "twilio"]\n', "http.dialects: unknown dialect 'twilio'"),
            ('[http]\ndialects = "hubtel"\n', "http.dialects: expected a list of strings"),
            ('[http]\ndialect = "nalo2"\n', "http.dialect: unknown dialect 'nalo2'"),
            ("[htp]\n", "htp: unknown section"),
            ("http = 1\n", "http: expected a table"),
            ('[database]\nsynchronous = "off"\n', "database.synchronous"),
            ('[database]\nurl = "mysql://gw@db/gw"\n', "database.url: must start with postgresql://"),
            ('[database]\nurl = "postgresql://gw@db:port/gw"\n', "database.url: not a valid URL"),
            ('[database]\nurl = "postgresql://gw@db:5432"\n', "database.url: names no database"),
            ('[database]\nurl = "postgresql:///gw"\n', "database.url: names no host"),
            ("[database]\nurl = 5432\n", "database.url: expected a string"),
            ('[logging]\nlevel = "loud"\n', "logging.level"),
        ],
    )
    def test_errors_name_the_key(self, config_file: Callable[[str], Path], text: str, message: str) -> None:
        """Wrong types, bad values, unknown keys and sections are refused naming the key."""
        with pytest.raises(ConfigError) as info:
            load_settings(config_file(text), environ={})
        assert str(info.value).startswith(message)

    def test_unreadable_and_invalid_files(self, tmp_path: Path, config_file: Callable[[str], Path]) -> None:
        """A missing file or broken TOML is refused naming the file."""
        with pytest.raises(ConfigError, match="cannot read"):
            load_settings(tmp_path / "missing.toml", environ={})
        path = config_file("[http\n")
        with pytest.raises(ConfigError, match=f"{path}: not valid TOML"):
            load_settings(path, environ={})

    @pytest.mark.parametrize("url", ["postgres://gw:hunter2-pw@db/gw", "postgresql://gw:hunter2-pw@db:x/gw",
                                     "postgresql://gw@db?password=hunter2-pw"])
    def test_database_url_refusal_never_shows_its_password(self, url: str) -> None:
        """A refused [database] url is quoted with its password masked (the refusal reaches logs)."""
        with pytest.raises(ConfigError, match="^database.url: ") as info:
            load_settings(environ={"GATEWAY_DATABASE_URL": url})
        assert "hunter2-pw" not in str(info.value)
        assert "***" in str(info.value)

    def test_the_test_suites_variables_are_not_settings(self) -> None:
        """GATEWAY_TEST_* (the suite's PostgreSQL, set by CI) never stops the gateway from starting."""
        environ = {"GATEWAY_TEST_POSTGRES_URL": "postgresql://gw@db/gw", "GATEWAY_TEST_REQUIRE_POSTGRES": "1"}
        assert load_settings(environ=environ).database.url == ""
        with pytest.raises(ConfigError, match="^GATEWAY_TESTING: unknown setting"):
            load_settings(environ={"GATEWAY_TESTING": "1"})

    def test_database_url_selects_postgresql(self) -> None:
        """A postgresql:// URL (from GATEWAY_DATABASE_URL) is taken as it is; empty means SQLite."""
        url = "postgresql://gw:pw@db.example:6432/gateway?sslmode=require"
        assert load_settings(environ={"GATEWAY_DATABASE_URL": url}).database.url == url
        assert load_settings(environ={}).database.url == ""

    @pytest.mark.parametrize(("secret", "reason"), [("", "required"), ("short", "at least 16"),
                                                     ("demo-only-not-a-secret", "demo")])
    def test_pin_secret_checks(self, secret: str, reason: str) -> None:
        """require_pin_secret refuses a missing, short or demo secret, naming security.pin_secret."""
        settings = load_settings(environ={"GATEWAY_SECURITY_PIN_SECRET": secret})
        with pytest.raises(ConfigError, match=f"^security.pin_secret: .*{reason}"):
            settings.require_pin_secret()


class TestAdminConsole:
    """``[admin]``: the console is off without a token; a token that would not protect it is refused."""

    OPERATOR = "operator-token-0123456789"
    VIEWER = "viewer-token-0123456789"

    def test_off_by_default_on_loopback(self) -> None:
        """The shipped file has no token (no console) and keeps the console on 127.0.0.1:8026."""
        admin = load_settings(environ={}).admin
        assert (admin.enabled, admin.host, admin.port, admin.viewer_token) == (False, "127.0.0.1", 8026, "")

    def test_tokens_from_the_environment_turn_it_on(self) -> None:
        """GATEWAY_ADMIN_TOKEN and GATEWAY_ADMIN_VIEWER_TOKEN set the two roles."""
        admin = load_settings(environ={"GATEWAY_ADMIN_TOKEN": self.OPERATOR,
                                       "GATEWAY_ADMIN_VIEWER_TOKEN": self.VIEWER}).admin
        assert admin.enabled and (admin.token, admin.viewer_token) == (self.OPERATOR, self.VIEWER)

    @pytest.mark.parametrize(
        ("environ", "message"),
        [
            ({"GATEWAY_ADMIN_TOKEN": "short"}, "admin.token: at least 16 characters"),
            ({"GATEWAY_ADMIN_TOKEN": "has a space in it 0123"}, "admin.token: printable ASCII"),
            ({"GATEWAY_ADMIN_VIEWER_TOKEN": VIEWER}, "admin.viewer_token: needs admin.token"),
            ({"GATEWAY_ADMIN_TOKEN": OPERATOR, "GATEWAY_ADMIN_VIEWER_TOKEN": OPERATOR},
             "admin.viewer_token: must differ from admin.token"),
            ({"GATEWAY_ADMIN_TOKEN": OPERATOR, "GATEWAY_HTTP_TOKEN": OPERATOR},
             "admin.token: must differ from http.token"),
            ({"GATEWAY_ADMIN_TOKEN": OPERATOR, "GATEWAY_ADMIN_PORT": "8080"}, "admin.port: 8080 is http.port"),
            ({"GATEWAY_ADMIN_PORT": "70000"}, "admin.port: not a TCP port"),
            ({"GATEWAY_ADMIN_SESSION_MINUTES": "0"}, "admin.session_minutes: must be greater than 0"),
            ({"GATEWAY_ADMIN_TOKN": "x"}, "GATEWAY_ADMIN_TOKN: unknown setting"),
        ],
    )
    def test_misconfiguration_is_refused_naming_the_key(self, environ: dict[str, str], message: str) -> None:
        """Each refusal names the key, and never quotes a token."""
        with pytest.raises(ConfigError, match=message) as caught:
            load_settings(environ=environ)
        assert self.OPERATOR not in str(caught.value) and self.VIEWER not in str(caught.value)
