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
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.config import CONFIG_DIR, ConfigError
from gateway.configfile import convert, must
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


#: The longest resume window: a session row is deleted an hour after its expiry
#: (``gateway.ussd.sessions.RETENTION``), and a dialogue stops at the latest when it expires.
MAX_RESUME_SECONDS = 3600

# The file's shape: one dataclass per table, every key required unless it has a default
# (``gateway.configfile`` refuses unknown and missing keys and wrong types, naming them).
Count = Annotated[int, must("must not be negative", ge=0)]
More = Annotated[int, must("must be more than zero", gt=0)]
ResumeSeconds = Annotated[int, must("must not be negative", ge=0), must(
    f"at most {MAX_RESUME_SECONDS} (a stopped dialogue's row is kept an hour)", le=MAX_RESUME_SECONDS)]
Days = tuple[Annotated[int, must("expected whole numbers of days", ge=0, typed=True)], ...]
#: How a refusal names a type (``expected int, got 'x'``).
WORDS = {int: "int", str: "str", tuple: "list", bool: "bool"}


@dataclass(frozen=True)
class _Periods:
    default_valid_days: Count
    restore_window_days: Count
    promo_valid_days: Count
    expiry_reminder_days: Count
    ussd_session_idle_seconds: Count
    ussd_resume_seconds: ResumeSeconds


@dataclass(frozen=True)
class _Limits:
    pin_max_failures: Count
    pin_failure_window_hours: Count
    pin_lockout_hours: Count
    lost_max_failures: Count
    lost_failure_window_hours: Count
    lost_lockout_hours: Count
    lost_number_max_failures: Count
    lost_number_failure_window_hours: Count
    lost_number_lockout_hours: Count
    requests_per_minute: Count
    max_voucher_amount: str
    max_balance: str


@dataclass(frozen=True)
class _Expiry:
    """``[lifecycle] kind = "expiry"``: lines age from their validity's end (000 "SIM Card LifeCycle")."""

    kind: str
    outgoing_barred_days: Count
    fully_barred_days: Count


@dataclass(frozen=True)
class _Inactivity:
    """``[lifecycle] kind = "inactivity"``: lines age from their last use (004 3(B).12)."""

    kind: str
    inactive_months: More
    reissue_window_days: Count
    reissue_fee: str
    reminder_days: Days


@dataclass(frozen=True)
class _Tariff:
    voice_unit_seconds: More
    voice_price: str
    sms_price: str
    data_unit_bytes: More
    data_price: str
    data_price_units: More
    spending_order: tuple[str, ...]


@dataclass(frozen=True)
class _Postpaid:
    """Optional: no table, no postpaid lines."""

    due_days: Count
    reminder_days: Days
    deposit_threshold_percent: Count | None = None
    deposit_notice_days: Count | None = None
    late_penalty_percent_per_month: str | None = None


# The customer-care requests: a profile without a table does not offer that request (``gateway.domain.care``).
@dataclass(frozen=True)
class _Statement:
    charge: str
    max_period_age_days: More
    max_days_after_issue: More
    lines_per_sms: More


@dataclass(frozen=True)
class _Dispute:
    own_network_days: More
    other_provider_days: More
    max_reason_length: More


@dataclass(frozen=True)
class _Complaint:
    max_length: More


@dataclass(frozen=True)
class _NumberChange:
    fee: str
    change_within_days: More


@dataclass(frozen=True)
class _File:
    name: str
    country_code: str
    national_prefix: str
    national_lengths: tuple[int, ...]
    currency: str
    minor_digits: Count
    currency_symbol: str
    time_zone: str
    languages: tuple[str, ...]
    default_language: str
    example_number: str
    codes: Codes
    periods: _Periods
    limits: _Limits
    lifecycle: Any
    tariff: _Tariff
    postpaid: _Postpaid | None = None
    statement: _Statement | None = None
    dispute: _Dispute | None = None
    complaint: _Complaint | None = None
    number_change: _NumberChange | None = None


@dataclass(frozen=True)
class _ExpiryFile(_File):
    lifecycle: _Expiry


@dataclass(frozen=True)
class _InactivityFile(_File):
    lifecycle: _Inactivity


