"""Dialects that send only the latest answer: the path kept in the session row, resends, close.

Driven through ``Dialogues.handle_latest`` (``tests.support.handset``), on both
backends, over the gateway the USSD tests serve.
"""

from __future__ import annotations

import json

from gateway.app import Worker, build_gateway
from gateway.ussd.request import Close
from tests.support.backends import leaks
from tests.support.handset import Handset
from tests.support.ussd import ME, OTHER, make_settings

MAIN = "CON Smart self-care\n1 Balance"
PIN_PROMPT = "CON Enter the card PIN:\n0 Back"
TOPPED_UP = "END Top-up of $5.00 successful. Balance: $11.00, valid until 01/12/2026."
EXPIRED = "END Your session has expired. Please dial *100# again."


async def _state(world, session_id: str) -> dict:
    await world.gateway.dialogues.settle()
    [row] = world.sql("SELECT state FROM ussd_sessions WHERE session_id = ?", session_id)
    return json.loads(row[0])


def _gateway(world, index: int | None = None):
    """Another gateway on the world's database (``index``: one of two ``serve --workers 2``)."""
    settings = make_settings(world.tmp / "gw.db", world.gateway.settings.database.url)
    worker = Worker() if index is None else Worker(index, 2)
    return build_gateway(settings, clock=world.clock, worker=worker)


async def test_balance_from_the_menu(world):
    """The menu, then one answer: the balance, as on /ussd."""
    world.add()
    phone = Handset(world.gateway.dialogues)
    assert (await phone.dial("*100#")).startswith(MAIN)
    assert (await phone.answer("1")).startswith("END Main balance: $6.00, valid until 01/12/2026.")


async def test_direct_dial_tops_up_on_the_first_request(world):
    """``*123*PIN#`` arrives whole on the first request: handled as ``serviceCode=*123#&text=PIN``."""
    world.add()
    [pin] = world.vouchers()
    assert await Handset(world.gateway.dialogues).dial(f"*123*{pin}#") == TOPPED_UP
    assert world.gateway.services.check_balance(ME).main.minor == 1100


async def test_top_up_from_the_menu_and_its_resends_credit_once(world):
    """Menu, top-up, own number, PIN; the PIN step resent (same sequence, then with none after the
    END) gets the same screen and credits nothing more."""
    world.add()
    [pin] = world.vouchers()
    phone = Handset(world.gateway.dialogues)
    await phone.dial("*100#")
    assert (await phone.answers("2", "1"))[-1] == PIN_PROMPT
    assert await phone.answer(pin) == TOPPED_UP
    assert await phone.answer(pin, sequence=phone.sequence) == TOPPED_UP
    assert await phone.answer(pin, sequence=False) == TOPPED_UP
    assert world.sql("SELECT COUNT(*) FROM topups")[0][0] == 1
    assert world.gateway.services.check_balance(ME).main.minor == 1100


async def test_a_resent_step_is_not_appended_twice(world):
    """``2`` resent with its sequence: the same menu, and the next answer still reads on it."""
    world.add()
    phone = Handset(world.gateway.dialogues)
    await phone.dial("*100#")
    topup = await phone.answer("2")
    assert await phone.answer("2", sequence=phone.sequence) == topup
    assert await phone.answer("1") == PIN_PROMPT  # "2" twice would have asked for a number


async def test_a_dialect_without_sequences_walks_the_whole_dialogue(world):
    """Nalo and Arkesel send no step number: each request is the next answer."""
    world.add()
    [pin] = world.vouchers()
    phone = Handset(world.gateway.dialogues)
    await phone.dial("*100#", sequence=False)
    assert await phone.answer("2", sequence=False) != await phone.answer("0", sequence=False)
    await phone.answer("2", sequence=False)
    await phone.answer("1", sequence=False)
    assert await phone.answer(pin, sequence=False) == TOPPED_UP


async def test_the_dialogue_goes_on_after_a_restart(world):
    """Begun on one gateway, stopped, carried on by a new one over the same database."""
    world.add()
    [pin] = world.vouchers()
    first = _gateway(world)
    try:
        phone = Handset(first.dialogues)
        await phone.dial("*100#")
        await phone.answer("2")
    finally:
        first.close()
    second = _gateway(world)
    try:
        phone.dialogues = second.dialogues
        assert await phone.answer("1") == PIN_PROMPT
        assert await phone.answer(pin) == TOPPED_UP
    finally:
        second.close()


async def test_two_gateways_on_one_database_share_the_path(world):
    """``serve --workers 2``: each step on the other worker; the resend to the first credits nothing."""
    world.add()
    [pin] = world.vouchers()
    a, b = _gateway(world, 0), _gateway(world, 1)
    try:
        on_a, on_b = Handset(a.dialogues), Handset(b.dialogues)
        assert (await on_a.dial("*100#")).startswith(MAIN)
        on_b.session_id, on_b.code, on_b.sequence = on_a.session_id, on_a.code, on_a.sequence
        assert (await on_b.answer("2")).startswith("CON Top up\n1 My number")
        on_a.sequence = on_b.sequence
        assert await on_a.answer("1") == PIN_PROMPT
        on_b.sequence = on_a.sequence
        assert await on_b.answer(pin) == TOPPED_UP
        assert await on_a.answer(pin, sequence=on_b.sequence) == TOPPED_UP
    finally:
        a.close()
        b.close()
    assert world.sql("SELECT COUNT(*) FROM topups")[0][0] == 1


