"""Resume after a timeout: dialling the same code again soon after being cut off offers the dialogue back.

Over HTTP (/ussd, a new session id each dial, as the network gives) in English
and Khmer on smart-kh and in Nepali on smart-np, and through ``handle_latest``;
the clock is the test's own (``ussd_resume_seconds`` is 120 in both profiles).
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from gateway.ussd.request import Close
from tests.support.handset import Handset
from tests.support.ussd import ME, NP_PREPAID

OFFER = "CON Continue where you left off?\n1 Continue\n2 Start again"
MAIN = "CON Smart self-care\n1 Balance"
TOPUP_MENU = "CON Top up\n1 My number\n2 Another number\n0 Back"
_ids = itertools.count(1)


def _sid() -> str:
    return f"rs{next(_ids)}"


async def _later(world, seconds: int) -> None:
    """Time passes: the rows written behind the replies land (a few ms), then the clock moves on.

    (A dialogue redialled within those milliseconds is not offered back: its row is not there yet.)
    """
    await world.gateway.dialogues.settle()
    world.clock.advance(timedelta(seconds=seconds))


async def _cut_off_on_the_topup_menu(world, seconds: int = 60) -> None:
    """*100#, 2: the top-up menu; then the network drops the dialogue and ``seconds`` pass."""
    sid = _sid()
    await world.phone.post(sid, "*100#", "")
    _, body = await world.phone.post(sid, "*100#", "2")
    assert body == TOPUP_MENU
    await _later(world, seconds)


class TestOverHttp:
    async def test_dialling_again_offers_the_dialogue_and_1_goes_back_to_where_it_stopped(self, world):
        """Continue: the top-up menu again; the answers after the choice carry on from there."""
        world.add()
        [pin] = world.vouchers()
        await _cut_off_on_the_topup_menu(world)
        sid = _sid()
        assert (await world.phone.post(sid, "*100#", ""))[1] == OFFER
        assert (await world.phone.post(sid, "*100#", "1"))[1] == TOPUP_MENU
        assert (await world.phone.post(sid, "*100#", "1*1"))[1] == "CON Enter the card PIN:\n0 Back"
        _, body = await world.phone.post(sid, "*100#", f"1*1*{pin}")
        assert body.startswith("END Top-up of $5.00 successful. Balance: $11.00")
        _, again = await world.phone.post(sid, "*100#", f"1*1*{pin}")  # the aggregator's resend
        assert again == body
        assert world.sql("SELECT COUNT(*) FROM topups")[0][0] == 1

    async def test_2_starts_again_at_the_main_menu(self, world):
        """Start again: the main menu, and the next answer reads on it."""
        world.add()
        await _cut_off_on_the_topup_menu(world)
        sid = _sid()
        await world.phone.post(sid, "*100#", "")
        assert (await world.phone.post(sid, "*100#", "2"))[1].startswith(MAIN)
        assert (await world.phone.post(sid, "*100#", "2*1"))[1].startswith("END Main balance: $6.00")

    async def test_a_wrong_answer_on_the_offer_shows_it_again(self, world):
        """Neither 1 nor 2: the offer with a hint; a 1 after it still continues."""
        world.add()
        await _cut_off_on_the_topup_menu(world)
        sid = _sid()
        await world.phone.post(sid, "*100#", "")
        assert (await world.phone.post(sid, "*100#", "7"))[1] == "CON Invalid choice.\n" + OFFER[4:]
        assert (await world.phone.post(sid, "*100#", "7*1"))[1] == TOPUP_MENU

    async def test_khmer(self, world):
        """The offer and the screen it goes back to, in the caller's language."""
        world.add(language="km")
        sid = _sid()
        await world.phone.post(sid, "*100#", "")
        _, topup = await world.phone.post(sid, "*100#", "2")
        await _later(world, 30)
        sid = _sid()
        assert (await world.phone.post(sid, "*100#", ""))[1] == \
            "CON បន្តពីកន្លែងដែលអ្នកបានឈប់?\n1 បន្ត\n2 ចាប់ផ្ដើមម្ដងទៀត"
        assert (await world.phone.post(sid, "*100#", "1"))[1] == topup

    async def test_not_offered_after_ussd_resume_seconds(self, world):
        """Past the window (from the last step): the main menu at once."""
        world.add()
        await _cut_off_on_the_topup_menu(world, world.gateway.profile.ussd_resume_seconds + 1)
        assert (await world.phone.post(_sid(), "*100#", ""))[1].startswith(MAIN)

    async def test_not_offered_from_the_pin_screen(self, world):
        """Cut off while asked for a PIN: never offered back."""
        world.add()
        sid = _sid()
        for text in ("", "2", "2*1"):
            await world.phone.post(sid, "*100#", text)
        await _later(world, 30)
        assert (await world.phone.post(_sid(), "*100#", ""))[1].startswith(MAIN)

    async def test_not_offered_after_our_end_nor_on_the_main_menu_nor_for_another_code(self, world):
        """A finished dialogue, one stopped where it began, or another code: nothing to resume."""
        world.add()
        await world.phone.dial("*100#", "1")  # the balance: our END
        assert (await world.phone.post(_sid(), "*100#", ""))[1].startswith(MAIN)
        await world.phone.post(_sid(), "*100#", "")  # cut off on the main menu
        await _later(world, 10)
        assert (await world.phone.post(_sid(), "*100#", ""))[1].startswith(MAIN)
        await _cut_off_on_the_topup_menu(world, 10)
        assert (await world.phone.post(_sid(), "*124#", ""))[1].startswith("END Main balance")
        assert (await world.phone.post(_sid(), "*100#", "1"))[1].startswith("END Main balance")  # dialled on

    async def test_the_offer_survives_a_restart(self, world, tmp_path, clock):
        """Offered by one gateway, chosen on a new one over the same database."""
        import aiohttp

        from tests.support.ussd import Phone, another_gateway

        world.add()
        await _cut_off_on_the_topup_menu(world)
        sid = _sid()
        assert (await world.phone.post(sid, "*100#", ""))[1] == OFFER
        await world.gateway.dialogues.settle()
        gateway, server = await another_gateway(tmp_path, clock, world.gateway.settings.database.url)
        try:
            async with aiohttp.ClientSession() as client:
                assert (await Phone(server, client).post(sid, "*100#", "1"))[1] == TOPUP_MENU
        finally:
            await server.close()
            gateway.close()