#: The file's schema by ``[lifecycle] kind``.
_KINDS: dict[str, type[_File]] = {"expiry": _ExpiryFile, "inactivity": _InactivityFile}


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
    lifecycle = raw.get("lifecycle")
    if not isinstance(lifecycle, dict):
        raise ConfigError(f"{path}: [lifecycle] is missing")
    kind = lifecycle.get("kind")
    if kind not in _KINDS:
        raise ConfigError(f"{path}: lifecycle.kind: expected one of {', '.join(_KINDS)}, got {kind!r}")
    file = convert(raw, _KINDS[kind], prefix=f"{path}: ", words=WORDS)

    try:
        tz = ZoneInfo(file.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{path}: time_zone: unknown zone {file.time_zone!r}") from None
    languages = file.languages
    if file.default_language not in languages:
        raise ConfigError(f"{path}: default_language: not one of {languages}")
    currency = Currency(file.currency, file.minor_digits, file.currency_symbol)
    periods, limits = file.periods, file.limits
    policy = Policy(
        currency=currency,
        default_valid_days=periods.default_valid_days,
        restore_window=timedelta(days=periods.restore_window_days),
        promo_valid_days=periods.promo_valid_days,
        lifecycle=_lifecycle(path, file.lifecycle, currency),
        pin_attempts=AttemptLimit(
            limits.pin_max_failures,
            timedelta(hours=limits.pin_failure_window_hours),
            timedelta(hours=limits.pin_lockout_hours),
        ),
        lost_attempts=AttemptLimit(
            limits.lost_max_failures,
            timedelta(hours=limits.lost_failure_window_hours),
            timedelta(hours=limits.lost_lockout_hours),
        ),
        lost_attempts_per_number=AttemptLimit(
            limits.lost_number_max_failures,
            timedelta(hours=limits.lost_number_failure_window_hours),
            timedelta(hours=limits.lost_number_lockout_hours),
        ),
        expiry_reminder_days=periods.expiry_reminder_days,
        max_voucher=_amount(path, "limits.max_voucher_amount", limits.max_voucher_amount, currency),
        max_balance=_amount(path, "limits.max_balance", limits.max_balance, currency),
        postpaid=None if file.postpaid is None else _postpaid(path, file.postpaid),
    )
    return OperatorProfile(
        tariff=_tariff(path, file.tariff, currency),
        lifecycle=line_cycle(policy, tz),
        key=path.stem,
        name=file.name,
        number_plan=NumberPlan(file.country_code, file.national_prefix, file.national_lengths),
        currency=currency,
        time_zone=tz,
        languages=languages,
        default_language=file.default_language,
        codes=file.codes,
        policy=policy,
        ussd_session_idle_seconds=periods.ussd_session_idle_seconds,
        ussd_resume_seconds=periods.ussd_resume_seconds,
        requests_per_minute=limits.requests_per_minute,
        example_number=file.example_number,
        care=_care(path, file, currency),
    )


def _tariff(path: Path, table: _Tariff, currency: Currency) -> Tariff:
    """``[tariff]``: a rate per kind of usage and the order prepaid funds are spent in."""
    prices = {}
    for key in ("voice_price", "sms_price", "data_price"):
        try:
            prices[key] = parse_amount(getattr(table, key), currency)
        except InvalidAmount as exc:
            raise ConfigError(f"{path}: tariff.{key}: {exc}") from None
    order = list(table.spending_order)
    spendable = {Bucket.MAIN.value, Bucket.PROMO.value}
    if sorted(order) != sorted(spendable):
        raise ConfigError(f"{path}: tariff.spending_order: must name each of {sorted(spendable)} once, got {order!r}")
    return Tariff(
        voice=Rate(table.voice_unit_seconds, prices["voice_price"]),
        sms=Rate(1, prices["sms_price"]),
        data=Rate(table.data_unit_bytes, prices["data_price"], table.data_price_units),
        spending_order=tuple(Bucket(name) for name in order),
    )


def _care(path: Path, file: _File, currency: Currency) -> CarePolicy:
    """The optional ``[statement]``, ``[dispute]``, ``[complaint]`` and ``[number_change]`` tables."""
    days = timedelta
    statement, dispute, complaint, change = file.statement, file.dispute, file.complaint, file.number_change
    return CarePolicy(
        statement=None if statement is None else StatementPolicy(
            _amount(path, "statement.charge", statement.charge, currency),
            days(days=statement.max_period_age_days), days(days=statement.max_days_after_issue),
            statement.lines_per_sms),
        dispute=None if dispute is None else DisputePolicy(
            days(days=dispute.own_network_days), days(days=dispute.other_provider_days), dispute.max_reason_length),
        complaint=None if complaint is None else ComplaintPolicy(complaint.max_length),
        number_change=None if change is None else NumberChangePolicy(
            _amount(path, "number_change.fee", change.fee, currency), days(days=change.change_within_days)),
    )


def _lifecycle(path: Path, table: _Expiry | _Inactivity, currency: Currency) -> Lifecycle:
    """``[lifecycle]``: expiry-driven (000 "SIM Card LifeCycle") or inactivity-driven (004 3(B).12)."""
    if isinstance(table, _Expiry):
        return ExpiryLifecycle(timedelta(days=table.outgoing_barred_days), timedelta(days=table.fully_barred_days))
    try:
        fee = parse_amount(table.reissue_fee, currency)
    except InvalidAmount as exc:
        raise ConfigError(f"{path}: lifecycle.reissue_fee: {exc}") from None
    return InactivityLifecycle(table.inactive_months, timedelta(days=table.reissue_window_days), fee,
                               tuple(sorted(set(table.reminder_days), reverse=True)))


def _postpaid(path: Path, table: _Postpaid) -> PostpaidPolicy:
    """``[postpaid]``: bill terms, and the deposit rule and late penalty where the profile has them."""
    threshold, notice = table.deposit_threshold_percent, table.deposit_notice_days
    if (threshold is None) != (notice is None):
        raise ConfigError(f"{path}: postpaid: deposit_threshold_percent and deposit_notice_days go together")
    deposit = None if threshold is None or notice is None else DepositRule(threshold, timedelta(days=notice))
    penalty = None
    text = table.late_penalty_percent_per_month
    if text is not None:
        try:
            # Percent with up to two decimals, as basis points ("1" -> 100, "1.5" -> 150).
            points = parse_amount(text, Currency("%", 2)).minor
        except InvalidAmount:
            raise ConfigError(f"{path}: postpaid.late_penalty_percent_per_month: not a percentage: {text!r}") from None
        penalty = LatePenalty(points)
    return PostpaidPolicy(table.due_days, tuple(sorted(set(table.reminder_days), reverse=True)), deposit, penalty)


def _amount(path: Path, key: str, text: str, currency: Currency) -> Money:
    """A positive amount written as in the CLI (``"1000.00"``)."""
    try:
        return parse_amount(text, currency, allow_zero=False)
    except InvalidAmount as exc:
        raise ConfigError(f"{path}: {key}: {exc}") from None
