"""Rule 6: two processes redeeming the same PINs at once — each PIN credits exactly once."""

import json
import subprocess
import sys
import textwrap
import time

from tests.support.world import SECRET

ME = "85512345678"

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from gateway.clock import SystemClock
    from gateway.domain.channels import Channel
    from gateway.domain.errors import VoucherAlreadyUsed
    from gateway.profile import load_profile
    from gateway.services import Context, Services
    from gateway.services.model import TopUp
    from gateway.store import open_store

    db, secret, go, pins = sys.argv[1], sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4])
    if db.startswith("postgresql:"):
        from gateway.store.postgres.uow import open_database
        store = open_database(db)
    else:
        store = open_store(db, busy_timeout_ms=20000)
    services = Services(Context(store=store, clock=SystemClock(),
                                profile=load_profile("smart-kh"), pin_secret=secret))
    deadline = time.monotonic() + 20
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    won = []
    for pin in pins:
        try:
            services.top_up(TopUp("85512345678", pin, Channel.USSD))
            won.append(pin)
        except VoucherAlreadyUsed:
            pass
    print(json.dumps(won))
    """
)


def test_two_processes_never_redeem_one_voucher_twice(world):
    """Racing processes split the vouchers between them; none is credited twice."""
    world.add(ME, "0.00")
    pins = world.vouchers(count=30, amount="1")
    go = world.tmp / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, world.where, SECRET, str(go), json.dumps(pins)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    time.sleep(0.5)  # both processes imported and waiting
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    won = [json.loads(out) for out, _ in results]
    assert sorted(won[0] + won[1]) == sorted(pins)  # every PIN won exactly once
    assert world.services.check_balance(ME).main.minor == 30 * 100
    assert len(world.sql("SELECT * FROM ledger WHERE kind = 'topup'")) == 30
    world.assert_ledger_matches()
