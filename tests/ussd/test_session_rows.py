"""What a session row says of its dialogue on /ussd: the kept path, the last screen, why it ended.

Resume and the end-of-session journal read these; a PIN is kept sealed.
"""

from __future__ import annotations

import json

from tests.support.backends import leaks


async def _state(world, session_id: str) -> dict:
    await world.gateway.dialogues.settle()
    [row] = world.sql("SELECT state FROM ussd_sessions WHERE session_id = ?", session_id)
    return json.loads(row[0])


def _where(state: dict) -> tuple:
    return state["path"], state["screen"], state["secret"], state["ended"]


async def test_each_step_moves_the_row(world):
    """Menu, submenu, PIN prompt, result: the row follows every step (behind the reply)."""
    world.add()
    [pin] = world.vouchers()
    await world.phone.post("r1", "*100#", "")
    assert _where(await _state(world, "r1")) == ([], "selfcare:main", False, None)
    await world.phone.post("r1", "*100#", "2")
    assert _where(await _state(world, "r1")) == (["2"], "selfcare:topup", False, None)
    await world.phone.post("r1", "*100#", "2*1")
    assert _where(await _state(world, "r1")) == (["2", "1"], "selfcare:topup_pin_mine", True, None)
    _, body = await world.phone.post("r1", "*100#", f"2*1*{pin}")
    assert body.startswith("END Top-up of $5.00 successful")
    path, screen, secret, ended = _where(await _state(world, "r1"))
    assert (path[:2], set(path[2]), screen, secret, ended) == (["2", "1"], {"s"}, "selfcare:topup_mine", True, "end")
    assert leaks(world.gateway.store, [pin]) == []


async def test_navigation_that_ends_is_marked_ended(world):
    """A balance read from the menu: the row says our END came, on the balance screen."""
    world.add()
    await world.phone.dial("*100#", "1", session_id="r2")
    assert _where(await _state(world, "r2")) == (["1"], "selfcare:balance", False, "end")
