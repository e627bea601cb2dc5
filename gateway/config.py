"""Settings: one frozen object, loaded once, validated once.

The file is ``config/gateway.toml`` (in an installed package, its own copy:
``CONFIG_DIR``) unless ``--config`` names another; every
scalar key can be overridden from the environment as
``GATEWAY_<SECTION>_<KEY>`` (upper case), e.g. ``GATEWAY_HTTP_PORT=9000``.

Each section is a frozen dataclass below; its fields *are* the schema, their
constraints written on the type (``Port``, ``Positive``, ``must(...)``): msgspec
converts the file (``gateway.configfile``), refusing unknown keys, wrong types and
broken bounds naming the key (``http.port: expected an integer, got 'abc'``); the
checks across keys are in ``_validate``. To add a setting, add a documented field
with a default to the section and the key to ``config/gateway.toml``.

The ``[simulator]`` section of the same file belongs to the SMSC simulator, which
reads it with its own settings; the gateway skips it.

The operator profile (codes, currency, time zone, periods and limits) lives
in ``config/operators/<name>.toml`` and is loaded by ``gateway.profile``.
"""

from __future__ import annotations

import ipaddress
import os
import typing
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

from gateway.configfile import (
    CONFIG_DIR,
    DEFAULT_CONFIG,
    ConfigError,
    Port,
    Positive,
    PositiveInt,
    convert,
    from_environment,
    must,
    read_toml,
    variables,
)

# Defined with the loading mechanics (gateway.configfile), which the simulator's settings share.
__all__ = ["CONFIG_DIR", "DEFAULT_CONFIG", "ConfigError"]

#: The PIN secret shipped in the embedded default. Only ``demo`` accepts it.
DEMO_PIN_SECRET = "demo-only-not-a-secret"
MIN_PIN_SECRET_LENGTH = 16
#: USSD centres over SMPP whose session rules ``gateway.smpp.vendors`` knows (``[smpp] ussd_vendor``).
UssdVendor = Literal["generic", "sixdee", "mica", "msisdn"]
USSD_VENDORS: tuple[str, ...] = typing.get_args(UssdVendor)
#: The aggregator conventions ``gateway.ussd`` speaks (``[http] dialect`` and ``dialects``).
HttpDialect = Literal["africastalking", "hubtel", "nalo", "arkesel", "madapi"]
HTTP_DIALECTS: tuple[str, ...] = typing.get_args(HttpDialect)
#: Sections of ``gateway.toml`` that other programs of the distribution read (the SMSC simulator's):
#: the gateway neither checks them nor refuses their ``GATEWAY_<SECTION>_*`` variables.
OTHER_SECTIONS = ("simulator",)

# The constraints the sections' fields share, each with its refusal.
Dialect = Annotated[HttpDialect, must(f"unknown dialect {{value!r}} (one of {', '.join(HTTP_DIALECTS)})", choice=True)]
AlsoDialect = Annotated[HttpDialect, must(f"unknown dialect {{value!r}} (any of {', '.join(HTTP_DIALECTS)})",
                                          choice=True)]
Synchronous = Annotated[Literal["full", "normal"], must("must be 'full' or 'normal'", choice=True)]
LogLevel = Annotated[Literal["debug", "info", "warning", "error"],
                     must("must be debug, info, warning or error", choice=True)]
LogFormat = Annotated[Literal["auto", "json", "console"], must("must be auto, json or console", choice=True)]
Vendor = Annotated[UssdVendor, must(f"unknown USSD vendor {{value!r}} (one of {', '.join(USSD_VENDORS)})",
                                    choice=True)]


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
    busy_timeout_ms: PositiveInt = 5000
    #: SQLite ``synchronous`` pragma: ``full`` (fsync every commit) or ``normal``
    #: (WAL: durable against a process crash, not against power loss).
    synchronous: Synchronous = "full"


