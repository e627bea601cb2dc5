"""The phone page in a real headless Chromium: dial USSD, answer a menu, chat by SMS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator

import pytest
import smpp34
from aiohttp import web

from tests.support.browser import ARGS, CHROMIUM
from tests.support.esme import echo_esme

async_api = pytest.importorskip(
    "playwright.async_api", reason="pip install playwright (never 'playwright install')"
)
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)),
    reason=f"no Chromium at {CHROMIUM}: run scripts/ci-browser-deps (apt-get install -y chromium)",
)


@pytest.fixture
async def fake_gateway():
    """A two-screen USSD service in the Africa's Talking convention, recording each request."""
    seen: list[dict[str, str]] = []

    async def ussd(request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        seen.append(form)
        if form["serviceCode"] == "*123#":
            return web.Response(text=f"END Voucher {form['text']} accepted")
        if form["text"] == "":
            return web.Response(text="CON Welcome\n1. Balance\n2. Top up")
        if form["text"] == "1":
            return web.Response(text="END Your balance is $6.00")
        return web.Response(text="END Invalid choice")

    app = web.Application()
    app.router.add_post("/ussd", ussd)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/ussd", seen
    await runner.cleanup()


@pytest.fixture
async def page():
    async with async_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def press(page, keys: str) -> None:
    for key in keys:
        await page.click(f'#keypad button[data-key="{key}"]')


async def test_dial_and_answer_a_ussd_menu(start_sim, fake_gateway, page):
    """Dialling *100# on the keypad shows the menu; answering 1 shows the final screen."""
    url, seen = fake_gateway
    sim = await start_sim(gateway_url=url)
    await page.goto(sim.control_url + "/")
    screen = page.locator("#screen")
    await press(page, "*100#")
    await page.click("#call")
    await async_api.expect(screen).to_contain_text("1. Balance", timeout=5000)
    await press(page, "1")
    await page.click("#call")
    await async_api.expect(screen).to_have_text("Your balance is $6.00", timeout=5000)
    await async_api.expect(screen).to_have_class("screen ended")
    assert [(s["serviceCode"], s["text"], s["phoneNumber"]) for s in seen] == [
        ("*100#", "", "85512345678"), ("*100#", "1", "85512345678")]
    assert seen[0]["sessionId"] == seen[1]["sessionId"]


async def test_code_with_extra_segments_is_split(start_sim, fake_gateway, page):
    """*123*PIN# typed in the entry reaches the gateway as serviceCode *123# and text PIN."""
    url, seen = fake_gateway
    sim = await start_sim(gateway_url=url)
    await page.goto(sim.control_url + "/")
    await page.fill("#entry", "*123*4444#")
    await page.press("#entry", "Enter")
    await async_api.expect(page.locator("#screen")).to_have_text("Voucher 4444 accepted", timeout=5000)
    assert (seen[0]["serviceCode"], seen[0]["text"]) == ("*123#", "4444")


async def test_gateway_down_shows_an_error_screen(start_sim, page):
    """With the gateway unreachable, the phone shows a connection problem instead of hanging."""
    sim = await start_sim(gateway_url="http://127.0.0.1:9/ussd")
    await page.goto(sim.control_url + "/")
    await page.fill("#entry", "*100#")
    await page.click("#call")
    await async_api.expect(page.locator("#screen")).to_contain_text("Connection problem", timeout=5000)


async def test_sms_conversation_shows_the_reply(sim, page):
    """Sending BAL from the SMS view shows the ESME's reply as an incoming bubble."""
    async with echo_esme(sim.port, "Balance: USD 6.00"):
        await page.goto(sim.control_url + "/")
        await page.fill("#sms-text", "BAL")
        await page.click("#sms-send")
        await async_api.expect(page.locator("#thread li.out")).to_have_text("BAL", timeout=5000)
        await async_api.expect(page.locator("#thread li.in")).to_have_text("Balance: USD 6.00", timeout=5000)
    [mo_reply] = sim.simulator.mt.query(to="85512345678")
    assert mo_reply.source == "888"


async def test_sms_reply_shows_for_a_number_typed_in_national_form(sim, page):
    """With 012000444 typed, the reply the gateway sends to 85512000444 shows in the conversation."""
    async with echo_esme(sim.port, "Balance: USD 1.00", international=True):
        await page.goto(sim.control_url + "/")
        await page.fill("#msisdn", "012000444")
        await page.fill("#sms-text", "BAL")
        await page.click("#sms-send")
        await async_api.expect(page.locator("#thread li.out")).to_have_text("BAL", timeout=5000)
        await async_api.expect(page.locator("#thread li.in")).to_have_text("Balance: USD 1.00", timeout=5000)


@contextlib.asynccontextmanager
async def ussd_esme(port: int) -> AsyncIterator[list[bytes]]:
    """A tiny gateway stand-in over SMPP: a menu on the dial, the balance on "1"; yields every
    ``ussd_service_op`` it received."""
    client = smpp34.Client("127.0.0.1", port, "selfcare", "secret", bind_type="TRX")
    smsc = await client.connect()
    ops: list[bytes] = []

    async def answer() -> None:
        while True:
            event = await smsc.next()
            if not isinstance(event, smpp34.DeliverSmEvent):
                return
            fields = {t.tag: t.value for t in event.tlvs}
            ops.append(fields.get(0x0501, b""))
            if fields.get(0x0501) == b"\x01":
                op, text = b"\x02", "Menu over SMPP\n1 Balance"
            elif fields.get(0x0501) == b"\x12":
                op, text = b"\x11", f"Balance via SMPP ({event.short_message.decode()})"
            else:
                continue
            await smsc.submit_sm(event.source_addr, text.encode(), source_addr=event.destination_addr,
                                 tlvs=[smpp34.Tlv(0x0501, op), smpp34.Tlv(0x1383, fields[0x1383])])

    task = asyncio.create_task(answer())
    try:
        yield ops
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await smsc.unbind()
        await client.stop()


async def test_the_phone_dials_through_smpp_when_asked(sim, page):
    """With "over SMPP" ticked the phone talks to the simulator's USSD centre: the dial and the
    answer reach the bound ESME as deliver_sm, its screens come back; End hangs up."""
    async with ussd_esme(sim.port) as ops:
        await page.goto(sim.control_url + "/")
        await page.check("#via-smpp")
        screen = page.locator("#screen")
        await page.fill("#entry", "*100#")
        await page.click("#call")
        await async_api.expect(screen).to_contain_text("Menu over SMPP", timeout=5000)
        await press(page, "1")
        await page.click("#call")
        await async_api.expect(screen).to_have_text("Balance via SMPP (1)", timeout=5000)
        await async_api.expect(screen).to_have_class("screen ended")
        await page.fill("#entry", "*100#")
        await page.click("#call")
        await async_api.expect(screen).to_contain_text("Menu over SMPP", timeout=5000)
        await page.click("#hangup")
        for _ in range(100):
            if len(ops) == 4:
                break
            await asyncio.sleep(0.02)
        assert ops == [b"\x01", b"\x12", b"\x01", b"\x12"]  # generic: the hang-up is op 18 with bit 0 set
    assert [d.ended for d in sim.simulator.ussd.dialogues.values()] == [True, True]
