"""Operator profiles: ``config/operators/<name>.toml``.

A profile is what differs between operators: the number plan, currency, time
zone, languages, USSD and SMS codes, and every period and limit the rules use.
It is validated at load like the settings; the rules receive it as a
``gateway.domain.policy.Policy``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.config import PROJECT_ROOT, ConfigError
from gateway.domain.account import Bucket
from gateway.domain.errors import InvalidAmount
from gateway.domain.money import Currency, Money, parse_amount
from gateway.domain.inactivity import InactivityRule
from gateway.domain.lifecycle import ExpiryLifecycle, InactivityLifecycle, LineLifecycle
from gateway.domain.msisdn import NumberPlan
from gateway.domain.policy import AttemptLimit, Policy
from gateway.domain.rating import Rate, Tariff

PROFILES_DIR = PROJECT_ROOT / "config" / "operators"


@dataclass(frozen=True)
class Codes:
    selfcare: str
    balance: str
    topup: str
    marketing_optout: str
    sms_keywords: str
    sms_marketing: str


@dataclass(frozen=True)
class OperatorProfile:
    key: str
    name: str
    number_plan: NumberPlan
    currency: Currency
    time_zone: ZoneInfo
    languages: tuple[str, ...]
    default_language: str
    codes: Codes
    policy: Policy
    #: Seconds a USSD session may stay idle before it is forgotten.
    ussd_session_idle_seconds: int
    #: Service requests per number per minute on any channel (0: unlimited).
    requests_per_minute: int
    #: How usage is rated and which funds pay for it (``usage import``).
    tariff: Tariff
    #: The lines' life cycle: expiry-driven, or inactivity-driven with an ``[inactivity]`` table.
    lifecycle: LineLifecycle


_SCHEMA: dict[str, dict[str, type]] = {
    "": {"name": str, "country_code": str, "national_prefix": str,
         "national_lengths": list, "currency": str, "minor_digits": int,
         "currency_symbol": str, "time_zone": str, "languages": list,
         "default_language": str},
    "codes": {"selfcare": str, "balance": str, "topup": str, "marketing_optout": str,
              "sms_keywords": str, "sms_marketing": str},
    "periods": {"default_valid_days": int, "restore_window_days": int,
                "promo_valid_days": int, "outgoing_barred_days": int,
                "fully_barred_days": int, "expiry_reminder_days": int,
                "ussd_session_idle_seconds": int},
    "limits": {"pin_max_failures": int, "pin_failure_window_hours": int,
               "pin_lockout_hours": int, "lost_max_failures": int,
               "lost_failure_window_hours": int, "lost_lockout_hours": int,
               "lost_number_max_failures": int, "lost_number_failure_window_hours": int,
               "lost_number_lockout_hours": int,
               "requests_per_minute": int, "max_voucher_amount": str, "max_balance": str},
    "tariff": {"voice_unit_seconds": int, "voice_price": str, "sms_price": str, "data_unit_bytes": int,
               "data_price": str, "data_price_units": int, "spending_order": list},
}

#: Tables a profile may leave out; a life cycle of inactivity when ``[inactivity]`` is there.
_OPTIONAL: dict[str, dict[str, type]] = {
    "inactivity": {"inactive_months": int, "reissue_days": int, "reissue_fee": str,
                   "deactivation_reminder_days": int, "expiry_reminder_days": int},
}


def load_profile(name_or_path: str) -> OperatorProfile:
    """Load ``config/operators/<name>.toml`` (or a path ending in ``.toml``).

    Raises:
        ConfigError: missing file, unknown or missing key, wrong type.
    """
    path = Path(name_or_path) if name_or_path.endswith(".toml") else PROFILES_DIR / f"{name_or_path}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError(f"operator.profile: no profile {name_or_path!r} ({path})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    values: dict[str, dict[str, Any]] = {}
    sections = {**_SCHEMA, **{name: keys for name, keys in _OPTIONAL.items() if name in raw}}
    for section, keys in sections.items():
        table = raw if section == "" else raw.get(section)
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}] is missing")
        for key in table:
            if key not in keys and not (section == "" and (key in _SCHEMA or key in _OPTIONAL)):
                raise ConfigError(f"{path}: {_dotted(section, key)}: unknown key")
        values[section] = {}
        for key, kind in keys.items():
            if key not in table:
                raise ConfigError(f"{path}: {_dotted(section, key)}: missing")
            value = table[key]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(
                    f"{path}: {_dotted(section, key)}: expected {kind.__name__}, got {value!r}"
                )
            if isinstance(value, int) and value < 0:
                raise ConfigError(f"{path}: {_dotted(section, key)}: must not be negative")
            values[section][key] = value

    top, codes, periods, limits, tariff = (values[""], values["codes"], values["periods"], values["limits"],
                                           values["tariff"])
    try:
        tz = ZoneInfo(top["time_zone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{path}: time_zone: unknown zone {top['time_zone']!r}") from None
    languages = tuple(str(x) for x in top["languages"])
    if top["default_language"] not in languages:
        raise ConfigError(f"{path}: default_language: not one of {languages}")
    currency = Currency(top["currency"], top["minor_digits"], top["currency_symbol"])
    maxima = {key: _amount(path, f"limits.{key}", limits[key], currency)
              for key in ("max_voucher_amount", "max_balance")}
    policy = Policy(
        currency=currency,
        default_valid_days=periods["default_valid_days"],
        restore_window=timedelta(days=periods["restore_window_days"]),
        promo_valid_days=periods["promo_valid_days"],
        outgoing_barred=timedelta(days=periods["outgoing_barred_days"]),
        fully_barred=timedelta(days=periods["fully_barred_days"]),
        pin_attempts=AttemptLimit(
            limits["pin_max_failures"],
            timedelta(hours=limits["pin_failure_window_hours"]),
            timedelta(hours=limits["pin_lockout_hours"]),
        ),
        lost_attempts=AttemptLimit(
            limits["lost_max_failures"],
            timedelta(hours=limits["lost_failure_window_hours"]),
            timedelta(hours=limits["lost_lockout_hours"]),
        ),
        lost_attempts_per_number=AttemptLimit(
            limits["lost_number_max_failures"],
            timedelta(hours=limits["lost_number_failure_window_hours"]),
            timedelta(hours=limits["lost_number_lockout_hours"]),
        ),
        expiry_reminder_days=periods["expiry_reminder_days"],
        max_voucher=maxima["max_voucher_amount"],
        max_balance=maxima["max_balance"],
    )
    lifecycle: LineLifecycle = ExpiryLifecycle(policy)
    if "inactivity" in values:
        lifecycle = InactivityLifecycle(_inactivity(path, values["inactivity"], currency, tz))
    return OperatorProfile(
        tariff=_tariff(path, tariff, currency),
        lifecycle=lifecycle,
        key=path.stem,
        name=top["name"],
        number_plan=NumberPlan(
            top["country_code"], top["national_prefix"], tuple(int(n) for n in top["national_lengths"])
        ),
        currency=currency,
        time_zone=tz,
        languages=languages,
        default_language=top["default_language"],
        codes=Codes(**codes),
        policy=policy,
        ussd_session_idle_seconds=periods["ussd_session_idle_seconds"],
        requests_per_minute=limits["requests_per_minute"],
    )


def _tariff(path: Path, table: dict[str, Any], currency: Currency) -> Tariff:
    """``[tariff]``: a rate per kind of usage and the order prepaid funds are spent in."""
    for key in ("voice_unit_seconds", "data_unit_bytes", "data_price_units"):
        if table[key] <= 0:
            raise ConfigError(f"{path}: tariff.{key}: must be more than zero")
    prices = {}
    for key in ("voice_price", "sms_price", "data_price"):
        try:
            prices[key] = parse_amount(table[key], currency)
        except InvalidAmount as exc:
            raise ConfigError(f"{path}: tariff.{key}: {exc}") from None
    order = table["spending_order"]
    spendable = {Bucket.MAIN.value, Bucket.PROMO.value}
    if sorted(map(str, order)) != sorted(spendable):
        raise ConfigError(f"{path}: tariff.spending_order: must name each of {sorted(spendable)} once, got {order!r}")
    return Tariff(
        voice=Rate(table["voice_unit_seconds"], prices["voice_price"]),
        sms=Rate(1, prices["sms_price"]),
        data=Rate(table["data_unit_bytes"], prices["data_price"], table["data_price_units"]),
        spending_order=tuple(Bucket(name) for name in order),
    )


def _inactivity(path: Path, table: dict[str, Any], currency: Currency, tz: ZoneInfo) -> InactivityRule:
    """``[inactivity]``: 004 3(B).12's periods and fee."""
    for key in ("inactive_months", "reissue_days"):
        if table[key] <= 0:
            raise ConfigError(f"{path}: inactivity.{key}: must be more than zero")
    try:
        fee = parse_amount(table["reissue_fee"], currency)
    except InvalidAmount as exc:
        raise ConfigError(f"{path}: inactivity.reissue_fee: {exc}") from None
    return InactivityRule(
        inactive_months=table["inactive_months"], reissue_days=table["reissue_days"], reissue_fee=fee,
        deactivation_reminder_days=table["deactivation_reminder_days"],
        expiry_reminder_days=table["expiry_reminder_days"], time_zone=tz,
    )


def _amount(path: Path, key: str, text: str, currency: Currency) -> Money:
    """A positive amount written as in the CLI (``"1000.00"``)."""
    try:
        return parse_amount(text, currency, allow_zero=False)
    except InvalidAmount as exc:
        raise ConfigError(f"{path}: {key}: {exc}") from None


def _dotted(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key
