"""Operator profiles: ``config/operators/<name>.toml``.

A profile is what differs between operators: the number plan, currency, time
zone, languages, USSD and SMS codes, and every period and limit the rules use.
It is validated at load like the settings; the rules receive it as a
``gateway.domain.policy.Policy``, whose policy objects (the life cycle, the
postpaid terms) are chosen here from the profile's data: ``[lifecycle] kind``
and whether there is a ``[postpaid]`` table. Nothing else asks which operator
it serves.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.config import CONFIG_DIR, ConfigError
from gateway.domain.account import Bucket
from gateway.domain.care import CarePolicy, ComplaintPolicy, DisputePolicy, NumberChangePolicy, StatementPolicy
from gateway.domain.errors import InvalidAmount
from gateway.domain.lifecycle import LineLifecycle, line_cycle
from gateway.domain.money import Currency, Money, parse_amount
from gateway.domain.msisdn import NumberPlan
from gateway.domain.policy import (
    AttemptLimit,
    DepositRule,
    ExpiryLifecycle,
    InactivityLifecycle,
    LatePenalty,
    Lifecycle,
    Policy,
    PostpaidPolicy,
)
from gateway.domain.rating import Rate, Tariff

#: The shipped profiles (``config/operators/``, or an installed package's copy).
PROFILES_DIR = CONFIG_DIR / "operators"


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
    #: Seconds after a dialogue stopped without our END (dropped by the network, closed on a
    #: timeout, or idle) within which dialling the same code again offers it back (0: never).
    ussd_resume_seconds: int
    #: Service requests per number per minute on any channel (0: unlimited).
    requests_per_minute: int
    #: How usage is rated and which funds pay for it (``usage import``).
    tariff: Tariff
    #: The lines' life cycle as behaviour (``policy.lifecycle`` is its data).
    lifecycle: LineLifecycle
    #: A number as subscribers write it, for the texts ("e.g. 012345678").
    example_number: str = ""
    #: The written requests to customer care the profile offers (004: statement, dispute, complaint,
    #: number change); each exists, with its keyword and menu item, only when its table is in the file.
    care: CarePolicy = CarePolicy()

    @property
    def has_postpaid(self) -> bool:
        return self.policy.postpaid is not None


_SCHEMA: dict[str, dict[str, type]] = {
    "": {"name": str, "country_code": str, "national_prefix": str,
         "national_lengths": list, "currency": str, "minor_digits": int,
         "currency_symbol": str, "time_zone": str, "languages": list,
         "default_language": str, "example_number": str},
    "codes": {"selfcare": str, "balance": str, "topup": str, "marketing_optout": str,
              "sms_keywords": str, "sms_marketing": str},
    "periods": {"default_valid_days": int, "restore_window_days": int,
                "promo_valid_days": int, "expiry_reminder_days": int,
                "ussd_session_idle_seconds": int, "ussd_resume_seconds": int},
    "limits": {"pin_max_failures": int, "pin_failure_window_hours": int,
               "pin_lockout_hours": int, "lost_max_failures": int,
               "lost_failure_window_hours": int, "lost_lockout_hours": int,
               "lost_number_max_failures": int, "lost_number_failure_window_hours": int,
               "lost_number_lockout_hours": int,
               "requests_per_minute": int, "max_voucher_amount": str, "max_balance": str},
    "lifecycle": {"kind": str},
    "tariff": {"voice_unit_seconds": int, "voice_price": str, "sms_price": str, "data_unit_bytes": int,
               "data_price": str, "data_price_units": int, "spending_order": list},
}

#: ``[lifecycle]`` keys by ``kind`` (beside ``kind`` itself).
_LIFECYCLE: dict[str, dict[str, type]] = {
    "expiry": {"outgoing_barred_days": int, "fully_barred_days": int},
    "inactivity": {"inactive_months": int, "reissue_window_days": int, "reissue_fee": str,
                   "reminder_days": list},
}
#: ``[postpaid]`` (optional: no table, no postpaid lines): required and optional keys.
_POSTPAID: dict[str, type] = {"due_days": int, "reminder_days": list}
_POSTPAID_OPTIONAL: dict[str, type] = {"deposit_threshold_percent": int, "deposit_notice_days": int,
                                       "late_penalty_percent_per_month": str}
#: Optional tables of the customer-care requests: a profile without one does not offer that request
#: (``gateway.domain.care``).
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
        extra: dict[str, type] = {}
        if section == "lifecycle":
            kind = table.get("kind")
            if kind not in _LIFECYCLE:
                raise ConfigError(f"{path}: lifecycle.kind: expected one of {', '.join(_LIFECYCLE)}, got {kind!r}")
            extra = _LIFECYCLE[kind]
        values[section] = _section(path, section, table, {**keys, **extra}, top_level=section == "")
    postpaid_table = raw.get("postpaid")
    if postpaid_table is not None and not isinstance(postpaid_table, dict):
        raise ConfigError(f"{path}: postpaid: expected a table")
    postpaid_values = (None if postpaid_table is None else
                       _section(path, "postpaid", postpaid_table, _POSTPAID, optional=_POSTPAID_OPTIONAL))

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
        lifecycle=_lifecycle(path, values["lifecycle"], currency),
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
        postpaid=None if postpaid_values is None else _postpaid(path, postpaid_values),
    )
    return OperatorProfile(
        tariff=_tariff(path, tariff, currency),
        lifecycle=line_cycle(policy, tz),
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
        ussd_resume_seconds=_resume_seconds(path, periods["ussd_resume_seconds"]),
        requests_per_minute=limits["requests_per_minute"],
        example_number=top["example_number"],
        care=_care(path, raw, currency),
    )


#: The longest resume window: a session row is deleted an hour after its expiry
#: (``gateway.ussd.sessions.RETENTION``), and a dialogue stops at the latest when it expires.
MAX_RESUME_SECONDS = 3600


def _resume_seconds(path: Path, seconds: int) -> int:
    if seconds > MAX_RESUME_SECONDS:
        raise ConfigError(f"{path}: periods.ussd_resume_seconds: at most {MAX_RESUME_SECONDS} "
                          "(a stopped dialogue's row is kept an hour)")
    return seconds


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



def _section(path: Path, section: str, table: dict[str, Any], keys: dict[str, type], *,
             optional: dict[str, type] | None = None, top_level: bool = False) -> dict[str, Any]:
    """The keys of one table, type-checked; unknown and missing keys refused, naming them."""
    optional = optional or {}
    for key in table:
        if key not in keys and key not in optional and not (top_level and key in _SCHEMA or top_level and key in ("postpaid", *_CARE_SCHEMA)):
            raise ConfigError(f"{path}: {_dotted(section, key)}: unknown key")
    out: dict[str, Any] = {}
    for key, kind in {**keys, **optional}.items():
        if key not in table:
            if key in keys:
                raise ConfigError(f"{path}: {_dotted(section, key)}: missing")
            continue
        value = table[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{path}: {_dotted(section, key)}: expected {kind.__name__}, got {value!r}")
        if isinstance(value, int) and value < 0:
            raise ConfigError(f"{path}: {_dotted(section, key)}: must not be negative")
        if isinstance(value, list) and not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                               for v in value) and key.endswith("_days"):
            raise ConfigError(f"{path}: {_dotted(section, key)}: expected whole numbers of days")
        out[key] = value
    return out


def _care(path: Path, raw: dict[str, Any], currency: Currency) -> CarePolicy:
    """The optional ``[statement]``, ``[dispute]``, ``[complaint]`` and ``[number_change]`` tables."""
    values: dict[str, dict[str, Any]] = {}
    for section, keys in _CARE_SCHEMA.items():
        table = raw.get(section)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section}: expected a table")
        values[section] = _section(path, section, table, keys)
        for key, value in values[section].items():
            if isinstance(value, int) and value == 0:
                raise ConfigError(f"{path}: {section}.{key}: must be more than zero")
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


def _lifecycle(path: Path, values: dict[str, Any], currency: Currency) -> Lifecycle:
    """``[lifecycle]``: expiry-driven (000 "SIM Card LifeCycle") or inactivity-driven (004 3(B).12)."""
    if values["kind"] == "expiry":
        return ExpiryLifecycle(timedelta(days=values["outgoing_barred_days"]),
                               timedelta(days=values["fully_barred_days"]))
    if values["inactive_months"] <= 0:
        raise ConfigError(f"{path}: lifecycle.inactive_months: must be more than zero")
    try:
        fee = parse_amount(values["reissue_fee"], currency)
    except InvalidAmount as exc:
        raise ConfigError(f"{path}: lifecycle.reissue_fee: {exc}") from None
    return InactivityLifecycle(values["inactive_months"], timedelta(days=values["reissue_window_days"]), fee,
                               tuple(sorted(set(values["reminder_days"]), reverse=True)))


def _postpaid(path: Path, values: dict[str, Any]) -> PostpaidPolicy:
    """``[postpaid]``: bill terms, and the deposit rule and late penalty where the profile has them."""
    deposit_keys = [k for k in ("deposit_threshold_percent", "deposit_notice_days") if k in values]
    if len(deposit_keys) == 1:
        raise ConfigError(f"{path}: postpaid: deposit_threshold_percent and deposit_notice_days go together")
    deposit = (DepositRule(values["deposit_threshold_percent"], timedelta(days=values["deposit_notice_days"]))
               if deposit_keys else None)
    penalty = None
    if "late_penalty_percent_per_month" in values:
        text = values["late_penalty_percent_per_month"]
        try:
            # Percent with up to two decimals, as basis points ("1" -> 100, "1.5" -> 150).
            points = parse_amount(text, Currency("%", 2)).minor
        except InvalidAmount:
            raise ConfigError(f"{path}: postpaid.late_penalty_percent_per_month: not a percentage: {text!r}") from None
        penalty = LatePenalty(points)
    return PostpaidPolicy(values["due_days"], tuple(sorted(set(values["reminder_days"]), reverse=True)),
                          deposit, penalty)


def _amount(path: Path, key: str, text: str, currency: Currency) -> Money:
    """A positive amount written as in the CLI (``"1000.00"``)."""
    try:
        return parse_amount(text, currency, allow_zero=False)
    except InvalidAmount as exc:
        raise ConfigError(f"{path}: {key}: {exc}") from None


def _dotted(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key