async def test_rows_keep_no_pin_or_id_number(world):
    """A mistyped PIN, the right one, a lost-SIM report: the kept paths hold them sealed, nowhere clear."""
    world.add(ME, id_number="KH-445566")
    [pin] = world.vouchers()
    phone = Handset(world.gateway.dialogues)
    await phone.dial("*100#")
    await phone.answers("2", "1")
    mistyped = pin[:9]
    assert (await phone.answer(mistyped)).startswith("CON A card PIN has 10 to 20 digits.")
    assert await phone.answer(pin) == TOPPED_UP
    path = (await _state(world, phone.session_id))["path"]
    assert path[:2] == ["2", "1"] and all(set(a) == {"s"} for a in path[2:]), path

    reporter = Handset(world.gateway.dialogues, msisdn=OTHER)
    await reporter.dial("*100#")
    await reporter.answers("3", "0" + ME[3:])
    assert await reporter.answer("KH-445566") == f"CON Block the SIM of 0{ME[3:]} now?\n1 Yes\n2 No\n0 Back"
    # The ID typed a request ago is in no row; the report is made with it sealed.
    assert set((await _state(world, reporter.session_id))["path"][-1]) == {"s"}
    assert leaks(world.gateway.store, ["445566", pin, mistyped]) == []
    assert (await reporter.answer("1")).startswith(f"END SIM of 0{ME[3:]} blocked at ")
    assert leaks(world.gateway.store, ["445566", pin, mistyped]) == []


async def test_a_wrong_id_kept_sealed_is_refused_as_typed(world):
    """The sealed ID reaches the report and is compared as the typed one would be."""
    world.add(ME, id_number="KH-445566")
    reporter = Handset(world.gateway.dialogues, msisdn=OTHER)
    await reporter.dial("*100#")
    await reporter.answers("3", "0" + ME[3:], "KH-445567")
    assert await reporter.answer("1") == "END The number and ID do not match our records. 4 attempt(s) left."


async def test_closed_dialogue_answers_expired_and_keeps_where_it_stopped(world):
    """Released on the top-up menu: later requests get the expired screen; the row says where and why."""
    world.add()
    phone = Handset(world.gateway.dialogues)
    await phone.dial("*100#")
    await phone.answer("2")
    await phone.close(Close.ABANDONED)
    assert await phone.answer("1") == EXPIRED
    state = await _state(world, phone.session_id)
    assert (state["ended"], state["screen"], state["secret"], state["path"]) == \
        ("abandoned", "selfcare:topup", False, ["2"])


async def test_a_key_used_again_for_a_new_dialogue_starts_afresh(world):
    """USSD over SMPP keyed by number and code: each dialogue comes under the same key. A first
    request after our END, or after a close, is a new dialogue, not a resend."""
    world.add()
    phone = Handset(world.gateway.dialogues, session_id="smpp:85512345678:*100#")
    await phone.dial("*100#", sequence=False)
    assert (await phone.answer("1", sequence=False)).startswith("END Main balance")
    assert (await phone.dial("*100#", sequence=False)).startswith(MAIN)
    await phone.answer("4", sequence=False)
    await phone.close(Close.ABANDONED)
    assert (await phone.dial("*100#", sequence=False)).startswith(MAIN)
    assert (await phone.answer("2", sequence=False)).startswith("CON Top up")


async def test_a_dialogue_may_give_only_so_many_answers(world):
    """A kept path stops growing where Africa's Talking's ``text`` would: then the expired screen."""
    from gateway.ratelimit import RateLimiter
    from gateway.ussd.dialogue import MAX_ANSWERS

    world.add()
    world.gateway.dialogues.limiter = RateLimiter(0)  # (the limit per minute would stop it first)
    phone = Handset(world.gateway.dialogues)
    await phone.dial("*100#")
    screens = [await phone.answer("0") for _ in range(MAX_ANSWERS + 1)]
    assert set(screens[:MAX_ANSWERS]) == {screens[0]} and screens[0].startswith(MAIN)
    assert screens[-1] == EXPIRED


async def test_unknown_session_gets_the_expired_screen_and_nothing_is_kept(world):
    """An answer for a session never begun here: expired, no row."""
    world.add()
    phone = Handset(world.gateway.dialogues)
    phone.code = "*100#"
    assert await phone.answer("1") == EXPIRED
    await world.gateway.dialogues.settle()
    assert world.sql("SELECT COUNT(*) FROM ussd_sessions")[0][0] == 0


async def test_idle_session_expires(world):
    """An answer after the idle period: the expired screen, as on /ussd."""
    from datetime import timedelta

    world.add()
    phone = Handset(world.gateway.dialogues)
    await phone.dial("*100#")
    world.clock.advance(timedelta(seconds=world.gateway.profile.ussd_session_idle_seconds + 1))
    assert await phone.answer("1") == EXPIRED
