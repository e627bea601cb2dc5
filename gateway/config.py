"""Settings: one frozen object, loaded once, validated once.

The file is ``config/gateway.toml`` (in an installed package, its own copy:
``CONFIG_DIR``) unless ``--config`` names another; every
scalar key can be overridden from the environment as
``GATEWAY_<SECTION>_<KEY>`` (upper case), e.g. ``GATEWAY_HTTP_PORT=9000``.

Each section is a frozen dataclass below; its fields *are* the schema: the
loader refuses unknown keys and values of the wrong type, naming the key
(``http.port: expected an integer, got 'abc'``). To add a setting, add a
documented field with a default to the section and the key to
``config/gateway.toml``.

The operator profile (codes, currency, time zone, periods and limits) lives
in ``config/operators/<name>.toml`` and is loaded by ``gateway.profile``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import tomllib
import types
import typing
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where an installed package keeps its copy of ``config/`` (``setup.py`` puts it there when the
#: wheel is built; a checkout has none).
PACKAGED_CONFIG_DIR = Path(__file__).resolve().parent / "defaults"
#: The embedded default configuration and operator profiles: the package's copy when installed,
#: else the repository's ``config/``.
CONFIG_DIR = PACKAGED_CONFIG_DIR if (PACKAGED_CONFIG_DIR / "gateway.toml").is_file() else PROJECT_ROOT / "config"
DEFAULT_CONFIG = CONFIG_DIR / "gateway.toml"

#: The PIN secret shipped in the embedded default. Only ``demo`` accepts it.
DEMO_PIN_SECRET = "demo-only-not-a-secret"
MIN_PIN_SECRET_LENGTH = 16
#: USSD centres over SMPP whose session rules ``gateway.smpp.vendors`` knows (``[smpp] ussd_vendor``).
USSD_VENDORS = ("generic", "sixdee", "mica", "msisdn")


#: The aggregator conventions ``gateway.ussd`` speaks (``[http] dialect`` and ``dialects``).
HTTP_DIALECTS = ("africastalking", "hubtel", "nalo", "arkesel", "madapi")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: the only form a message or log may show."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    masked = parts
    if parts.password is not None:
        user = parts.username or ""
        masked = parts._replace(netloc=f"{user}:***@{parts.netloc.rpartition('@')[2]}")
    query = urllib.parse.parse_qsl(masked.query, keep_blank_values=True)
    if any(key == "password" for key, _ in query):
        masked = masked._replace(query="&".join(
            f"{key}=***" if key == "password" else f"{key}={value}" for key, value in query))
    return url if masked == parts else urllib.parse.urlunsplit(masked)


def database_url_problem(url: str) -> str | None:
    """Why ``[database] url`` cannot be used (None: it can). Never quotes a password."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        return f"not a valid URL ({exc}): {mask_url(url)!r}"
    if parts.scheme != "postgresql":
        return f"must start with postgresql:// (postgresql://user@host:port/db), got {mask_url(url)!r}"
    if not parts.hostname and "host=" not in parts.query:
        return f"names no host (postgresql://user@host:port/db): {mask_url(url)!r}"
    if not parts.path.strip("/"):
        return f"names no database (postgresql://user@host:port/db): {mask_url(url)!r}"
    return None


@dataclass(frozen=True)
class OperatorSettings:
    #: Name of ``config/operators/<profile>.toml``, or a path to a profile file.
    profile: str = "smart-kh"


@dataclass(frozen=True)
class DatabaseSettings:
    #: SQLite file; relative paths are relative to the working directory.
    path: str = "var/gateway.db"
    #: ``postgresql://user[:password]@host[:port]/database[?param=value]`` selects
    #: PostgreSQL (several gateways on one database) instead of ``path``; empty: SQLite.
    url: str = ""
    #: How long a statement waits for another writer's lock before giving up.
    busy_timeout_ms: int = 5000
    #: SQLite ``synchronous`` pragma: ``full`` (fsync every commit) or ``normal``
    #: (WAL: durable against a process crash, not against power loss).
    synchronous: str = "full"


