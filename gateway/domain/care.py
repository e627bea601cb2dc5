"""What a subscriber asks of customer care in writing: the operator's terms for each request.

``seeds/004_1cabed6f540fdada.txt`` (Smart Telecom Nepal): a detailed bill
statement (clause 7.6), a bill dispute (3(B).4, 9.3), a written complaint
(9.1, 10.1) and a number change (5.1). A profile offers a request only when
it has the request's table (``[statement]``, ``[dispute]``, ``[complaint]``,
``[number_change]`` in ``config/operators/*.toml``): ``CarePolicy`` holds
``None`` for the others, and their keywords and menu items do not exist.

Every request gets a reference the subscriber can quote (``format_reference``,
the alphabet of the lost-SIM references), so that what was asked in writing
can be followed in writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.domain.lost import REFERENCE_ALPHABET, REFERENCE_LENGTH
from gateway.domain.money import Money

__all__ = ["CarePolicy", "ComplaintPolicy", "DisputePolicy", "NumberChangePolicy", "StatementPolicy",
           "REFERENCE_ALPHABET", "REFERENCE_LENGTH", "format_reference"]


@dataclass(frozen=True)
class StatementPolicy:
    """004 clause 7.6: a detailed statement "on payment of the charge", not owed for an old period or a late ask."""

    #: Added to the next bill when a statement is accepted (profile ``statement.charge``).
    charge: Money
    #: "asked for a period prior to 45 days": refused once the period ended more than this long ago.
    max_period_age: timedelta
    #: "asked after 15 days of receipt of the bill statement": refused after this long from the issue day.
    max_after_issue: timedelta
    #: Usage lines per statement SMS (a statement longer than that is sent in several messages).
    lines_per_sms: int


@dataclass(frozen=True)
class DisputePolicy:
    """004 clauses 3(B).4 and 9.3: a disputed bill is settled within 7 days, or 45 with another provider."""

    #: "settled within 7 days if the disputed bill statement is concerned with Smart own network".
    own_network: timedelta
    #: "within 45 days if the dispute is to be settled upon obtaining details through other service provider".
    other_provider: timedelta
    #: Longest reason kept (``DISPUTE REASON``).
    max_reason_length: int


@dataclass(frozen=True)
class ComplaintPolicy:
    """004 clauses 9.1 and 10.1: a complaint is notified in writing; an oral one is not acted on."""

    #: Longest complaint text kept; a longer one is refused, not cut (the subscriber's words are the record).
    max_length: int


@dataclass(frozen=True)
class NumberChangePolicy:
    """004 clause 5.1: an application with the fee Smart determines; changed within 7 days; none with arrears."""

    #: "application fees as determined by Smart": told to the subscriber, paid when the application is signed.
    fee: Money
    #: "The number shall be changed within 7 days after taking necessary actions into it."
    change_within: timedelta


@dataclass(frozen=True)
class CarePolicy:
    """The requests a profile offers (None: not offered: no keyword, no menu item)."""

    statement: StatementPolicy | None = None
    dispute: DisputePolicy | None = None
    complaint: ComplaintPolicy | None = None
    number_change: NumberChangePolicy | None = None

    @property
    def offered(self) -> frozenset[str]:
        """Names of the requests offered: ``statement``, ``dispute``, ``complaint``, ``number_change``."""
        return frozenset(name for name in ("statement", "dispute", "complaint", "number_change")
                         if getattr(self, name) is not None)


def format_reference(prefix: str, random_indices: list[int]) -> str:
    """``PREFIX-XXXX-XXXX`` from random indices into the alphabet (the caller draws them)."""
    chars = "".join(REFERENCE_ALPHABET[i % len(REFERENCE_ALPHABET)] for i in random_indices)
    return f"{prefix}-{chars[:4]}-{chars[4:REFERENCE_LENGTH]}"
