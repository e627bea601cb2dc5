"""Every self-care path and quick code, in both languages, through a real HTTP server."""

import re

import pytest

from tests.support.ussd import ME

FRIEND = "85598765432"
KHMER = re.compile("[\u1780-\u17ff]")


def in_language(screen: str, language: str) -> bool:
    """A Khmer screen has Khmer script; an English one has none."""
    return bool(KHMER.search(screen)) == (language == "km")


PATHS = {
    # name: (code, answers before the PIN is known -> built in the test, what the END must show)
    "menu_balance": ("*100#", ["1"], "$6.00"),
    "menu_topup_mine": ("*100#", ["2", "1", "{pin}"], "$11.00"),
    "menu_topup_other": ("*100#", ["2", "2", "098765432", "{pin}"], "098765432"),
    "menu_lost": ("*100#", ["3", "098765432", "N654321", "1"], "LS-"),
    "menu_marketing_stop": ("*100#", ["4", "1"], "1204"),
    "menu_marketing_start": ("*100#", ["4", "2"], "*1204#"),
    "quick_balance": ("*124#", [], "$6.00"),
    # *123*PIN# and *123*PIN*MSISDN#: the extra segments arrive as the first text
    "quick_topup": ("*123#", ["{pin}"], "$11.00"),
    "quick_topup_other": ("*123#", ["{pin}*098765432"], "098765432"),
    "quick_optout": ("*1204#", [], "START"),
}


@pytest.mark.parametrize("language", ["en", "km"])
@pytest.mark.parametrize("path", sorted(PATHS))
async def test_path_in_language(world, path, language):
    """Each screen of the path is in the caller's language and the last one shows the outcome."""
    world.add(ME, "6.00", language=language)
    world.add(FRIEND, "0.00", language="en", id_number="N654321")
    [pin] = world.vouchers(amount="5")
    code, answers, expected = PATHS[path]
    result_pages = 0
    answers = [a.format(pin=pin) for a in answers]
    if code == "*123#":
        status, body = await world.phone.post("quick", code, answers[0])
        assert status == 200
        screens = [body]
    else:
        screens = await world.phone.dial(code, *answers)
        result_pages = 0
        while screens[-1].startswith("CON ") and "\n98 " in screens[-1] and result_pages < 5:
            # a long result (Khmer needs UCS-2: 80 characters a screen) is paged
            answers.append("98")
            screens = await world.phone.dial(code, *answers)
            result_pages += 1
    assert screens[-1].startswith("END "), screens
    result = "".join(screens[-1 - result_pages:])  # every page of the result
    assert expected in result, result
    for screen in screens:
        assert in_language(screen, language), (language, screen)
    consent = world.gateway.services.marketing_consent(ME).opt_in
    assert consent is (path not in ("menu_marketing_stop", "quick_optout"))
    if "topup" in path:
        target = FRIEND if path.endswith("other") else ME
        assert world.gateway.services.check_balance(target).main.minor == (1100 if target == ME else 500)
    if path == "menu_lost":
        assert world.gateway.services.show_subscriber(FRIEND)["lost"] is not None


@pytest.mark.parametrize(("start", "choice", "after"), [("en", "2", "km"), ("km", "1", "en")])
async def test_language_menu_switches_and_answers_in_the_new_language(world, start, choice, after):
    """Choosing a language saves it and the confirmation is already in the new language."""
    world.add(ME, "6.00", language=start)
    screens = await world.phone.dial("*100#", "5", choice)
    assert screens[-1].startswith("END ") and in_language(screens[-1], after)
    assert world.gateway.services.subscriber_language(ME) == after
    balance = await world.phone.dial("*124#")
    assert in_language(balance[-1], after)
