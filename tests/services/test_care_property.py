"""Over any sequence of imported bills and usage, payments, statements and disputes (settled either way),
the postpaid buckets equal their ledger; the dues are exactly the bills (with the statement charges each
took) less the payments, the credits of upheld disputes and what open disputes hold; the unbilled usage is
exactly the usage no bill took yet and the charges waiting for the next bill
(seeds/004_1cabed6f540fdada.txt 3(B).4, 7.3, 7.6, 9.3). SQLite, as tests/services/test_ledger_property.py."""

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
from gateway.store import open_store
from tests.support.care import pay, postpaid_line
from tests.support.world import services_for

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
        # A voice call of so many seconds, started so many minutes before now (in a billed period or not).
        st.tuples(st.just("usage"), st.integers(min_value=1, max_value=3_600),
                  st.integers(min_value=0, max_value=60 * 24 * 60)),
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
        services = services_for(store, clock, profile, texts=True)
        try:
            postpaid_line(services, ME, 500_000)
            billed = paid = credited = charged = months = 0
            usage: list[tuple[datetime, int]] = []  # unbilled records: when they started, what they added
            for n, op in enumerate(ops):
                try:
                    if op[0] == "bill":
                        today = clock.now().astimezone(KTM).date()
                        start = date(2026 + months // 12, months % 12 + 1, 1)
                        months += 1
                        end = start + timedelta(days=27)
                        csv = Path(tmp) / f"bills{n}.csv"
                        csv.write_text("msisdn,period_start,period_end,issued_on,amount\n"
                                       f"{ME},{start},{end},{max(today, end)},{op[1] // 100}.{op[1] % 100:02d}\n")
                        services.import_bills(csv)
                        billed += op[1] + charged  # 7.6: the waiting statement charges go on this bill
                        charged = 0
                        until = datetime.combine(end + timedelta(days=1), datetime.min.time(), KTM)
                        usage = [(at, amount) for at, amount in usage if at >= until]  # 7.3: billed by it
                    elif op[0] == "usage":
                        at = clock.now() - timedelta(minutes=op[2])
                        csv = Path(tmp) / f"usage{n}.csv"
                        csv.write_text(f"msisdn,started_at,kind,quantity\n{ME},{at.isoformat()},voice,{op[1]}\n")
                        usage.append((at, services.import_usage(csv).unbilled.minor))
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
            assert row[3] == charged + sum(amount for _, amount in usage)
        finally:
            store.close()