@dataclass(frozen=True)
class HttpSettings:
    #: Address the USSD endpoint listens on.
    host: str = "127.0.0.1"
    port: int = 8080
    #: Source networks allowed to call ``/ussd`` (CIDR). Empty: no network check.
    allowed_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    #: Bearer token the aggregator must send; empty: no token check.
    token: str = ""
    #: Largest request body accepted on ``/ussd``, in bytes.
    max_body_bytes: int = 4096
    #: USSD dialect of the aggregator on ``POST /ussd``.
    dialect: str = "africastalking"
    #: Dialects also served, each on ``POST /ussd/<dialect>`` (the same access checks and limits).
    dialects: tuple[str, ...] = ()
    #: Source networks allowed to read ``/metrics`` (CIDR). Empty: anyone.
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    #: Characters on one USSD screen of the dialect: GSM 7-bit text, and text
    #: that needs UCS-2 (Khmer). Longer screens are split into pages.
    screen_chars_gsm: int = 182
    screen_chars_ucs2: int = 80
    #: Most connections open at once. At the cap a new connection closes the one
    #: quiet longest that is not being answered, so idle and slow connections
    #: cannot lock callers out; ``serve`` keeps it under its file descriptor limit.
    max_connections: int = 2000
    #: Seconds a connection may stay idle before and between requests; also the
    #: longest a request line and its headers may take (aiohttp times both with
    #: one timer). Longer than aggregators' pool idle times, short enough that
    #: abandoned connections go.
    keepalive_timeout: float = 30.0
    #: Seconds a request body may take to arrive after its headers (a USSD form
    #: is a few hundred bytes and usually comes with them): then ``408`` and close.
    body_timeout: float = 10.0


@dataclass(frozen=True)
class SmppSettings:
    #: Bind to the SMSC at all (``serve`` answers USSD either way).
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 2775
    #: At most 15 characters (SMPP 3.4).
    system_id: str = "selfcare"
    #: At most 8 characters (SMPP 3.4).
    password: str = "secret"
    system_type: str = ""
    #: Seconds between enquire_link keep-alives.
    enquire_link_interval: float = 30.0
    #: Reconnect backoff bounds, in seconds.
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    #: Outbound submit_sm per second, and how many may await a response at once.
    send_rate: float = 200.0
    window: int = 64
    #: Seconds to open the TCP connection and get the bind answered.
    connect_timeout: float = 5.0
    #: Seconds a submit_sm may wait for its response before it is tried again.
    response_timeout: float = 10.0
    #: Tries before an outbox message is given up as ``failed`` (throttled answers
    #: and dropped links do not count).
    max_attempts: int = 10
    #: Longest wait between two tries of one message, in seconds.
    retry_max: float = 300.0
    #: Outbox rows the sender claims per transaction.
    claim_batch: int = 256
    #: Seconds between outbox polls when idle (messages queued by another process).
    outbox_poll_interval: float = 0.5
    #: Seconds after a link dropped (or the gateway stopped) with MO unacknowledged during which
    #: an identical PDU is taken for the SMSC's redelivery: stored as such, not answered again.
    mo_dedupe_window: float = 120.0
    #: Days the (sealed) text of an answered MO is kept; then only the row remains.
    inbox_text_retention_days: float = 30.0
    #: With ``serve --workers N``: how many workers keep an SMPP bind (workers 0..binds-1);
    #: 0 = every worker. The others answer USSD and queue SMS; the bound ones send them.
    binds: int = 0
    #: Seconds an outbox row claimed by one process stays its own; after that another
    #: process may send it (its claimant died). It must outlast the longest a claimed row
    #: waits to be sent and answered (``claim_batch / send_rate + response_timeout``), twice
    #: over, or a slow but live sender's rows would be sent a second time.
    outbox_lease: float = 120.0
    #: The SMSC is also a USSD centre: a deliver_sm carrying ``ussd_service_op`` is a USSD
    #: message, answered at once on the same bind by the dialogues (not the SMS keywords).
    ussd: bool = False
    #: How the USSD centre names a dialogue and says the subscriber hung up: ``generic``
    #: (SMPP 3.4 ``its_session_info``), ``sixdee``, ``mica`` or ``msisdn`` (``gateway.smpp.vendors``).
    ussd_vendor: str = "generic"