@dataclass(frozen=True)
class HttpSettings:
    #: Address the USSD endpoint listens on.
    host: str = "127.0.0.1"
    port: Port = 8080
    #: Source networks allowed to call ``/ussd`` (CIDR). Empty: no network check.
    allowed_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    #: Bearer token the aggregator must send; empty: no token check.
    token: str = ""
    #: Largest request body accepted on ``/ussd``, in bytes.
    max_body_bytes: PositiveInt = 4096
    #: USSD dialect of the aggregator on ``POST /ussd``.
    dialect: Dialect = "africastalking"
    #: Dialects also served, each on ``POST /ussd/<dialect>`` (the same access checks and limits).
    dialects: tuple[AlsoDialect, ...] = ()
    #: Source networks allowed to read ``/metrics`` (CIDR). Empty: anyone.
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    #: Characters on one USSD screen of the dialect: GSM 7-bit text, and text
    #: that needs UCS-2 (Khmer). Longer screens are split into pages.
    screen_chars_gsm: PositiveInt = 182
    screen_chars_ucs2: PositiveInt = 80
    #: Most connections open at once. At the cap a new connection closes the one
    #: quiet longest that is not being answered, so idle and slow connections
    #: cannot lock callers out; ``serve`` keeps it under its file descriptor limit.
    max_connections: PositiveInt = 2000
    #: Seconds a connection may stay idle before and between requests; also the
    #: longest a request line and its headers may take (aiohttp times both with
    #: one timer). Longer than aggregators' pool idle times, short enough that
    #: abandoned connections go.
    keepalive_timeout: Positive = 30.0
    #: Seconds a request body may take to arrive after its headers (a USSD form
    #: is a few hundred bytes and usually comes with them): then ``408`` and close.
    body_timeout: Positive = 10.0


@dataclass(frozen=True)
class SmppSettings:
    #: Bind to the SMSC at all (``serve`` answers USSD either way).
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 2775
    #: At most 15 characters (SMPP 3.4).
    system_id: Annotated[str, must("at most 15 characters", max_length=15)] = "selfcare"
    #: At most 8 characters (SMPP 3.4).
    password: Annotated[str, must("at most 8 characters", max_length=8)] = "secret"
    system_type: str = ""
    #: Seconds between enquire_link keep-alives.
    enquire_link_interval: Positive = 30.0
    #: Reconnect backoff bounds, in seconds.
    reconnect_min: Positive = 0.5
    reconnect_max: Positive = 30.0
    #: Outbound submit_sm per second, and how many may await a response at once.
    send_rate: Positive = 200.0
    window: PositiveInt = 64
    #: Seconds to open the TCP connection and get the bind answered.
    connect_timeout: Positive = 5.0
    #: Seconds a submit_sm may wait for its response before it is tried again.
    response_timeout: Positive = 10.0
    #: Tries before an outbox message is given up as ``failed`` (throttled answers
    #: and dropped links do not count).
    max_attempts: PositiveInt = 10
    #: Longest wait between two tries of one message, in seconds.
    retry_max: Positive = 300.0
    #: Outbox rows the sender claims per transaction.
    claim_batch: PositiveInt = 256
    #: Seconds between outbox polls when idle (messages queued by another process).
    outbox_poll_interval: Positive = 0.5
    #: Seconds after a link dropped (or the gateway stopped) with MO unacknowledged during which
    #: an identical PDU is taken for the SMSC's redelivery: stored as such, not answered again.
    mo_dedupe_window: Positive = 120.0
    #: Days the (sealed) text of an answered MO is kept; then only the row remains.
    inbox_text_retention_days: Annotated[float, must("must not be negative", ge=0)] = 30.0
    #: With ``serve --workers N``: how many workers keep an SMPP bind (workers 0..binds-1);
    #: 0 = every worker. The others answer USSD and queue SMS; the bound ones send them.
    binds: Annotated[int, must("must not be negative (0 = every worker binds)", ge=0)] = 0
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
    ussd_vendor: Vendor = "generic"


