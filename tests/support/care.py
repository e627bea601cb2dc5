"""Postpaid lines and bills for the customer-care tests, written through the store port.

``postpaid_line`` opens a line's deposit and ``give_bill`` stores a bill and
charges it to the dues, each in one transaction, as ``subscribers add
--deposit`` and ``bills import`` do (those are h15-np1's; these helpers use
only the port and the domain rules, so the tests do not wait for them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.domain import postpaid as rules
from gateway.domain.money import Money


def postpaid_line(services: Any, msisdn: str, deposit_minor: int, **kwargs: Any) -> str:
    """A live postpaid subscriber on ``msisdn`` holding a security deposit (004 1.5, 7.1)."""
    profile = services.profile
    services.add_subscriber(msisdn, balance=Money(0, profile.currency), type_="postpaid", **kwargs)
    now = services.ctx.clock.now()
    with services.ctx.store.write_uow() as uow:
        record = uow.accounts.load_live(msisdn, profile.currency)
        account, entries = rules.PostpaidAccount.opening(Money(deposit_minor, profile.currency), now)
        uow.postpaid.save(record.subscriber_id, account, entries, now=now, reference="deposit", channel="cli")
    return msisdn


def give_bill(services: Any, msisdn: str, period_start: date, period_end: date, issued_on: date,
              amount_minor: int) -> int:
    """A bill of the line, charged to its dues (004 7.3, 7.4); returns its id."""
    profile = services.profile
    now = services.ctx.clock.now()
    assert profile.policy.postpaid is not None
    with services.ctx.store.write_uow() as uow:
        record = uow.accounts.load_live(msisdn, profile.currency)
        bill = rules.new_bill(period_start, period_end, issued_on, Money(amount_minor, profile.currency),
                              profile.policy.postpaid)
        bill_id: int = uow.postpaid.add_bill(record.subscriber_id, bill, now)
        account, entries = rules.charge_bill(record.postpaid, bill, now)
        uow.postpaid.save(record.subscriber_id, account, entries, now=now, reference="bill", channel="import")
        uow.postpaid.update_bills(rules.allocate(uow.postpaid.bills(record.subscriber_id, profile.currency),
                                                 account.dues))
    return bill_id


def pay(services: Any, msisdn: str, amount_minor: int) -> None:
    """A payment lowering the dues (004 7.4), as ``payments import`` records it."""
    profile = services.profile
    now = services.ctx.clock.now()
    with services.ctx.store.write_uow() as uow:
        record = uow.accounts.load_live(msisdn, profile.currency)
        account, entries = rules.apply_payment(record.postpaid, Money(amount_minor, profile.currency), now)
        uow.postpaid.save(record.subscriber_id, account, entries, now=now, reference="pay", channel="import")
        uow.postpaid.update_bills(rules.allocate(uow.postpaid.bills(record.subscriber_id, profile.currency),
                                                 account.dues))
