"""USSD over SMPP end to end: the gateway bound to the simulator playing each vendor's USSD centre.

Every screen crosses SMPP twice (the centre's deliver_sm, the gateway's submit_sm) on real
sockets on 127.0.0.1; the dialogues run on a real database.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from gateway.clock import FixedClock
from gateway.logs import configure_logging
from tests.support.backends import BACKENDS, database_url, leaks, rows
from tests.support.ussd import ME
from tests.support.ussd_line import UssdLine
from tests.support.waiting import eventually
from tests.support.world import START

VENDORS = ["generic", "sixdee", "mica", "msisdn"]
MAIN = "Smart self-care\n1 Balance"
PIN_PROMPT = "Enter the card PIN:\n0 Back"
BALANCE = "END Main balance: $6.00, valid until 01/12/2026."
TOPPED_UP = "END Top-up of $5.00 successful. Balance: $11.00, valid until 01/12/2026."


@pytest.fixture(params=VENDORS)
async def line(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UssdLine]:
    running = await UssdLine(request.param, tmp_path, FixedClock(START)).start()
    running.add()
    yield running
    await running.close()


def session_rows(line: UssdLine) -> list[dict[str, object]]:
    assert line.gateway is not None
    return [json.loads(r[0]) for r in rows(line.gateway.store, "SELECT state FROM ussd_sessions")]


async def test_balance_in_one_step(line: UssdLine) -> None:
    assert await line.walk("*124#") == [BALANCE]


async def test_direct_dial_top_up_and_the_balance_after_it(line: UssdLine) -> None:
    """``*123*PIN#`` credits on the first message; a new ``*124#`` then shows the new balance
    (not a replay of the first one, whatever the vendor's key: the MSISDN vendor's is the same)."""
    [pin] = line.vouchers()
    assert await line.walk("*124#") == [BALANCE]
    assert await line.walk(f"*123*{pin}#") == [TOPPED_UP]
    assert line.balance() == 1100
    assert (await line.walk("*124#"))[0].startswith("END Main balance: $11.00")


async def test_the_same_pin_dialled_again_is_told_the_card_was_used(line: UssdLine) -> None:
    """A second ``*123*PIN#`` is a new dialogue, whatever the vendor's key (the MSISDN vendor's is the
    same both times): it is told the card was used, never shown the first one's success again."""
    [pin] = line.vouchers()
    assert await line.walk(f"*123*{pin}#") == [TOPPED_UP]
    assert await line.walk(f"*123*{pin}#") == ["END This card has already been used."]
    assert line.balance() == 1100


async def test_a_menu_walk_to_a_top_up(line: UssdLine) -> None:
    [pin] = line.vouchers()
    screens = await line.walk("*100#", "2", "1", pin)
    assert screens[0].startswith(MAIN)
    assert screens[1].startswith("Top up\n1 My number")
    assert screens[2:] == [PIN_PROMPT, TOPPED_UP]
    assert line.balance() == 1100


async def test_a_user_abort_closes_the_dialogue_and_a_new_dial_starts_afresh(line: UssdLine) -> None:
    """The centre's hang-up reaches the dialogues as abandoned; dialling again starts at the main menu."""
    [pin] = line.vouchers()
    first = await line.dial("*100#")
    assert (await line.answer(first["session"], "2"))["text"].startswith("Top up")
    await line.abort(first["session"])
    await eventually(lambda: [r for r in session_rows(line) if r.get("ended") == "abandoned"])
    again = await line.dial("*100#")
    assert again["text"].startswith(MAIN) and not again["end"]
    assert (await line.answer(again["session"], "2"))["text"].startswith("Top up")
    assert (await line.answer(again["session"], "1"))["text"] == PIN_PROMPT
    assert (await line.answer(again["session"], pin)) == {"session": again["session"], "text": TOPPED_UP[4:],
                                                          "end": True}


