"""Rule 1: money is integer minor units, parsed strictly."""

import pytest

from gateway.domain.errors import InvalidAmount
from gateway.domain.money import Currency, Money, parse_amount

USD = Currency("USD", 2, "$")
KHR = Currency("KHR", 0, "៛")


@pytest.mark.parametrize(("text", "minor"), [("2.50", 250), ("2.5", 250), ("0", 0), ("12", 1200), ("0.01", 1)])
def test_accepts_plain_decimal_amounts(text, minor):
    """Amounts as an operator types them become exact minor units."""
    assert parse_amount(text, USD).minor == minor


@pytest.mark.parametrize("text", ["2.505", "-1", "1e3", "abc", "", " 1", "1,000", "+1", "1.", ".5", "NaN", "١٢"])
def test_refuses_anything_else(text):
    """Extra decimals, signs, exponents, words and separators are refused, never rounded."""
    with pytest.raises(InvalidAmount):
        parse_amount(text, USD)


def test_currency_without_minor_digits_refuses_decimals():
    """A currency with no minor unit takes whole amounts only."""
    assert parse_amount("1500", KHR).minor == 1500
    with pytest.raises(InvalidAmount):
        parse_amount("1.5", KHR)


def test_refuses_floats_and_mixed_currencies():
    """Money cannot be built from a float or added across currencies."""
    with pytest.raises(TypeError):
        Money(1.5, USD)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, USD) + Money(1, KHR)


def test_display():
    """Amounts show with the symbol and exactly the currency's decimals."""
    assert Money(600, USD).display() == "$6.00"
    assert Money(-125, USD).display() == "-$1.25"
    assert Money(123456789, USD).display() == "$1,234,567.89"
    assert Money(1500, KHR).display() == "៛1,500"
