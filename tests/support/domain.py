"""Values the domain tests build their rules from, without a profile file."""

from gateway.domain.money import Currency

USD = Currency("USD", 2, "$")
