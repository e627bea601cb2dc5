"""The ``dial`` phone emulator as a real subprocess against a running gateway."""

from __future__ import annotations

import asyncio
import sys

from tests.support.ussd import ME


async def _dial(world, *args: str, stdin: str) -> tuple[int, str, str]:
    url = str(world.phone.server.make_url("/ussd"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "dial", *args, "--url", url, "--token", "",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=30)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_dial_walks_the_menu_until_end(world):
    """Answers typed on stdin walk *100# to the balance, and dial exits when END arrives."""
    world.add()
    code, out, _ = await _dial(world, ME, "*100#", stdin="1\n")
    assert code == 0
    assert "1 Balance" in out
    assert "Main balance: $6.00, valid until 01/12/2026." in out


async def test_dial_sends_extra_segments_as_text(world):
    """*123*PIN# tops up at once, like a handset behind an aggregator."""
    world.add()
    [pin] = world.vouchers()
    code, out, _ = await _dial(world, ME, f"*123*{pin}#", stdin="")
    assert code == 0
    assert "Top-up of $5.00 successful" in out


async def test_dial_stops_when_stdin_closes(world):
    """Closing stdin mid-dialogue ends the emulator quietly."""
    world.add()
    code, out, _ = await _dial(world, ME, "*100#", stdin="2\n")
    assert code == 0
    assert "1 My number" in out


async def test_dial_refuses_a_bad_code(world):
    """A malformed code is a one-line refusal with a non-zero exit."""
    code, _, err = await _dial(world, ME, "100", stdin="")
    assert code == 2
    assert err.startswith("error: not a USSD code")
