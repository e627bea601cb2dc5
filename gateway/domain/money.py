"""Money in integer minor units of one currency.

Amounts typed by people ("2.50") are parsed strictly with ``Decimal`` at the
edge; inside, everything is an ``int`` of minor units (cents). Floats and
mixed currencies are refused, so a rounding error cannot hide anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from gateway.domain.errors import InvalidAmount

_AMOUNT = re.compile(r"[0-9]+(?:\.([0-9]+))?")


@dataclass(frozen=True, order=True)
class Currency:
    """ISO 4217 code, number of minor digits, and the symbol shown to people."""

    code: str
    minor_digits: int
    symbol: str = ""


@dataclass(frozen=True)
class Money:
    minor: int
    currency: Currency

    def __post_init__(self) -> None:
        if type(self.minor) is not int:
            raise TypeError(f"Money needs integer minor units, not {type(self.minor).__name__}")

    @classmethod
    def zero(cls, currency: Currency) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency.code} with {other.currency.code}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __bool__(self) -> bool:
        return self.minor != 0

    def display(self) -> str:
        """``$6.00``, ``-$1.25``; the code instead of a symbol when there is none."""
        sign = "-" if self.minor < 0 else ""
        digits = self.currency.minor_digits
        whole, frac = divmod(abs(self.minor), 10**digits)
        number = f"{whole:,}" + (f".{frac:0{digits}d}" if digits else "")
        if self.currency.symbol:
            return f"{sign}{self.currency.symbol}{number}"
        return f"{sign}{number} {self.currency.code}"


def parse_amount(text: str, currency: Currency, *, allow_zero: bool = True) -> Money:
    """Parse ``"12"`` or ``"12.50"`` into Money, refusing anything else.

    Refused: signs, exponents, more decimals than the currency has, spaces,
    thousands separators, empty strings.

    Raises:
        InvalidAmount: with a message fit to show the person who typed it.
    """
    match = _AMOUNT.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise InvalidAmount(f"not an amount: {text!r} (write it like 12.50)")
    fraction = match.group(1)
    if fraction is not None and len(fraction) > currency.minor_digits:
        raise InvalidAmount(
            f"not an amount: {text!r} ({currency.code} has {currency.minor_digits} decimals)"
        )
    minor = Decimal(text).scaleb(currency.minor_digits)
    if minor != minor.to_integral_value():  # pragma: no cover - excluded by the regex
        raise InvalidAmount(f"not an amount: {text!r}")
    if not allow_zero and minor == 0:
        raise InvalidAmount("the amount must be more than zero")
    if minor > 10**15:
        raise InvalidAmount(f"amount too large: {text!r}")
    return Money(int(minor), currency)
