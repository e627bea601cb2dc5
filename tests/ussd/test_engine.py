"""The sans-I/O engine without HTTP: answers in, screens or action requests out."""

from __future__ import annotations

import pytest

from gateway.domain.errors import LineLost, WrongPin
from gateway.profile import load_profile
from menus.engine import Engine
from menus.loader import load_menus
from menus.paging import ScreenLimits, gsm_length, paginate
from menus.replies import Replies
from menus.texts import Catalog
from menus.tree import Caller, Pending, Reply, Turn

ME = "85512345678"


@pytest.fixture(scope="module")
def engine() -> Engine:
    profile = load_profile("smart-kh")
    catalog = Catalog.for_profile(profile)
    return Engine(menus=load_menus(catalog, profile), texts=catalog, replies=Replies(catalog, profile),
                  limits=ScreenLimits())


def turn(text: str, tree: str = "selfcare", lang: str = "en", refusal=None, results=None) -> Turn:
    return Turn(tree, tuple(text.split("*")) if text else (), Caller(ME, lang, refusal), "sid", results or {})


def test_first_screen_is_the_main_menu(engine):
    """No answers yet: the main menu, session continues."""
    reply = engine.step(turn(""))
    assert isinstance(reply, Reply) and not reply.end and reply.keep
    assert reply.text.startswith("Smart self-care\n1 Balance")


def test_action_is_requested_as_data(engine):
    """Reaching the PIN's end asks for a top_up with an idempotency key, and does nothing itself."""
    pending = engine.step(turn("2*1*12345678901234"))
    assert isinstance(pending, Pending)
    assert pending.call.name == "top_up"
    assert pending.call.args == {"pin": "12345678901234"}
    assert pending.call.request_key.startswith("ussd:sid:2*1*#")  # the PIN sealed, as in every key
    assert "12345678901234" not in pending.call.request_key


def test_refusal_renders_and_is_saved(engine):
    """A wrong PIN ends the session politely and is kept for a resend."""
    pending = engine.step(turn("2*1*12345678901234"))
    reply = engine.complete(pending, WrongPin(3))
    assert reply.end and reply.text == "Wrong PIN. 3 attempt(s) left."
    assert reply.save == (pending.path, reply.text) and "12345678901234" not in pending.path


def test_saved_result_is_shown_again_without_acting(engine):
    """A resent request with a saved result gets it back, with no action requested."""
    key = engine.step(turn("2*1*12345678901234")).path
    reply = engine.step(turn("2*1*12345678901234", results={key: "Done."}))
    assert (reply.text, reply.end, reply.screen) == ("Done.", True, "selfcare:topup_mine")


def test_lost_line_reaches_no_screen(engine):
    """A lost caller sees the lost-SIM screen at once, on every tree: a lost SIM originates nothing."""
    lost = LineLost("lost")
    for text, tree in (("", "selfcare"), ("1", "selfcare"), ("3", "selfcare"), ("", "topup")):
        reply = engine.step(turn(text, tree, refusal=lost))
        assert reply.end and reply.text.startswith("This SIM is reported lost")


def test_dialled_segment_is_optional(engine):
    """*123*PIN# targets the caller; *123*PIN*NUMBER# another number."""
    assert engine.step(turn("12345678901234", "topup")).call.args["target"] == ""
    assert engine.step(turn("12345678901234*012345678", "topup")).call.args["target"] == "85512345678"


def test_invalid_number_shows_a_hint(engine):
    """A bad phone number re-shows the prompt with a hint."""
    reply = engine.step(turn("2*2*12"))
    assert reply.text.startswith("Enter a valid phone number") and not reply.end


def test_long_result_is_paged_before_it_ends(engine):
    """A result longer than a screen continues with 98; its last page ends the session."""
    small = Engine(menus=engine.menus, texts=engine.texts, replies=engine.replies,
                   limits=ScreenLimits(gsm=24, ucs2=20))
    pending = small.step(turn("2*1*12345678901234"))
    first = small.complete(pending, WrongPin(3))
    assert not first.end and first.text.endswith("98 More")
    pending = small.step(turn("2*1*12345678901234*98"))
    last = small.complete(pending, WrongPin(3))
    assert last.end


class TestPaging:
    def test_gsm_and_ucs2_lengths(self):
        """GSM text counts septets (extension characters twice); Khmer needs UCS-2."""
        assert gsm_length("abc") == 3
        assert gsm_length("€") == 2
        assert gsm_length("ខ្មែរ") is None

    def test_every_page_fits(self):
        """Split pages respect the limit of their own character set."""
        limits = ScreenLimits(gsm=60, ucs2=30)
        lines = [f"{n} option number {n}" for n in range(1, 12)] + ["ជម្រើស" * 3]
        pages = paginate(lines, limits, more="More", back="Back", back_on_first=False)
        assert len(pages) > 2
        assert all(limits.fits(p) for p in pages)
        assert pages[0].endswith("98 More") and pages[-1].endswith("0 Back")


def test_reply_names_its_screen_and_whether_it_waits_for_a_secret(engine):
    """The journal and resume read where a dialogue stands: a PIN prompt is secret, a menu is not."""
    menu = engine.step(turn(""))
    assert (menu.screen, menu.secret) == ("selfcare:main", False)
    pin = engine.step(turn("2*1"))
    assert pin.secret and pin.screen.startswith("selfcare:")
