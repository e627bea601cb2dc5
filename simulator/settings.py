"""The SMSC simulator's settings: the ``[simulator]`` section of the gateway's ``gateway.toml``.

One file configures the gateway and the simulator that stands in for its SMSC, so the
demo needs no set-up; each program reads its own sections (the gateway skips this one).
Keys may be overridden from the environment as ``GATEWAY_SIMULATOR_<KEY>``, and are
refused naming the key, as the gateway's are (``gateway.configfile``).
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from gateway.configfile import (
    DEFAULT_CONFIG,
    ConfigError,
    Port,
    Positive,
    convert,
    from_environment,
    must,
    read_toml,
    variables,
)

SECTION = "simulator"
#: The USSD centres whose conventions the simulator plays (``simulator.ussd.CENTRE_VENDORS``).
VendorName = Literal["generic", "sixdee", "mica", "msisdn"]
_VENDORS = "generic, sixdee, mica, msisdn"

NotNegative = Annotated[float, must("must not be negative", ge=0)]
Count = Annotated[int, must("must not be negative", ge=0)]
Ratio = Annotated[float, must("must be between 0 and 1, got {value}", ge=0, le=1)]


@dataclass(frozen=True)
class SimulatorSettings:
    #: SMPP listener of ``smsc-sim``.
    host: str = "127.0.0.1"
    port: Port = 2775
    #: Control API and web page (loopback by default).
    control_host: str = "127.0.0.1"
    control_port: Port = 8025
    #: Extra ESME accounts: ``system_id = "password"``. The gateway's ``[smpp]`` account is
    #: always accepted too (``start_simulator``).
    accounts: Mapping[str, str] = field(default_factory=dict)
    #: Seconds before a delivery receipt is sent.
    receipt_delay: NotNegative = 0.2
    #: Share of receipts per final state; the rest are DELIVRD.
    undeliverable_ratio: Ratio = 0.0
    expired_ratio: Ratio = 0.0
    #: Fault injection: submit_sm per second before ESME_RTHROTTLED (0: no cap),
    #: share answered ESME_RSYSERR, in-flight limit (0: none), response delay in
    #: seconds, and drop the connection after this many PDUs (0: never).
    throttle_rate: NotNegative = 0.0
    syserr_ratio: Ratio = 0.0
    window_limit: Count = 0
    response_delay: NotNegative = 0.0
    drop_after: Count = 0
    #: Submitted messages kept in memory for ``GET /mt``; the oldest half is
    #: dropped beyond this, so a load test cannot exhaust memory.
    max_stored_mt: Annotated[int, must("must be greater than 0, got {value}", gt=0)] = 100_000
    #: Bind responses name the simulator with this system id.
    smsc_system_id: str = "SMSCSIM"
    #: USSD gateway the web page's phone talks to.
    gateway_url: str = "http://127.0.0.1:8080/ussd"
    #: The USSD centre's vendor rules (``POST /ussd/dial`` over SMPP): one of ``smpp.ussd_vendor``'s.
    ussd_vendor: Annotated[VendorName, must(f"unknown USSD vendor {{value!r}} (one of {_VENDORS})", choice=True)] = (
        "generic")
    #: Seconds the USSD centre waits for the gateway's next screen (then 504, the dialogue ends).
    ussd_timeout: Positive = 10.0

    def __post_init__(self) -> None:
        # Frozen all the way down: the accounts cannot change under a running simulator.
        object.__setattr__(self, "accounts", types.MappingProxyType(dict(self.accounts)))


def load_simulator_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> SimulatorSettings:
    """``[simulator]`` of ``path`` (default: the gateway's embedded ``gateway.toml``) with its overrides.

    Raises:
        ConfigError: unreadable file, bad TOML, unknown key or variable, wrong type or value.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG
    environ = os.environ if environ is None else environ
    table = read_toml(path).get(SECTION, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{SECTION}: expected a table")
    valid = variables({SECTION: SimulatorSettings})
    for name in environ:
        if name.startswith(f"GATEWAY_{SECTION.upper()}_") and name not in valid:
            raise ConfigError(f"{name}: unknown setting")
    values = {**table, **from_environment(SECTION, SimulatorSettings, environ)}
    settings = convert({SECTION: values}, _File).simulator
    for system_id, password in settings.accounts.items():
        if len(system_id) > 15 or len(password) > 8:
            raise ConfigError(f"simulator.accounts.{system_id}: system id ≤ 15 and password ≤ 8 characters")
    return settings


@dataclass(frozen=True)
class _File:
    """The file as the simulator reads it: its section, so that refusals name ``simulator.<key>``."""

    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
