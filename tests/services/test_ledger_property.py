"""Rule 9: over any sequence of operations, balances equal the ledger."""

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

operations = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(min_value=1, max_value=24 * 40)),
        st.tuples(st.just("topup"), st.integers(min_value=1, max_value=5000), st.integers(min_value=1, max_value=60)),
        st.tuples(st.just("promo"), st.integers(min_value=1, max_value=3000), st.integers(min_value=1, max_value=40)),
        st.tuples(st.just("lifecycle")),
        st.tuples(st.just("wrong_pin")),
        st.tuples(st.just("balance")),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start_balance=st.integers(min_value=0, max_value=10_000), valid_days=st.integers(1, 40), ops=operations)
def test_balances_always_equal_the_ledger(start_balance, valid_days, ops):
    """Top-ups, promos, expiry, forfeits, recycling and refusals never break sum(ledger) == balance."""
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp))
        try:
            cents = f"{start_balance // 100}.{start_balance % 100:02d}"
            world.add(ME, cents, valid_days=valid_days)
            for op in ops:
                kind = op[0]
                try:
                    if kind == "advance":
                        world.clock.advance(timedelta(hours=op[1]))
                    elif kind == "topup":
                        amount = f"{op[1] // 100}.{op[1] % 100:02d}"
                        [pin] = world.vouchers(amount=amount, days=op[2])
                        world.services.top_up(TopUp(ME, pin, Channel.USSD))
                    elif kind == "promo":
                        world.services.grant_promo(ME, world.money(f"{op[1] // 100}.{op[1] % 100:02d}"), op[2])
                    elif kind == "lifecycle":
                        world.services.run_lifecycle()
                    elif kind == "wrong_pin":
                        world.services.top_up(TopUp(ME, "11111111111111", Channel.SMS))
                    else:
                        view = world.services.check_balance(ME)
                        assert view.main.minor >= 0 and view.promo.minor >= 0 and view.restorable.minor >= 0
                except GatewayError:
                    pass  # refusals (locked, recycled, ...) are part of the sequence
                world.assert_ledger_matches()
        finally:
            world.services.ctx.store.close()