async def test_nepali_on_smart_np(np):
    """The offer in Nepali, and 1 back on the top-up menu, in Nepali."""
    gateway, phone = np
    gateway.services.set_language(NP_PREPAID, "ne")
    sid = _sid()
    await phone.post(sid, "*100#", "", NP_PREPAID)
    _, topup = await phone.post(sid, "*100#", "2", NP_PREPAID)
    assert topup.startswith("CON ") and topup != (await phone.post(_sid(), "*124#", "", NP_PREPAID))[1]
    await gateway.dialogues.settle()
    gateway.clock.advance(timedelta(seconds=45))
    sid = _sid()
    assert (await phone.post(sid, "*100#", "", NP_PREPAID))[1] == \
        "CON छुटेको ठाउँबाट जारी राख्ने?\n1 जारी राख्ने\n2 फेरि सुरुदेखि"
    assert (await phone.post(sid, "*100#", "1", NP_PREPAID))[1] == topup


class TestLatestAnswer:
    async def test_timeout_then_dial_again_continues_where_it_stopped(self, world):
        """Closed on the network's timeout on the top-up menu: offered; 1, then the rest of the top-up."""
        world.add()
        [pin] = world.vouchers()
        phone = Handset(world.gateway.dialogues)
        await phone.dial("*100#")
        assert await phone.answer("2") == TOPUP_MENU
        await phone.close(Close.TIMEOUT)
        await _later(world, 40)
        again = Handset(world.gateway.dialogues)
        assert await again.dial("*100#") == OFFER
        assert await again.answer("1") == TOPUP_MENU
        assert await again.answer("1", sequence=again.sequence) == TOPUP_MENU  # a resend of the choice
        assert await again.answer("1") == "CON Enter the card PIN:\n0 Back"
        assert (await again.answer(pin)).startswith("END Top-up of $5.00 successful")
        assert world.gateway.services.check_balance(ME).main.minor == 1100

    async def test_a_key_used_again_is_offered_its_own_dialogue_back(self, world):
        """USSD over SMPP keyed by number and code: the next dialogue comes under the same key."""
        world.add()
        phone = Handset(world.gateway.dialogues, session_id="smpp:85512345678:*100#")
        await phone.dial("*100#", sequence=False)
        await phone.answer("2", sequence=False)
        await phone.close(Close.TIMEOUT)
        await _later(world, 20)
        assert await phone.dial("*100#", sequence=False) == OFFER
        assert await phone.answer("1", sequence=False) == TOPUP_MENU

    async def test_2_starts_again(self, world):
        """Start again: the main menu; the next answer is read on it."""
        world.add()
        phone = Handset(world.gateway.dialogues)
        await phone.dial("*100#")
        await phone.answer("2")
        await _later(world, 40)
        again = Handset(world.gateway.dialogues)
        assert await again.dial("*100#") == OFFER
        assert (await again.answer("2")).startswith(MAIN)
        assert (await again.answer("1")).startswith("END Main balance: $6.00")

    async def test_not_offered_when_the_subscriber_left_or_on_a_pin_or_id_screen(self, world):
        """Released by the subscriber, or stopped asking for a PIN or after an ID was typed: the main menu."""
        world.add()
        left = Handset(world.gateway.dialogues)
        await left.dial("*100#")
        await left.answer("2")
        await left.close(Close.ABANDONED)
        await _later(world, 10)
        assert (await Handset(world.gateway.dialogues).dial("*100#")).startswith(MAIN)
        on_pin = Handset(world.gateway.dialogues)
        await on_pin.dial("*100#")
        await on_pin.answers("2", "1")
        await on_pin.close(Close.TIMEOUT)
        await _later(world, 10)
        assert (await Handset(world.gateway.dialogues).dial("*100#")).startswith(MAIN)
        after_id = Handset(world.gateway.dialogues)
        await after_id.dial("*100#")
        await after_id.answers("3", "0" + ME[3:], "N123456")  # on the confirmation, an ID in the path
        await after_id.close(Close.TIMEOUT)
        await _later(world, 10)
        assert (await Handset(world.gateway.dialogues).dial("*100#")).startswith(MAIN)

    async def test_not_offered_after_ussd_resume_seconds(self, world):
        world.add()
        phone = Handset(world.gateway.dialogues)
        await phone.dial("*100#")
        await phone.answer("2")
        await _later(world, world.gateway.profile.ussd_resume_seconds + 1)
        assert (await Handset(world.gateway.dialogues).dial("*100#")).startswith(MAIN)


async def test_0_turns_resume_off(world, tmp_path):
    """A profile with ``ussd_resume_seconds = 0``: dialling again is the main menu, and nothing is looked up."""
    import dataclasses

    from gateway.app import build_gateway
    from gateway.config import OperatorSettings
    from gateway.profile import PROFILES_DIR
    from tests.support.ussd import make_settings

    text = (PROFILES_DIR / "smart-kh.toml").read_text(encoding="utf-8")
    (tmp_path / "off").mkdir()
    variant = tmp_path / "off" / "smart-kh.toml"
    variant.write_text(text.replace("ussd_resume_seconds = 120", "ussd_resume_seconds = 0"), encoding="utf-8")
    settings = dataclasses.replace(make_settings(tmp_path / "gw.db", world.gateway.settings.database.url),
                                   operator=OperatorSettings(profile=str(variant)))
    gateway = build_gateway(settings, clock=world.clock)
    try:
        world.add()
        phone = Handset(gateway.dialogues)
        await phone.dial("*100#")
        await phone.answer("2")
        await gateway.dialogues.settle()
        world.clock.advance(timedelta(seconds=10))
        assert (await Handset(gateway.dialogues).dial("*100#")).startswith(MAIN)
    finally:
        gateway.close()
