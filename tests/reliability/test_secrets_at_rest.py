"""No voucher PIN or ID number in a copy of the database after a real run of every service."""

from __future__ import annotations

from pathlib import Path

from tests.support.audit import file_rows
from tests.support.backends import file_leaks
from tests.support.seed import Seed, seed
from tests.support.servers import sms_env
from tests.support.waiting import wait_for


def _mistyped(pin: str) -> str:
    """``pin`` with its last digit changed: one digit off a live voucher."""
    return pin[:-1] + str((int(pin[-1]) + 1) % 10)


def test_full_run_on_both_channels_leaves_no_secret_in_the_database(tmp_path: Path, server_factory,
                                                                    smsc_factory) -> None:
    """Every service by USSD and SMS, right and wrong; then the .db, -wal, -shm, every table and the log hold no PIN or
    ID number."""
    data: Seed = seed(tmp_path / "gateway.db", subscribers=5, vouchers=8)
    me, friend, victim_u, victim_s, texter = data.numbers
    nat = {n: "0" + n[3:] for n in data.numbers}
    pins = data.pins
    live = pins[7]  # never redeemed: its near misses must not be kept either
    wrong_pin, wrong_id = "98765432109876", "ZZ998877"
    smsc = smsc_factory(tmp_path).start()
    server = server_factory(tmp_path, **sms_env(smsc)).start()
    wait_for(smsc.bound, 10, "the bind")

    screens = [
        *server.dial("u1", "*124#", me),
        *server.dial("u2", f"*123*{pins[0]}#", me),
        *server.dial("u3", f"*123*{pins[1]}*{nat[friend]}#", me),
        *server.dial("u4", "*100#", me, "2", "2", nat[friend], pins[2]),
        *server.dial("u5", "*100#", me, "2", "1", _mistyped(live)),
        *server.dial("u6", f"*123*{wrong_pin}#", friend),
        *server.dial("u7", "*100#", friend, "3", nat[victim_u], wrong_id, "1"),
        *server.dial("u8", "*100#", friend, "3", nat[victim_u], data.id_numbers[victim_u], "1"),
        *server.dial("u9", "*100#", me, "4", "2"),
    ]
    # A resent last request is answered from the session record.
    assert server.dial("u2", f"*123*{pins[0]}#", me)[-1] == screens[1]
    assert sum("successful" in s or "sent to" in s for s in screens) == 3, screens
    assert any("blocked at" in s for s in screens), screens

    messages = [
        (texter, "888", "BAL"),
        (texter, "888", f"TOP {pins[3]}"),
        (texter, "888", f"TOP {pins[4]} {nat[friend]}"),
        (texter, "888", f"TOP {_mistyped(live)}"),
        (texter, "888", f"TOP {live[:4]} {live[4:8]}-{live[8:]}9"),  # too long: not a PIN
        (texter, "888", f"LOST {nat[victim_s]} {wrong_id}"),
        (texter, "888", f"LOST {nat[victim_s]} {data.id_numbers[victim_s]}"),
        (texter, "888", "LANG KM"),
        (texter, "1204", "STOP"),
        (texter, "1204", "START"),
    ]
    for n, (source, to, text) in enumerate(messages, 1):  # one at a time: each answer depends on the last
        smsc.mo(source, to, text)
        wait_for(lambda n=n: file_rows(server.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'")[0][0] >= n,
                 10, f"{text!r} answered")
    replies = [r["text"] for r in file_rows(server.db, "SELECT text FROM sms_outbox WHERE kind = 'reply' ORDER BY id")]
    assert len(replies) == len(messages)
    assert sum("successful" in r or "sent to" in r for r in replies[:3]) == 2, replies
    assert file_rows(server.db, "SELECT count(*) FROM topups")[0][0] == 5
    assert file_rows(server.db, "SELECT status FROM vouchers WHERE id = 8")[0][0] == "active"

    server.kill()  # the -wal and -shm files stay as a crash leaves them
    secrets = [*pins, _mistyped(live), wrong_pin, wrong_id, *data.id_numbers.values()]
    assert file_leaks(server.db, secrets) == []
    log = server.log.read_text(encoding="utf-8")
    assert [s for s in secrets if s in log] == []
