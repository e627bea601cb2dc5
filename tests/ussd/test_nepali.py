"""smart-np's Nepali texts (Devanagari, UCS-2): every screen in both languages and within the screen limits."""

from __future__ import annotations

import re

import pytest

from gateway.profile import load_profile
from menus.engine import Engine
from menus.loader import load_menus
from menus.paging import ScreenLimits, gsm_length
from menus.replies import Replies
from menus.texts import Catalog
from menus.tree import Caller, Reply, Turn

ME = "9779801234567"
DEVANAGARI = re.compile("[\u0900-\u097f]")


@pytest.fixture(scope="module")
def engine() -> Engine:
    profile = load_profile("smart-np")
    catalog = Catalog.for_profile(profile)
    return Engine(menus=load_menus(catalog, profile), texts=catalog, replies=Replies(catalog, profile),
                  limits=ScreenLimits())


def test_every_text_has_a_nepali_translation_in_devanagari():
    """The catalog of en + ne loads (same keys, same placeholders) and each ne text is Devanagari."""
    catalog = Catalog.for_profile(load_profile("smart-np"))
    untranslated = [key for key, text in catalog.texts["ne"].items()
                    if not DEVANAGARI.search(text) and key not in ("selfcare.lang_en", "selfcare.lang_km")]
    assert untranslated == []
    assert catalog.texts["ne"].keys() == catalog.texts["en"].keys()


def test_profile_constants_are_filled_in():
    """The example number of a hint is the profile's: 9801234567, not a Cambodian one."""
    catalog = Catalog.for_profile(load_profile("smart-np"))
    assert "9801234567" in catalog.text("ussd.hint_msisdn", "ne")
    assert "012345678" in Catalog.for_profile(load_profile("smart-kh")).text("ussd.hint_msisdn", "en")


def test_language_menu_offers_the_profiles_languages_only(engine):
    """smart-np's language menu: English and नेपाली, no Khmer."""
    reply = engine.step(Turn("selfcare", ("5",), Caller(ME, "ne"), "sid"))
    assert isinstance(reply, Reply)
    assert "नेपाली" in reply.text and "ខ្មែរ" not in reply.text


def test_every_nepali_menu_screen_is_paged_within_the_ucs2_limit(engine):
    """A Devanagari screen needs UCS-2 (80 characters): each page fits, and the menu reads in Nepali."""
    limits = ScreenLimits()
    tree = engine.menus.trees["selfcare"]
    seen = 0
    for path in ((), ("2",), ("4",), ("5",)):
        reply = engine.step(Turn("selfcare", path, Caller(ME, "ne"), "sid"))
        if not isinstance(reply, Reply):  # a menu that shows a read first (marketing) is not rendered here
            continue
        pages = [reply.text]
        answers = path
        while "\n98 " in pages[-1] and len(pages) < 6:
            answers = (*answers, "98")
            nxt = engine.step(Turn("selfcare", answers, Caller(ME, "ne"), "sid"))
            assert isinstance(nxt, Reply)
            pages.append(nxt.text)
        for page in pages:
            assert gsm_length(page) is None and limits.fits(page), page
            assert DEVANAGARI.search(page)
        seen += 1
    assert seen >= 3 and tree.start == "main"
