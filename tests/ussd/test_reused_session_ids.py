"""A session id that comes back for a later dialogue: a top-up of the new one is never answered from
the old one's record (the request key holds the dialogue's own id), a resend within one dialogue is.

Driven through ``Dialogues.handle_latest`` (USSD over SMPP's ``restart``), over HTTP with the dialects
that send no step number (a new dial under an ended id starts a new dialogue) and with Africa's Talking
after the old row was swept; over SMPP itself in ``tests/smpp/test_ussd_over_smpp.py``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gateway.config import HTTP_DIALECTS
from gateway.ussd.africastalking import render
from gateway.ussd.request import LatestRequest
from gateway.ussd.sessions import RETENTION
from tests.support.backends import BACKENDS, database_url
from tests.support.ussd import ME, DialectPhone, make_settings, serving

SID = "smpp:reused"
TOPPED_UP = "END Top-up of $5.00 successful. Balance: $11.00, valid until 01/12/2026."
USED = "END This card has already been used."


def topups(world) -> int:
    return int(world.sql("SELECT COUNT(*) FROM topups")[0][0])


async def latest(dialogues, code: str, first: bool, *answers: str) -> str:
    return render(await dialogues.handle_latest(LatestRequest(SID, code, ME, first, answers, restart=True), ME))


async def test_a_new_dialogue_under_a_reused_id_is_told_the_card_was_used(world):
    """``*123*PIN#`` again under the same id (the MSISDN vendor's key) is a new dialogue: "already used"."""
    world.add()
    [pin] = world.vouchers()
    dialogues = world.gateway.dialogues
    assert await latest(dialogues, "*123#", True, pin) == TOPPED_UP
    assert await latest(dialogues, "*123#", True, pin) == USED
    assert topups(world) == 1 and world.gateway.services.check_balance(ME).main.minor == 1100


async def test_a_resend_within_the_dialogue_still_replays(world):
    """The PIN answer resent after our END gets the same screen, nothing is credited twice; a new dial
    under the same id then typing the same PIN is told the card was used."""
    world.add()
    [pin] = world.vouchers()
    dialogues = world.gateway.dialogues
    assert (await latest(dialogues, "*123#", True)).startswith("CON Enter the card PIN")
    assert await latest(dialogues, "", False, pin) == TOPPED_UP
    assert await latest(dialogues, "", False, pin) == TOPPED_UP
    await dialogues.settle()
    assert (await latest(dialogues, "*123#", True)).startswith("CON Enter the card PIN")
    assert await latest(dialogues, "", False, pin) == USED
    assert topups(world) == 1 and world.gateway.services.check_balance(ME).main.minor == 1100


@pytest.fixture(params=BACKENDS)
async def gw(request: pytest.FixtureRequest, tmp_path: Path, clock):
    settings = make_settings(tmp_path / "gw.db", database_url(request), dialects=HTTP_DIALECTS)
    async with serving(settings, clock, tmp_path) as world:
        yield world


@pytest.mark.parametrize("dialect", ["nalo", "arkesel", "madapi"])
async def test_a_new_dial_under_an_ended_id_over_http(gw, dialect):
    """The dialects without a step number: the PIN resent replays; the same id dialled again after the
    idle time (sooner, nothing tells it from a resend), with the same PIN, is told the card was used."""
    gw.add()
    [pin] = gw.vouchers()
    p = DialectPhone(dialect, gw.phone.server, gw.phone.client)
    assert await p.step("again1", "*123#") == "CON Enter the card PIN:"
    assert await p.step("again1", "*123#", pin) == TOPPED_UP
    assert await p.step("again1", "*123#", pin) == TOPPED_UP  # the aggregator resends
    await gw.gateway.dialogues.settle()
    gw.clock.advance(timedelta(seconds=gw.gateway.profile.ussd_session_idle_seconds + 1))
    assert await p.step("again1", f"*123*{pin}#") == USED
    assert topups(gw) == 1 and gw.gateway.services.check_balance(ME).main.minor == 1100


async def test_africas_talking_sending_an_old_session_id_again(world):
    """Within the row's life the same request is a resend (the screen again); once the row is swept
    the same id and PIN are a new dialogue, told the card was used."""
    world.add()
    [pin] = world.vouchers()
    assert await world.phone.post("at1", "*123#", pin) == (200, TOPPED_UP)
    assert await world.phone.post("at1", "*123#", pin) == (200, TOPPED_UP)
    await world.gateway.dialogues.settle()  # the resend's row is written before the sweep
    idle = timedelta(seconds=world.gateway.profile.ussd_session_idle_seconds)
    world.clock.advance(idle + RETENTION + timedelta(minutes=1))
    await world.gateway.dialogues.sweep()
    assert not world.sql("SELECT * FROM ussd_sessions")
    assert await world.phone.post("at1", "*123#", pin) == (200, USED)
    assert topups(world) == 1 and world.gateway.services.check_balance(ME).main.minor == 1100
