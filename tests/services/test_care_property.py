"""Over any sequence of bills, payments, statements and disputes (settled either way), the postpaid buckets
equal their ledger, and the dues are exactly the bills less the payments and the credits of upheld disputes
(seeds/004_1cabed6f540fdada.txt 3(B).4, 7.6, 9.3). SQLite, as tests/services/test_ledger_property.py."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.clock import FixedClock
from gateway.domain.account import Bucket
from gateway.domain.channels import Channel
from gateway.domain.errors import GatewayError
from gateway.domain.money import Money
from gateway.profile import load_profile
from gateway.services import Context, Services
from gateway.store import open_store
from menus.catalog import Catalog
from menus.replies import Replies
from tests.care import give_bill, pay, postpaid_line

ME = "9779801234567"
KTM = ZoneInfo("Asia/Kathmandu")

_bill = st.tuples(st.just("bill"), st.integers(min_value=0, max_value=500_000))
_dispute = st.tuples(st.just("dispute"))
#: Upheld or not, and the credit as a percentage of the disputed amount (0: the whole of it; above 100: refused).
_resolve = st.tuples(st.just("resolve"), st.booleans(), st.integers(min_value=0, max_value=110))
operations = st.lists(
    st.one_of(
        _bill, _dispute, _resolve,
        st.tuples(st.just("pay"), st.integers(min_value=1, max_value=500_000)),
        st.tuples(st.just("days"), st.integers(min_value=1, max_value=40)),
        st.tuples(st.just("statement")),
    ),
    min_size=1,
    max_size=20,
).flatmap(lambda ops: st.tuples(_bill, _dispute).map(lambda first: [*first, *ops]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_dues_and_unbilled_always_equal_the_ledger_and_the_bills(ops):
    with tempfile.TemporaryDirectory() as tmp:
        profile = load_profile("smart-np")
        store = open_store(Path(tmp) / "gateway.db", migrate=True, synchronous="normal")
        clock = FixedClock(datetime(2026, 1, 10, 10, tzinfo=KTM).astimezone(UTC))
        services = Services(Context(store=store, clock=clock, profile=profile, pin_secret="s" * 20,
                                    notices=Replies(Catalog.for_profile(profile), profile)))
        try:
            postpaid_line(services, ME, 500_000)
            billed = paid = credited = charged = months = 0
            for op in ops:
                try:
                    if op[0] == "bill":
                        today = clock.now().astimezone(KTM).date()
                        start = date(2026 + months // 12, months % 12 + 1, 1)
                        months += 1
                        give_bill(services, ME, start, start + timedelta(days=27), max(today, start + timedelta(days=27)),
                                  op[1])
                        billed += op[1]
                    elif op[0] == "pay":
                        pay(services, ME, op[1])
                        paid += op[1]
                    elif op[0] == "days":
                        clock.advance(timedelta(days=op[1]))
                    elif op[0] == "statement":
                        if services.ask_statement(ME, Channel.SMS).charged:
                            charged += profile.care.statement.charge.minor  # type: ignore[union-attr]
                    elif op[0] == "dispute":
                        services.dispute_bill(ME, "", Channel.SMS)
                        event("disputed")
                    else:
                        for row in services.list_disputes(open_only=True):
                            part = row.amount_minor * op[2] // 100
                            credit = None if part == 0 else Money(part, profile.currency)
                            resolved = services.resolve_dispute(row.reference, upheld=op[1],
                                                                credit=credit if op[1] else None)
                            credited += resolved.credit.minor
                            event(f"resolved {resolved.status}")
                except GatewayError:
                    pass  # refusals (no bill, settled, a credit above the amount, ...) change nothing
            row = store.conn.execute("SELECT id, deposit_minor, dues_minor, unbilled_minor FROM subscribers "
                                     "WHERE msisdn = ?", (ME,)).fetchone()
            totals = store.read_uow().accounts.ledger_totals(row[0])
            assert (totals[Bucket.DEPOSIT], totals[Bucket.DUES], totals[Bucket.UNBILLED]) == tuple(row[1:])
            held = sum(r[0] for r in store.conn.execute("SELECT amount_minor FROM disputes WHERE status = 'open'"))
            assert row[2] == billed - paid - credited - held
            assert row[3] == charged
        finally:
            store.close()