@dataclass(frozen=True)
class JobsSettings:
    """Background work of ``serve``."""

    #: Seconds between life-cycle runs (expiry, barring, recycling, reminders).
    lifecycle_interval_seconds: Positive = 300.0
    #: Seconds between sweeps that forget expired USSD sessions.
    session_sweep_seconds: Positive = 60.0
    #: Seconds between reads of what the database holds for ``/metrics`` (outbox depth and
    #: waiting time, overdue receipts, campaign progress, lockouts; ``gateway.monitoring``).
    figures_interval_seconds: Positive = 15.0
    #: Minutes a submitted SMS may wait for its delivery receipt before it counts as overdue
    #: (``selfcare_sms_receipts_overdue``): SMSCs send most receipts within seconds.
    receipt_overdue_minutes: Positive = 10.0


@dataclass(frozen=True)
class SecuritySettings:
    #: Key of the HMAC-SHA256 that voucher PINs and ID numbers are stored under.
    #: Required (at least 16 characters) outside ``demo``.
    pin_secret: str = ""


@dataclass(frozen=True)
class LoggingSettings:
    #: ``debug``, ``info``, ``warning`` or ``error``.
    level: LogLevel = "info"
    #: ``auto`` (console on a terminal, JSON otherwise), ``json`` or ``console``.
    format: LogFormat = "auto"


@dataclass(frozen=True)
class AdminSettings:
    """The operator console (``gateway.console``): off unless ``token`` is set."""

    #: Address the console listens on. Loopback by default: it shows subscribers' data. Anywhere
    #: else it must sit behind TLS (its session cookie is then marked ``Secure``).
    host: str = "127.0.0.1"
    port: Port = 8026
    #: Bearer token (or sign-in) of the operator role: sees whole numbers and may act
    #: (resolve disputes, close complaints). Empty: no console. At least 16 characters.
    token: str = ""
    #: Bearer token of the viewer role: reads everything with numbers masked, acts on nothing.
    #: Empty: no viewer. At least 16 characters, and not the operator's.
    viewer_token: str = ""
    #: Minutes a browser stays signed in after signing in with a token.
    session_minutes: Positive = 480.0

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class Settings:
    operator: OperatorSettings = field(default_factory=OperatorSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    smpp: SmppSettings = field(default_factory=SmppSettings)
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
    raw = read_toml(path)
    hints = typing.get_type_hints(Settings)
    sections = {f.name: hints[f.name] for f in fields(Settings) if f.name != "source"}
    for name in raw:
        if name not in sections and name not in OTHER_SECTIONS:
            raise ConfigError(f"{name}: unknown section")
    data: dict[str, Any] = {}
    for name, schema in sorted(sections.items()):
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: expected a table")
        data[name] = {**table, **from_environment(name, schema, environ)}
    _check_env_keys(environ, variables(sections))
    settings = convert(data, Settings)
    settings = Settings(**{name: getattr(settings, name) for name in sections}, source=str(path))
    _validate(settings)
    return settings


def _check_env_keys(environ: Mapping[str, str], valid: set[str]) -> None:
    """A misspelt GATEWAY_ variable is refused rather than silently ignored."""
    # GATEWAY_TEST_*: the test suite's own (its PostgreSQL server); no section is named "test".
    theirs = tuple(f"GATEWAY_{name.upper()}_" for name in (*OTHER_SECTIONS, "test"))
    for name in environ:
        if name.startswith("GATEWAY_") and name not in valid and not name.startswith(theirs):
            raise ConfigError(f"{name}: unknown setting")


def _validate(settings: Settings) -> None:
    """The checks a field's type cannot make: across keys, and values with a grammar of their own."""
    smpp = settings.smpp
    held = smpp.claim_batch / smpp.send_rate + smpp.response_timeout
    if smpp.outbox_lease < 2 * held:
        raise ConfigError(f"smpp.outbox_lease: must be at least {2 * held:g} seconds (twice claim_batch / "
                          "send_rate + response_timeout), or a live sender's messages could be sent twice")
    if settings.database.url:
        problem = database_url_problem(settings.database.url)
        if problem is not None:
            raise ConfigError(f"database.url: {problem}")
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
