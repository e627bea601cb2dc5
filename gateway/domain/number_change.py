"""Changing a subscriber's mobile number (004 clause 5.1).

``seeds/004_1cabed6f540fdada.txt`` clause 5.1: "A subscriber shall have to
sign and file application fees as determined by Smart to change its Mobile
Number. The number shall be changed within 7 days after taking necessary
actions into it. However; (a) Smart may reject such application without any
reason. (b) If there is an arrear, no action shall be taken, on the
application filed to change the Mobile Number until and unless an arrear is
cleared."

A request by USSD or SMS is refused while the line has arrears (bills past
their due date and not paid); otherwise it is recorded under a reference and
the subscriber is told the fee and where to sign. Arrears are computed by the
caller from the bills (a prepaid line has none).
"""

from __future__ import annotations

from gateway.domain.errors import ArrearsOutstanding
from gateway.domain.money import Money


def check_number_change(arrears: Money) -> None:
    """Refuse a number change while anything is overdue.

    Raises:
        ArrearsOutstanding
    """
    if arrears.minor > 0:
        raise ArrearsOutstanding(arrears)
