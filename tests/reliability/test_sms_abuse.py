"""Abuse over SMS: the wrong-PIN lockout spans USSD and SMS; a flood of MO is limited and not answered in kind.

Both show on ``/metrics`` as the dashboard reads them: the lockout in force
(``selfcare_lockouts``) and the MO refused by the limit.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.audit import file_rows
from tests.support.seed import seed
from tests.support.servers import profile_with, sms_env
from tests.support.waiting import wait_for


def test_wrong_pins_over_both_channels_lock_both(tmp_path: Path, server_factory, smsc_factory) -> None:
    """Three wrong PINs by USSD and two by SMS lock the number on both channels, even for a good PIN."""
    data = seed(tmp_path / "gateway.db", subscribers=1, vouchers=1)
    number = data.numbers[0]
    smsc = smsc_factory(tmp_path).start()
    server = server_factory(tmp_path, GATEWAY_JOBS_FIGURES_INTERVAL_SECONDS="0.2", **sms_env(smsc)).start()
    wait_for(smsc.bound, 10, "the bind")
    wait_for(lambda: 'selfcare_lockouts{kind="topup"} 0.0' in server.get("/metrics")[1], 5, "the first figures")
    for n in range(3):
        server.dial(f"pin-{n}", f"*123*1111222233{n:02d}#", number)
    for n in range(2):
        smsc.mo(number, "888", f"TOP 99998888777{n}")
        wait_for(lambda n=n: len(smsc.mt()) == n + 1, 10, "the SMS answer")
    assert "locked" in str(smsc.mt()[-1]["text"]).lower() or "try again" in str(smsc.mt()[-1]["text"]).lower()
    ussd = server.dial("good", f"*123*{data.pins[0]}#", number)[-1]
    smsc.mo(number, "888", f"TOP {data.pins[0]}")
    wait_for(lambda: len(smsc.mt()) == 3, 10, "the SMS answer")
    assert "successful" not in ussd and "successful" not in str(smsc.mt()[-1]["text"])
    assert file_rows(server.db, "SELECT count(*) FROM topups")[0][0] == 0
    wait_for(lambda: 'selfcare_lockouts{kind="topup"} 1.0' in server.get("/metrics")[1], 5,
             "the lockout on /metrics")


def test_mo_flood_is_limited_and_answered_once(tmp_path: Path, server_factory, smsc_factory) -> None:
    """Forty BAL in a burst with a limit of 5 a minute get 5 balances and one 'too many requests', and USSD shares the
    limit."""
    data = seed(tmp_path / "gateway.db", subscribers=1)
    number = data.numbers[0]
    smsc = smsc_factory(tmp_path).start()
    server = server_factory(tmp_path, GATEWAY_OPERATOR_PROFILE=profile_with(tmp_path, 5), **sms_env(smsc)).start()
    wait_for(smsc.bound, 10, "the bind")
    for n in range(40):
        smsc.mo(number, "888", "BAL" + " " * n)
    wait_for(lambda: file_rows(server.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'")[0][0] == 40,
             10, "every MO handled")
    wait_for(lambda: file_rows(server.db, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')")[0][0]
             == 0, 10, "the replies sent")
    texts = [str(m["text"]) for m in smsc.mt()]
    assert sum("balance" in t.lower() for t in texts) == 5
    assert sum("too many" in t.lower() for t in texts) == 1
    assert len(texts) == 6
    assert "selfcare_sms_rate_limited_total 35.0" in server.get("/metrics")[1]
    assert "Too many requests" in server.dial("after", "*124#", number)[-1]
