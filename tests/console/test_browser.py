"""The console in a real headless Chromium: sign in, look up a line, follow an SMS to its receipt, resolve a
dispute; a bad token is refused; the viewer gets no buttons. (Skipped as the web phone's tests are, without
playwright or Chromium.) With ``CONSOLE_SCREENSHOTS=DIR`` each step is also saved to DIR as a PNG, at a
desktop width and at a phone's."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ARGS, CHROMIUM
from tests.support.console import OPERATOR, POSTPAID, PREPAID, VIEWER, Console

async_api = pytest.importorskip(
    "playwright.async_api", reason="pip install playwright (never 'playwright install')"
)
pytestmark = [
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)),
                       reason=f"no Chromium at {CHROMIUM}: run scripts/ci-browser-deps (apt-get install -y chromium)"),
    pytest.mark.sqlite_only("the browser sees the same pages on either backend (the API tests run both)"),
]
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")
#: A desktop window and a phone's (the pages must work on both).
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with async_api.async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def signed_in(browser: Any, console: Console, token: str, viewport: dict[str, int] = WIDE) -> Any:
    page = await (await browser.new_context(viewport=viewport)).new_page()
    await page.goto(console.url + "/admin/disputes")
    await async_api.expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    await shot(page, f"login-{viewport['width']}")
    await page.fill("#token", token)
    await page.click("button[type=submit]")
    await async_api.expect(page).to_have_url(re.compile(r"/admin/disputes$"))
    return page


async def test_sign_in_and_look_up_a_subscriber(console: Console, browser: Any) -> None:
    """Signed in with the operator token, the number typed in the lookup shows the line's record."""
    page = await signed_in(browser, console, OPERATOR)
    await page.click("nav >> text=Overview")
    await shot(page, "overview-1280")
    await page.fill("#msisdn", "9801234568")
    await page.press("#msisdn", "Enter")
    await async_api.expect(page).to_have_url(re.compile(rf"/admin/subscribers/{PREPAID}$"))
    await async_api.expect(page.locator("h1")).to_have_text(f"Subscriber {PREPAID}")
    await async_api.expect(page.locator("main")).to_contain_text("Rs 150.00")
    await async_api.expect(page.locator("main")).to_contain_text(console.seeded.lost_reference)
    await shot(page, "subscriber-1280")


async def test_follow_an_sms_to_its_receipt(console: Console, browser: Any) -> None:
    """From the line's latest messages to the top-up SMS: queued, then, as the SMSC accepts it and its
    receipt comes, the page (reloading itself) shows the SMSC id and DELIVRD."""
    page = await signed_in(browser, console, OPERATOR)
    await page.goto(f"{console.url}/admin/subscribers/{PREPAID}")
    [topup] = [m for m in console.queued_to(PREPAID) if m["kind"] == "notification"]
    await page.click(f'a[href="/admin/outbox/{topup["id"]}"]')
    state = page.locator("dl.facts dd").nth(3)
    await async_api.expect(state).to_have_text("queued")
    console.deliver(topup["id"], "5F00BA")
    await async_api.expect(state).to_have_text("delivered", timeout=10_000)
    parts = page.locator("section:has(h2:text('Parts and receipts')) table")
    await async_api.expect(parts).to_contain_text("5F00BA")
    await async_api.expect(parts).to_contain_text("DELIVRD")
    await shot(page, "message-1280")


async def test_resolve_a_dispute(console: Console, browser: Any) -> None:
    """Upheld with a partial credit from the disputes page: the outcome is shown, the dispute leaves the
    open queue, and the subscriber's SMS is queued."""
    page = await signed_in(browser, console, OPERATOR)
    await page.click("text=Open only")
    card = page.locator("article.case", has_text=console.seeded.dispute)
    await card.locator("input[value=upheld]").check()
    await card.locator("input[name=credit]").fill("234.50")
    await card.locator("input[name=note]").fill("Roaming charge removed")
    await shot(page, "disputes-1280")
    await card.locator("button[type=submit]").click()
    flash = page.locator(".flash")
    await async_api.expect(flash).to_contain_text(f"{console.seeded.dispute} upheld")
    await async_api.expect(flash).to_contain_text("final bill Rs 1,000.00; told by SMS")
    await async_api.expect(page.locator("article.case")).to_have_count(0)
    await shot(page, "disputes-resolved-1280")
    [sms] = [m for m in console.queued_to(POSTPAID) if m["kind"] == "notification"]
    assert "Roaming charge removed" in sms["text"]


async def test_a_bad_token_is_refused(console: Console, browser: Any) -> None:
    """A wrong token keeps the browser on the sign-in form with the reason, and opens nothing."""
    page = await (await browser.new_context(viewport=NARROW)).new_page()
    await page.goto(console.url + "/admin/")
    await page.fill("#token", "not-a-token-we-gave-out")
    await page.click("button[type=submit]")
    await async_api.expect(page.locator(".error")).to_have_text("That token is not accepted.")
    await shot(page, "login-refused-390")
    await page.goto(console.url + "/admin/outbox")
    await async_api.expect(page).to_have_url(re.compile(r"/admin/login"))


async def test_the_viewer_on_a_phone_sees_masked_numbers_and_no_buttons(console: Console, browser: Any) -> None:
    """The viewer, on a narrow screen: the queue without its resolve form and the number masked; the
    page fits the screen's width (tables scroll inside their box)."""
    page = await signed_in(browser, console, VIEWER, NARROW)
    card = page.locator("article.case", has_text=console.seeded.dispute)
    await async_api.expect(card).to_contain_text("977******4567")
    await async_api.expect(card.locator("form")).to_have_count(0)
    await shot(page, "disputes-viewer-390")
    await page.goto(f"{console.url}/admin/subscribers/{POSTPAID}")
    await shot(page, "subscriber-viewer-390")
    assert POSTPAID not in await page.content()
    assert await page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
