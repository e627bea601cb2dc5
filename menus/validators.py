"""Input validators, built once at load: text in → (value, display) or None.

Each validator names the hint (a text key) shown when an answer is refused;
the screen is then shown again and the session goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.domain.errors import InvalidInput
from gateway.domain.msisdn import NumberPlan
from gateway.domain.secrets import normalise_id_number
from gateway.domain.vouchers import PIN_MAX_DIGITS, check_pin_format

ID_NUMBER_MIN, ID_NUMBER_MAX = 4, 32


class Validator(Protocol):
    @property
    def hint(self) -> str:
        """The short text shown when an answer is refused."""
        ...

    def check(self, text: str) -> tuple[str, str] | None:
        """The value to keep and how to show it, or None if refused."""
        ...

    @property
    def widest(self) -> str:
        """How the longest answer it accepts is shown: what ``menus.lint`` measures a
        screen showing the answer (``{number}``) with."""
        ...


@dataclass(frozen=True)
class Digits:
    min_length: int
    max_length: int
    hint: str = "ussd.hint_digits"

    def check(self, text: str) -> tuple[str, str] | None:
        text = text.strip()
        if text.isascii() and text.isdigit() and self.min_length <= len(text) <= self.max_length:
            return text, text
        return None

    @property
    def widest(self) -> str:
        return "9" * self.max_length


@dataclass(frozen=True)
class Pin:
    hint: str = "ussd.hint_pin"

    def check(self, text: str) -> tuple[str, str] | None:
        try:
            pin = check_pin_format(text)
        except InvalidInput:
            return None
        return pin, "*" * len(pin)

    @property
    def widest(self) -> str:
        return "*" * PIN_MAX_DIGITS


@dataclass(frozen=True)
class PhoneNumber:
    plan: NumberPlan
    hint: str = "ussd.hint_msisdn"

    def check(self, text: str) -> tuple[str, str] | None:
        try:
            msisdn = self.plan.normalise(text)
        except InvalidInput:
            return None
        return msisdn, self.plan.national(msisdn)

    @property
    def widest(self) -> str:
        return self.plan.national_prefix + "9" * max(self.plan.national_lengths)


@dataclass(frozen=True)
class IdNumber:
    hint: str = "ussd.hint_id_number"

    def check(self, text: str) -> tuple[str, str] | None:
        cleaned = normalise_id_number(text)
        if ID_NUMBER_MIN <= len(cleaned) <= ID_NUMBER_MAX and cleaned.isascii():
            return cleaned, cleaned
        return None

    @property
    def widest(self) -> str:
        return "X" * ID_NUMBER_MAX


@dataclass(frozen=True)
class Text:
    """Free text (a complaint typed on the handset): not empty, at most ``max_length`` characters."""

    max_length: int
    hint: str = "ussd.hint_text"

    def check(self, text: str) -> tuple[str, str] | None:
        cleaned = " ".join(text.split())
        if 0 < len(cleaned) <= self.max_length:
            return cleaned, cleaned
        return None

    @property
    def widest(self) -> str:
        return "x" * self.max_length


VALIDATOR_NAMES = ("digits", "pin", "msisdn", "id_number", "text")


def build_validator(name: str, options: Mapping[str, Any], plan: NumberPlan) -> Validator:
    """Raises ValueError with a reason for an unknown name or bad options."""
    if name == "digits":
        low, high = options.get("min_length", 1), options.get("max_length", 20)
        if not (isinstance(low, int) and isinstance(high, int) and 0 < low <= high):
            raise ValueError("digits needs 0 < min_length <= max_length")
        return Digits(low, high)
    if name == "pin":
        return Pin()
    if name == "msisdn":
        return PhoneNumber(plan)
    if name == "id_number":
        return IdNumber()
    if name == "text":
        high = options.get("max_length", 160)
        if not (isinstance(high, int) and high > 0):
            raise ValueError("text needs max_length > 0")
        return Text(high)
    raise ValueError(f"unknown validator {name!r} (one of {', '.join(VALIDATOR_NAMES)})")
