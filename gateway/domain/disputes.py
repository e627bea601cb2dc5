"""Bill disputes (004 clauses 3(B).4 and 9.3).

``seeds/004_1cabed6f540fdada.txt``: "If any dispute arises in respect of bill
statement, the subscribers must deposit the amount of the bill statement as
a security deposit pending the settlement of such dispute" (3(B).4); "the
dispute shall be settled within 7 days if the disputed bill statement is
concerned with Smart own network and within 45 days if the dispute is to be
settled upon obtaining details through other service provider, and
information on the final bill shall be given to the subscriber" (9.3).

Whether another provider is involved is known only to the operator, when
resolving; until then a dispute is due by the 7-day deadline and the
subscriber is told both dates. A resolution either rejects the dispute (the
final bill is the disputed amount) or upholds it with a credit of at most the
disputed amount (the whole of it unless the operator names less); the final
bill is what remains. A resolution after its deadline is still made (the
subscriber needs the answer) and recorded as late.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from gateway.domain.care import DisputePolicy
from gateway.domain.errors import InvalidAmount
from gateway.domain.money import Money


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Deadlines:
    #: 9.3: own network.
    own_network: datetime
    #: 9.3: details from another service provider.
    other_provider: datetime


@dataclass(frozen=True)
class Settlement:
    status: DisputeStatus
    credit: Money
    #: The final bill: the disputed amount less the credit.
    final: Money


def deadlines(raised_at: datetime, policy: DisputePolicy) -> Deadlines:
    return Deadlines(raised_at + policy.own_network, raised_at + policy.other_provider)


def settle(disputed: Money, *, upheld: bool, credit: Money | None = None) -> Settlement:
    """The outcome of a resolution.

    Raises:
        InvalidAmount: a credit with a rejection, or a credit of nothing or of more than the disputed amount.
    """
    if not upheld:
        if credit is not None:
            raise InvalidAmount("a rejected dispute has no credit")
        return Settlement(DisputeStatus.REJECTED, Money.zero(disputed.currency), disputed)
    given = disputed if credit is None else credit
    if given.minor <= 0:
        raise InvalidAmount("the credit must be more than zero (or reject the dispute)")
    if given.minor > disputed.minor:
        raise InvalidAmount(f"the credit {given.display()} is more than the disputed {disputed.display()}")
    return Settlement(DisputeStatus.UPHELD, given, disputed - given)


def is_late(raised_at: datetime, resolved_at: datetime, policy: DisputePolicy, *, other_provider: bool) -> bool:
    """Whether a resolution came after the deadline that applied to it."""
    limit = deadlines(raised_at, policy)
    return resolved_at > (limit.other_provider if other_provider else limit.own_network)
