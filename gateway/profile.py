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
from gateway.domain.care import CarePolicy, ComplaintPolicy, DisputePolicy, NumberChangePolicy, StatementPolicy
from gateway.domain.errors import InvalidAmount
from gateway.domain.money import Currency, Money, parse_amount
from gateway.domain.msisdn import NumberPlan
from gateway.domain.policy import AttemptLimit, Policy

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
    #: The written requests to customer care the profile offers (004: statement, dispute, complaint,
    #: number change); each exists, with its keyword and menu item, only when its table is in the file.
    care: CarePolicy = CarePolicy()


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
}

#: Optional tables: a profile without one does not offer that request (``gateway.domain.care``).
_CARE_SCHEMA: dict[str, dict[str, type]] = {
    "statement": {"charge": str, "max_period_age_days": int, "max_days_after_issue": int,
                  "lines_per_sms": int},
    "dispute": {"own_network_days": int, "other_provider_days": int, "max_reason_length": int},
    "complaint": {"max_length": int},
    "number_change": {"fee": str, "change_within_days": int},
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
    for section, keys in _SCHEMA.items():
        table = raw if section == "" else raw.get(section)
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}] is missing")
        for key in table:
            if key not in keys and not (section == "" and (key in _SCHEMA or key in _CARE_SCHEMA)):
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

    top, codes, periods, limits = values[""], values["codes"], values["periods"], values["limits"]
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
    return OperatorProfile(
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
        care=_care(path, raw, currency),
    )


def _care(path: Path, raw: dict[str, Any], currency: Currency) -> CarePolicy:
    """The optional ``[statement]``, ``[dispute]``, ``[complaint]`` and ``[number_change]`` tables."""
    values: dict[str, dict[str, Any]] = {}
    for section, keys in _CARE_SCHEMA.items():
        table = raw.get(section)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}]: expected a table")
        for key in table:
            if key not in keys:
                raise ConfigError(f"{path}: {section}.{key}: unknown key")
        values[section] = {}
        for key, kind in keys.items():
            value = table.get(key)
            if value is None:
                raise ConfigError(f"{path}: {section}.{key}: missing")
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(f"{path}: {section}.{key}: expected {kind.__name__}, got {value!r}")
            if isinstance(value, int) and value <= 0:
                raise ConfigError(f"{path}: {section}.{key}: must be more than zero")
            values[section][key] = value
    days = timedelta
    statement = values.get("statement")
    dispute = values.get("dispute")
    complaint = values.get("complaint")
    change = values.get("number_change")
    return CarePolicy(
        statement=None if statement is None else StatementPolicy(
            _amount(path, "statement.charge", statement["charge"], currency),
            days(days=statement["max_period_age_days"]), days(days=statement["max_days_after_issue"]),
            statement["lines_per_sms"]),
        dispute=None if dispute is None else DisputePolicy(
            days(days=dispute["own_network_days"]), days(days=dispute["other_provider_days"]),
            dispute["max_reason_length"]),
        complaint=None if complaint is None else ComplaintPolicy(complaint["max_length"]),
        number_change=None if change is None else NumberChangePolicy(
            _amount(path, "number_change.fee", change["fee"], currency), days(days=change["change_within_days"])),
    )


def _amount(path: Path, key: str, text: str, currency: Currency) -> Money:
    """A positive amount written as in the CLI (``"1000.00"``)."""
    try:
        return parse_amount(text, currency, allow_zero=False)
    except InvalidAmount as exc:
        raise ConfigError(f"{path}: {key}: {exc}") from None


def _dotted(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key
