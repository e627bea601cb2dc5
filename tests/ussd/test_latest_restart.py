"""A path whose session ids come back for later dialogues (USSD over SMPP): ``LatestRequest.restart``.

Driven through ``Dialogues.handle_latest`` on both backends; the SMPP side itself is
tested in ``tests/smpp/test_ussd_over_smpp.py``.
"""

from __future__ import annotations

from gateway.app import build_gateway
from gateway.ussd.africastalking import render
from gateway.ussd.request import Close, LatestRequest
from tests.support.ussd import ME, make_settings

SID = "smpp:reused"


async def latest(dialogues, code: str, first: bool, *answers: str, restart: bool = True) -> str:
    return render(await dialogues.handle_latest(
        LatestRequest(SID, code, ME, first, answers, restart=restart), ME))


async def test_a_first_request_on_a_live_session_id_starts_a_new_dialogue(world):
    """Without ``restart`` a first request on a dialogue still going is its resend (the last screen
    again); with it, a new dialogue: the centre gave a new dial the id of one we had not seen end, so
    that one was cut off on its menu and is offered back."""
    world.add()
    dialogues = world.gateway.dialogues
    assert (await latest(dialogues, "*100#", True)).startswith("CON Smart self-care")
    assert (await latest(dialogues, "", False, "2")).startswith("CON Top up")
    assert (await latest(dialogues, "*100#", True, restart=False)).startswith("CON Top up")
    await dialogues.settle()
    assert (await latest(dialogues, "*100#", True)).startswith("CON Continue where you left off?")
    assert (await latest(dialogues, "", False, "2")).startswith("CON Smart self-care")
    assert (await latest(dialogues, "", False, "1")).startswith("END Main balance: $6.00")
    await dialogues.close(SID, ME, Close.ABANDONED)
    assert (await latest(dialogues, "*124#", True)).startswith("END Main balance: $6.00")


async def test_a_first_request_on_an_ended_session_id_is_not_a_resend(world):
    """After our END the same id dialled again is walked anew: the top-up's result is not replayed
    into the new dialogue, a new PIN is redeemed."""
    world.add()
    first, second = world.vouchers(2)
    dialogues = world.gateway.dialogues
    assert (await latest(dialogues, "*123#", True, first)).startswith("END Top-up of $5.00 successful")
    assert (await latest(dialogues, "*123#", True, second)).startswith("END Top-up of $5.00 successful. "
                                                                         "Balance: $16.00")
    assert world.gateway.services.check_balance(ME).main.minor == 1600


async def test_the_new_dialogues_code_is_kept_across_a_restart(world):
    """The row of the reused id takes the new dialogue's code: a gateway started afterwards walks it."""
    world.add()
    dialogues = world.gateway.dialogues
    assert (await latest(dialogues, "*123#", True)).startswith("CON Enter the card PIN")
    await dialogues.close(SID, ME, Close.ABANDONED)
    await dialogues.settle()  # the earlier dialogue's row is written: the new one writes over it
    assert [tuple(r) for r in world.sql("SELECT service_code FROM ussd_sessions")] == [("*123#",)]
    assert (await latest(dialogues, "*100#", True)).startswith("CON Smart self-care")
    await dialogues.settle()
    assert [tuple(r) for r in world.sql("SELECT service_code FROM ussd_sessions")] == [("*100#",)]
    again = build_gateway(make_settings(world.tmp / "gw.db", world.gateway.settings.database.url),
                          clock=world.clock)
    try:
        assert (await latest(again.dialogues, "", False, "1")).startswith("END Main balance: $6.00")
    finally:
        again.close()