@dataclass(frozen=True)
class SimulatorSettings:
    #: SMPP listener of ``smsc-sim``.
    host: str = "127.0.0.1"
    port: int = 2775
    #: Control API and web page (loopback by default).
    control_host: str = "127.0.0.1"
    control_port: int = 8025
    #: Extra ESME accounts: ``system_id = "password"``. The ``[smpp]`` account is
    #: always accepted too.
    accounts: Mapping[str, str] = field(default_factory=dict)
    #: Seconds before a delivery receipt is sent.
    receipt_delay: float = 0.2
    #: Share of receipts per final state; the rest are DELIVRD.
    undeliverable_ratio: float = 0.0
    expired_ratio: float = 0.0
    #: Fault injection: submit_sm per second before ESME_RTHROTTLED (0: no cap),
    #: share answered ESME_RSYSERR, in-flight limit (0: none), response delay in
    #: seconds, and drop the connection after this many PDUs (0: never).
    throttle_rate: float = 0.0
    syserr_ratio: float = 0.0
    window_limit: int = 0
    response_delay: float = 0.0
    drop_after: int = 0
    #: Submitted messages kept in memory for ``GET /mt``; the oldest half is
    #: dropped beyond this, so a load test cannot exhaust memory.
    max_stored_mt: int = 100_000
    #: Bind responses name the simulator with this system id.
    smsc_system_id: str = "SMSCSIM"
    #: USSD gateway the web page's phone talks to.
    gateway_url: str = "http://127.0.0.1:8080/ussd"
    #: The USSD centre's vendor rules (``POST /ussd/dial`` over SMPP): one of ``smpp.ussd_vendor``'s.
    ussd_vendor: str = "generic"
    #: Seconds the USSD centre waits for the gateway's next screen (then 504, the dialogue ends).
    ussd_timeout: float = 10.0


@dataclass(frozen=True)
class JobsSettings:
    """Background work of ``serve``."""

    #: Seconds between life-cycle runs (expiry, barring, recycling, reminders).
    lifecycle_interval_seconds: float = 300.0
    #: Seconds between sweeps that forget expired USSD sessions.
    session_sweep_seconds: float = 60.0
    #: Seconds between reads of what the database holds for ``/metrics`` (outbox depth and
    #: waiting time, overdue receipts, campaign progress, lockouts; ``gateway.monitoring``).
    figures_interval_seconds: float = 15.0
    #: Minutes a submitted SMS may wait for its delivery receipt before it counts as overdue
    #: (``selfcare_sms_receipts_overdue``): SMSCs send most receipts within seconds.
    receipt_overdue_minutes: float = 10.0


@dataclass(frozen=True)
class SecuritySettings:
    #: Key of the HMAC-SHA256 that voucher PINs and ID numbers are stored under.
    #: Required (at least 16 characters) outside ``demo``.
    pin_secret: str = ""


@dataclass(frozen=True)
class LoggingSettings:
    #: ``debug``, ``info``, ``warning`` or ``error``.
    level: str = "info"
    #: ``auto`` (console on a terminal, JSON otherwise), ``json`` or ``console``.
    format: str = "auto"


