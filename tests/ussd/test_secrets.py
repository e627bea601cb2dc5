"""A USSD session row keeps no typed PIN or ID number, and still answers a resend after a restart."""

from __future__ import annotations

import aiohttp

from tests.support.ussd import ME, OTHER, Phone, another_gateway


async def test_session_rows_hold_no_secret_and_resends_after_a_restart_get_the_first_screen(
        world, tmp_path, clock) -> None:
    """Top-up, a PIN one digit off a live voucher, a lost-SIM report: no PIN or ID in the rows; resends replay."""
    world.add()
    world.add(OTHER, id_number="KH-445566")
    good, live = world.vouchers(2)
    near = live[:-1] + str((int(live[-1]) + 1) % 10)
    first = [
        (await world.phone.dial("*100#", "2", "1", good, session_id="t1"))[-1],
        (await world.phone.dial("*100#", "2", "1", near, session_id="t2"))[-1],
        (await world.phone.dial("*100#", "3", "0" + OTHER[3:], "KH-445566", "1", session_id="t3"))[-1],
    ]
    assert first[0].startswith("END Top-up of $5.00 successful") and "blocked" in first[2], first
    kept = " ".join(str(v) for r in world.sql("SELECT * FROM ussd_sessions") for v in r)
    kept += " ".join(str(r[0]) for r in world.sql("SELECT request_key FROM topups"))
    assert world.sql("SELECT count(*) FROM ussd_sessions")[0][0] == 3
    for secret in (good, live, near, "445566"):
        assert secret not in kept
    attempts = world.sql("SELECT count(*) FROM topup_attempts")[0][0]
    gateway, server = await another_gateway(tmp_path, clock, world.gateway.settings.database.url)
    try:
        async with aiohttp.ClientSession() as client:
            phone = Phone(server, client)
            again = [(await phone.post("t1", "*100#", f"2*1*{good}"))[1],
                     (await phone.post("t2", "*100#", f"2*1*{near}"))[1],
                     (await phone.post("t3", "*100#", f"3*0{OTHER[3:]}*KH-445566*1"))[1]]
    finally:
        await server.close()
        gateway.close()
    assert again == first
    assert world.sql("SELECT count(*) FROM topups")[0][0] == 1
    assert world.sql("SELECT count(*) FROM topup_attempts")[0][0] == attempts  # the wrong PIN is not tried again
    assert world.gateway.services.check_balance(ME).main.minor == 1100
