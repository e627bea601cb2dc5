"""Written complaints (004 clauses 9.1 and 10.1).

``seeds/004_1cabed6f540fdada.txt``: "If there is any complain, a subscriber
shall notify Smart in writing" (9.1); "No action will be taken on the basis
of oral complain other than that of the repair" (10.1). A complaint is
therefore the subscriber's own text (an SMS, or text typed on a USSD
screen), kept as written under a reference; a call is not one, and the reply
texts say so. The text is refused, never cut, when it is empty or too long:
a complaint on record must be what the subscriber wrote.
"""

from __future__ import annotations

import enum

from gateway.domain.care import ComplaintPolicy
from gateway.domain.errors import ComplaintTooLong, EmptyComplaint


class ComplaintStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def complaint_text(text: str, policy: ComplaintPolicy) -> str:
    """The complaint as it is kept: the subscriber's words, runs of white space made one space.

    Raises:
        EmptyComplaint, ComplaintTooLong
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        raise EmptyComplaint("a complaint needs its text: COMPLAINT followed by what is wrong")
    if len(cleaned) > policy.max_length:
        raise ComplaintTooLong(policy.max_length)
    return cleaned