@dataclass(frozen=True)
class AdminSettings:
    """The operator console (``gateway.console``): off unless ``token`` is set."""

    #: Address the console listens on. Loopback by default: it shows subscribers' data. Anywhere
    #: else it must sit behind TLS (its session cookie is then marked ``Secure``).
    host: str = "127.0.0.1"
    port: int = 8026
    #: Bearer token (or sign-in) of the operator role: sees whole numbers and may act
    #: (resolve disputes, close complaints). Empty: no console. At least 16 characters.
    token: str = ""
    #: Bearer token of the viewer role: reads everything with numbers masked, acts on nothing.
    #: Empty: no viewer. At least 16 characters, and not the operator's.
    viewer_token: str = ""
    #: Minutes a browser stays signed in after signing in with a token.
    session_minutes: float = 480.0

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class Settings:
    operator: OperatorSettings = field(default_factory=OperatorSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    smpp: SmppSettings = field(default_factory=SmppSettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    #: The file the settings came from (not a key).
    source: str = field(default="", compare=False)

    def require_pin_secret(self) -> None:
        """Refuse a missing, short or demo PIN secret (everything but ``demo``)."""
        secret = self.security.pin_secret
        if not secret:
            raise ConfigError(
                "security.pin_secret: required (set it in the config file or "
                "GATEWAY_SECURITY_PIN_SECRET)"
            )
        if secret == DEMO_PIN_SECRET:
            raise ConfigError(
                "security.pin_secret: the demo secret is only accepted by 'demo'"
            )
        if len(secret) < MIN_PIN_SECRET_LENGTH:
            raise ConfigError(
                f"security.pin_secret: at least {MIN_PIN_SECRET_LENGTH} characters"
            )


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file, apply ``GATEWAY_*`` overrides, validate everything.

    Raises:
        ConfigError: unreadable file, bad TOML, unknown key, wrong type.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG
    environ = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    sections: dict[str, Any] = {}
    hints = typing.get_type_hints(Settings)
    known = {f.name for f in dataclasses.fields(Settings) if f.name != "source"}
    for name in raw:
        if name not in known:
            raise ConfigError(f"{name}: unknown section")
    for name in sorted(known):
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: expected a table")
        sections[name] = _build_section(name, hints[name], table, environ)
    _check_env_keys(environ, known)
    settings = Settings(**sections, source=str(path))
    _validate(settings)
    return settings


def _build_section(
    section: str, cls: type, table: dict[str, Any], environ: Mapping[str, str]
) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in names:
            raise ConfigError(f"{section}.{key}: unknown key")
    values: dict[str, Any] = {}
    for name in names:
        dotted = f"{section}.{name}"
        env_name = f"GATEWAY_{section}_{name}".upper()
        if env_name in environ:
            values[name] = _from_env(dotted, hints[name], environ[env_name])
        elif name in table:
            values[name] = _coerce(dotted, hints[name], table[name])
    return cls(**values)


def _check_env_keys(environ: Mapping[str, str], sections: set[str]) -> None:
    """A misspelt GATEWAY_ variable is refused rather than silently ignored."""
    valid = {
        f"GATEWAY_{s}_{f.name}".upper()
        for s in sections
        for f in dataclasses.fields(typing.get_type_hints(Settings)[s])
    }
    for name in environ:
        # GATEWAY_TEST_*: the test suite's own (its PostgreSQL server); no section is named "test".
        if name.startswith("GATEWAY_") and name not in valid and not name.startswith("GATEWAY_TEST_"):
            raise ConfigError(f"{name}: unknown setting")


def _coerce(key: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _finite(key, float(value))
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if origin is tuple:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
    if origin in (Mapping, dict, typing.Mapping):
        if isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return types.MappingProxyType(dict(value))
        raise ConfigError(f"{key}: expected a table of strings, got {value!r}")
    raise ConfigError(f"{key}: unsupported setting type {hint!r}")  # pragma: no cover


def _from_env(key: str, hint: Any, text: str) -> Any:
    env = f"GATEWAY_{key.replace('.', '_').upper()}"
    try:
        if hint is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if hint is int:
            return int(text)
        if hint is float:
            return _finite(key, float(text))
        if hint is str:
            return text
        if typing.get_origin(hint) is tuple:
            return tuple(part.strip() for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{key} (from {env}): {text!r} is not a valid {_type_name(hint)}") from None
    raise ConfigError(f"{env}: {key} cannot be set from the environment")


def _finite(key: str, value: float) -> float:
    # TOML and float() both accept nan and inf, which slip past every
    # "greater than 0" and "between 0 and 1" check below.
    if not math.isfinite(value):
        raise ConfigError(f"{key}: expected a finite number, got {value!r}")
    return value


def _type_name(hint: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number"}.get(hint, "value")


def _validate(settings: Settings) -> None:
    def positive(key: str, value: float) -> None:
        if value <= 0:
            raise ConfigError(f"{key}: must be greater than 0, got {value}")

    def port(key: str, value: int) -> None:
        if not 0 <= value <= 65535:
            raise ConfigError(f"{key}: not a TCP port: {value}")

    def ratio(key: str, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{key}: must be between 0 and 1, got {value}")

    port("http.port", settings.http.port)
    port("smpp.port", settings.smpp.port)
    port("simulator.port", settings.simulator.port)
    port("simulator.control_port", settings.simulator.control_port)
    positive("http.max_body_bytes", settings.http.max_body_bytes)
    positive("http.screen_chars_gsm", settings.http.screen_chars_gsm)
    positive("http.screen_chars_ucs2", settings.http.screen_chars_ucs2)
    for key in ("max_connections", "keepalive_timeout", "body_timeout"):
        positive(f"http.{key}", getattr(settings.http, key))
    positive("jobs.lifecycle_interval_seconds", settings.jobs.lifecycle_interval_seconds)
    positive("jobs.session_sweep_seconds", settings.jobs.session_sweep_seconds)
    positive("jobs.figures_interval_seconds", settings.jobs.figures_interval_seconds)
    positive("jobs.receipt_overdue_minutes", settings.jobs.receipt_overdue_minutes)
    positive("database.busy_timeout_ms", settings.database.busy_timeout_ms)
    positive("smpp.enquire_link_interval", settings.smpp.enquire_link_interval)
    positive("smpp.reconnect_min", settings.smpp.reconnect_min)
    positive("smpp.reconnect_max", settings.smpp.reconnect_max)
    positive("smpp.send_rate", settings.smpp.send_rate)
    positive("smpp.window", settings.smpp.window)
    for key in ("connect_timeout", "response_timeout", "max_attempts", "retry_max", "claim_batch",
                "outbox_poll_interval", "mo_dedupe_window"):
        positive(f"smpp.{key}", getattr(settings.smpp, key))
    if settings.smpp.inbox_text_retention_days < 0:
        raise ConfigError("smpp.inbox_text_retention_days: must not be negative")
    if settings.smpp.binds < 0:
        raise ConfigError("smpp.binds: must not be negative (0 = every worker binds)")
    smpp = settings.smpp
    held = smpp.claim_batch / smpp.send_rate + smpp.response_timeout
    if smpp.outbox_lease < 2 * held:
        raise ConfigError(f"smpp.outbox_lease: must be at least {2 * held:g} seconds (twice claim_batch / "
                          "send_rate + response_timeout), or a live sender's messages could be sent twice")
    positive("simulator.max_stored_mt", settings.simulator.max_stored_mt)
    for key in ("receipt_delay", "throttle_rate", "window_limit", "response_delay", "drop_after"):
        if getattr(settings.simulator, key) < 0:
            raise ConfigError(f"simulator.{key}: must not be negative")
    for key in ("undeliverable_ratio", "expired_ratio", "syserr_ratio"):
        ratio(f"simulator.{key}", getattr(settings.simulator, key))
    if settings.database.url:
        problem = database_url_problem(settings.database.url)
        if problem is not None:
            raise ConfigError(f"database.url: {problem}")
    if settings.database.synchronous not in ("full", "normal"):
        raise ConfigError("database.synchronous: must be 'full' or 'normal'")
    if settings.logging.level not in ("debug", "info", "warning", "error"):
        raise ConfigError("logging.level: must be debug, info, warning or error")
    if settings.logging.format not in ("auto", "json", "console"):
        raise ConfigError("logging.format: must be auto, json or console")
    for key in ("smpp.ussd_vendor", "simulator.ussd_vendor"):
        section, name = key.split(".")
        vendor = getattr(getattr(settings, section), name)
        if vendor not in USSD_VENDORS:
            raise ConfigError(f"{key}: unknown USSD vendor {vendor!r} (one of {', '.join(USSD_VENDORS)})")
    positive("simulator.ussd_timeout", settings.simulator.ussd_timeout)
    if len(settings.smpp.system_id) > 15:
        raise ConfigError("smpp.system_id: at most 15 characters")
    if len(settings.smpp.password) > 8:
        raise ConfigError("smpp.password: at most 8 characters")
    for system_id, password in settings.simulator.accounts.items():
        if len(system_id) > 15 or len(password) > 8:
            raise ConfigError(
                f"simulator.accounts.{system_id}: system id ≤ 15 and password ≤ 8 characters"
            )
    if settings.http.dialect not in HTTP_DIALECTS:
        raise ConfigError(f"http.dialect: unknown dialect {settings.http.dialect!r} "
                          f"(one of {', '.join(HTTP_DIALECTS)})")
    for name in settings.http.dialects:
        if name not in HTTP_DIALECTS:
            raise ConfigError(f"http.dialects: unknown dialect {name!r} (any of {', '.join(HTTP_DIALECTS)})")
    for key in ("allowed_networks", "metrics_networks"):
        for network in getattr(settings.http, key):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"http.{key}: {network!r} is not a network") from None
    _validate_admin(settings)


#: The shortest console token accepted: a token is the whole of the console's protection.
MIN_ADMIN_TOKEN_LENGTH = 16


def _validate_admin(settings: Settings) -> None:
    """``[admin]``: checked whether or not the console is on, so a mistake shows before it is turned on.

    Never quotes a token: the message names the key only.
    """
    admin = settings.admin
    if not 0 <= admin.port <= 65535:
        raise ConfigError(f"admin.port: not a TCP port: {admin.port}")
    if admin.session_minutes <= 0:
        raise ConfigError(f"admin.session_minutes: must be greater than 0, got {admin.session_minutes}")
    if not admin.host.strip():
        raise ConfigError("admin.host: must not be empty (127.0.0.1 keeps the console on this machine)")
    for key in ("token", "viewer_token"):
        token = getattr(admin, key)
        if not token:
            continue
        if len(token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ConfigError(f"admin.{key}: at least {MIN_ADMIN_TOKEN_LENGTH} characters")
        if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
            raise ConfigError(f"admin.{key}: printable ASCII without spaces (it travels in an HTTP header)")
    if admin.viewer_token and not admin.token:
        raise ConfigError("admin.viewer_token: needs admin.token (the console is off without it)")
    if admin.token and admin.token == admin.viewer_token:
        raise ConfigError("admin.viewer_token: must differ from admin.token (a viewer would act as the operator)")
    if admin.token and admin.token == settings.http.token:
        raise ConfigError("admin.token: must differ from http.token (the aggregator would be the operator)")
    if admin.viewer_token and admin.viewer_token == settings.http.token:
        raise ConfigError("admin.viewer_token: must differ from http.token")
    if admin.token and admin.port != 0 and admin.port == settings.http.port and admin.host == settings.http.host:
        raise ConfigError(f"admin.port: {admin.port} is http.port too; the console needs a port of its own")
