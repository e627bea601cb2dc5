"""Over any sequence of usage imports, top-ups, promos and time: balances equal the ledger, never below zero."""

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.channels import Channel
from gateway.domain.errors import GatewayError
from gateway.services.model import TopUp
from tests.support.world import make_world

ME = "85512345678"

records = st.lists(st.tuples(st.sampled_from(["voice", "sms", "data"]), st.integers(0, 5_000_000)),
                   min_size=1, max_size=6)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(min_value=1, max_value=24 * 20)),
        st.tuples(st.just("topup"), st.integers(min_value=1, max_value=2000), st.integers(min_value=1, max_value=40)),
        st.tuples(st.just("promo"), st.integers(min_value=1, max_value=500), st.integers(min_value=1, max_value=40)),
        st.tuples(st.just("usage"), records),
        st.tuples(st.just("lifecycle")),
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.integers(min_value=0, max_value=2_000), ops=operations)
def test_usage_and_top_ups_keep_balances_equal_to_the_ledger_and_never_below_zero(start, ops):
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp))
        try:
            world.add(ME, f"{start // 100}.{start % 100:02d}", valid_days=20)
            for n, op in enumerate(ops):
                kind = op[0]
                try:
                    if kind == "advance":
                        world.clock.advance(timedelta(hours=op[1]))
                    elif kind == "topup":
                        [pin] = world.vouchers(amount=f"{op[1] // 100}.{op[1] % 100:02d}", days=op[2])
                        world.services.top_up(TopUp(ME, pin, Channel.USSD))
                    elif kind == "promo":
                        world.services.grant_promo(ME, world.money(f"{op[1] // 100}.{op[1] % 100:02d}"), op[2])
                    elif kind == "usage":
                        path = world.tmp / f"u{n}.csv"
                        at = world.clock.now()
                        path.write_text("msisdn,started_at,kind,quantity\n" + "".join(
                            f"{ME},{(at - timedelta(seconds=i + 1)).isoformat()},{k},{max(q, 1) if k == 'sms' else q}\n"
                            for i, (k, q) in enumerate(op[1])))
                        before = world.services.show_subscriber(ME)["balances"]
                        report = world.services.import_usage(path)
                        after = world.services.show_subscriber(ME)["balances"]
                        spent = (before["main"]["minor"] + before["promo"]["minor"]
                                 - after["main"]["minor"] - after["promo"]["minor"])
                        # What the report says was charged is what left the funds (both read at the same time).
                        assert spent == report.charged.minor
                    else:
                        world.services.run_lifecycle()
                except GatewayError:
                    pass  # refusals (recycled, over the maximum, ...) are part of the sequence
                shown = world.services.show_subscriber(ME)["balances"]
                assert shown["main"]["minor"] >= 0 and shown["promo"]["minor"] >= 0
                world.assert_ledger_matches()
        finally:
            world.services.ctx.store.close()