async def test_sms_still_works_on_the_same_bind(line: UssdLine) -> None:
    """An MO ``BAL`` is answered by SMS while a USSD dialogue is open on the same bind; the USSD
    screens are not SMS."""
    assert line.sim is not None and line.http is not None
    open_dialogue = await line.dial("*100#")
    async with line.http.post(f"{line.sim.control_url}/mo", json={"from": ME, "to": "888", "text": "BAL"}) as r:
        assert r.status == 202
    replies = await eventually(lambda: line.sim.simulator.mt.query(to=ME))  # type: ignore[union-attr]
    assert [m.source for m in replies] == ["888"] and "$6.00" in replies[0].text
    assert (await line.answer(open_dialogue["session"], "1"))["text"] == BALANCE[4:]
    assert len(line.sim.simulator.mt.query(to=ME)) == 1


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str:
    return database_url(request)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_gateway_restart_mid_dialogue_carries_on(tmp_path: Path, backend_url: str, vendor: str) -> None:
    """The gateway stops (unbinds, closes its database) between two answers and a new one binds:
    the next answer continues the dialogue from the path in the store."""
    line = await UssdLine(vendor, tmp_path, FixedClock(START), url=backend_url).start()
    try:
        line.add()
        [pin] = line.vouchers()
        first = await line.dial("*100#")
        await line.answer(first["session"], "2")
        await line.restart()
        assert (await line.answer(first["session"], "1"))["text"] == PIN_PROMPT
        assert (await line.answer(first["session"], pin))["text"] == TOPPED_UP[4:]
        assert line.balance() == 1100
    finally:
        await line.close()


@pytest.mark.parametrize("vendor", ["generic", "sixdee", "mica"])
async def test_a_session_number_used_again_is_a_new_dialogue_with_its_own_code(tmp_path: Path, vendor: str) -> None:
    """The centre gives a later dialogue the number an ended one had (same subscriber, same key):
    it starts afresh on its own code, and keeps that code across a gateway restart."""
    line = await UssdLine(vendor, tmp_path, FixedClock(START)).start()
    try:
        line.add()
        [pin] = line.vouchers()
        assert line.sim is not None
        line.sim.simulator.ussd.number_from(7)
        first = await line.dial("*100#")
        assert (await line.answer(first["session"], "2"))["text"].startswith("Top up")
        await line.abort(first["session"])
        line.sim.simulator.ussd.number_from(7)
        again = await line.dial(f"*123*{pin}#")  # a code of its own, the same session number
        assert (again["text"], again["end"]) == (TOPPED_UP[4:], True)
        line.sim.simulator.ussd.number_from(7)
        menu = await line.dial("*100#")
        assert menu["text"].startswith(MAIN)
        await line.restart()
        assert (await line.answer(menu["session"], "1"))["text"] == BALANCE[4:].replace("6.00", "11.00")
    finally:
        await line.close()


async def test_no_number_or_pin_in_the_logs_session_ids_or_tables(line: UssdLine) -> None:
    """A top-up by ``*123*PIN#``, a menu walk and a hang-up: the PIN is stored nowhere in clear, the
    session ids given to the dialogues hold no phone number, and the log shows it masked."""
    stream = io.StringIO()
    configure_logging("info", "json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        [pin] = line.vouchers()
        assert await line.walk(f"*123*{pin}#") == [TOPPED_UP]
        walk = await line.dial("*100#")
        await line.answer(walk["session"], "2")
        await line.abort(walk["session"])
        await eventually(lambda: [r for r in session_rows(line) if r.get("ended") == "abandoned"])
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    assert line.gateway is not None
    ids = [r[0] for r in rows(line.gateway.store, "SELECT session_id FROM ussd_sessions")]
    assert ids and all(i.startswith("smpp:") and ME not in i and ME[3:] not in i for i in ids)
    assert leaks(line.gateway.store, [pin]) == []
    output = stream.getvalue()
    assert "ussd_turn" in output and "ussd_closed" in output and "855*****678" in output
    assert ME not in output and pin not in output


async def test_a_dialogue_cut_off_on_a_menu_is_offered_back_on_the_next_dial(line: UssdLine) -> None:
    """The network loses the dialogue on the top-up menu (the centre tells no one); dialled again a
    minute later it is offered back, and Continue carries on from that menu to a top-up."""
    from datetime import timedelta

    [pin] = line.vouchers()
    first = await line.dial("*100#")
    assert (await line.answer(first["session"], "2"))["text"].startswith("Top up\n1 My number")
    assert line.gateway is not None
    await line.gateway.dialogues.settle()
    line.clock.advance(timedelta(seconds=60))
    again = await line.dial("*100#")
    assert (again["text"], again["end"]) == ("Continue where you left off?\n1 Continue\n2 Start again", False)
    assert (await line.answer(again["session"], "1"))["text"].startswith("Top up\n1 My number")
    assert (await line.answer(again["session"], "1"))["text"] == PIN_PROMPT
    assert (await line.answer(again["session"], pin))["text"] == TOPPED_UP[4:]
    assert line.balance() == 1100
