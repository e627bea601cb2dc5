"""``menus.lint``: every problem of a profile's trees and texts, one line each naming file and path.

Each test writes a small tree and its texts (English with Khmer or Nepali) to
a temporary folder, breaks one thing, and reads the lines the lint reports.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.profile import load_profile
from menus.lint import lint
from menus.paging import ScreenLimits
from tests.support.menus import Menus

LONG_EN = "Dispute your latest bill? Its amount is held as deposit until the dispute is settled."
LONG_KM = "តវ៉ាវិក្កយបត្រចុងក្រោយ? ចំនួនទឹកប្រាក់ត្រូវរក្សាទុកជាប្រាក់កក់រហូតដល់វិវាទត្រូវបានដោះស្រាយ។"
LONG_NE = "पछिल्लो बिलमा विवाद गर्ने? विवाद नटुङ्गिउन्जेल यसको रकम धरौटीका रूपमा राखिन्छ।"


def ucs2(*lines: str) -> int:
    """UTF-16 code units of the lines as one screen: what an 80-character UCS-2 screen counts."""
    return len("\n".join(lines).encode("utf-16-le")) // 2


@pytest.fixture
def kh(tmp_path: Path) -> Menus:
    (tmp_path / "kh").mkdir()
    return Menus(tmp_path / "kh", load_profile("smart-kh"))


@pytest.fixture
def np(tmp_path: Path) -> Menus:
    (tmp_path / "np").mkdir()
    return Menus(tmp_path / "np", load_profile("smart-np"))


class TestShippedProfiles:
    @pytest.mark.parametrize("name", ["smart-kh", "smart-np"])
    def test_shipped_trees_and_texts_have_no_problem(self, name: str) -> None:
        """Both shipped profiles pass with the default screen limits: serve starts on them."""
        assert [str(p) for p in lint(load_profile(name)).problems] == []

    def test_the_small_menus_of_these_tests_pass_too(self, kh: Menus, np: Menus) -> None:
        """The starting point of every test below has no problem (each test breaks one thing)."""
        assert kh.lines() == [] and np.lines() == []


class TestTrees:
    def test_dangling_next_names_file_and_path(self, kh: Menus) -> None:
        """A next naming no screen: one line naming the tree file and screens.<id>.next; the screens
        only that link reached are reported unreachable, each once."""
        kh.edit_tree('next = "sure"', 'next = "suer"')

        assert kh.lines() == [
            f"{kh.tree()}: screens.pin.next: no screen 'suer'",
            f"{kh.tree()}: screens.sure: unreachable: no way leads here from start 'main'",
            f"{kh.tree()}: screens.topup: unreachable: no way leads here from start 'main'",
        ]

    def test_dangling_option_and_cancel(self, kh: Menus) -> None:
        """Options and cancel are links too: both reported in one run, not just the first."""
        kh.edit_tree('target = "stop"', 'target = "stpo"')
        kh.edit_tree('next = "topup"', 'next = "topup"\ncancel = "nowhere"')

        lines = kh.lines()

        assert f"{kh.tree()}: screens.main.options[1].target: no screen 'stpo'" in lines
        assert f"{kh.tree()}: screens.sure.cancel: no screen 'nowhere'" in lines

    def test_unknown_action_and_validator(self, kh: Menus) -> None:
        """An action that is no use case and a validator nobody knows, both in one run."""
        kh.edit_tree('action = "top_up"', 'action = "top_up_twice"')
        kh.edit_tree('validate = "pin"', 'validate = "pni"')

        lines = kh.lines()

        assert f"{kh.tree()}: screens.topup.action: unknown action 'top_up_twice'" in lines
        assert any(line.startswith(f"{kh.tree()}: screens.pin.validate: unknown validator 'pni'") for line in lines)

    def test_unreachable_screen(self, kh: Menus) -> None:
        """A screen no option, next or cancel leads to is named; one only another profile's option
        leads to is not (smart-kh offers no statement, but the tree serves smart-np too)."""
        kh.edit_tree("[screens.stop]", '[screens.orphan]\nkind = "end"\ntext = "selfcare.title"\n\n[screens.stop]')

        assert kh.lines() == [f"{kh.tree()}: screens.orphan: unreachable: no way leads here from start 'main'"]


class TestTexts:
    def test_text_missing_in_khmer(self, kh: Menus) -> None:
        """A key English has and Khmer lacks: the Khmer file and the key."""
        kh.drop_text("km", "sure")

        assert kh.lines() == [f"{kh.texts('km')}: selfcare.sure: missing in 'km' (present in 'en')"]

    def test_text_a_tree_names_is_defined_nowhere(self, kh: Menus) -> None:
        """A tree naming a key no language has: the tree file and the screen's text."""
        kh.edit_tree('text = "selfcare.sure"', 'text = "selfcare.shure"')

        assert f"{kh.tree()}: screens.sure.text: no text 'selfcare.shure' in menus/locales/*/selfcare.toml" \
            in kh.lines()

    def test_text_no_tree_shows(self, kh: Menus) -> None:
        """A selfcare text in every language that no tree names is unused."""
        kh.set_text("en", "spare", "Spare")
        kh.set_text("km", "spare", "បម្រុង")

        assert kh.lines() == [f"{kh.texts('en')}: selfcare.spare: no menu tree shows it"]

    def test_placeholders_differ_between_languages(self, kh: Menus) -> None:
        """A Khmer text with a placeholder the English lacks: which ones, in the Khmer file."""
        kh.set_text("km", "title", "សេវាអតិថិជន {pin}")

        assert kh.lines() == [f"{kh.texts('km')}: selfcare.title: placeholders {{pin}} differ from 'en' (none)"]

    def test_placeholder_no_input_stores(self, kh: Menus) -> None:
        """A screen text showing an answer no input of the tree stores (the engine could not fill it)."""
        kh.set_text("en", "sure", "Top up with {pim}?")
        kh.set_text("km", "sure", "បញ្ចូលលុយ {pim}?")

        assert kh.lines() == [f"{kh.tree()}: screens.sure.text: 'selfcare.sure' shows {{pim}}, which no input "
                              "of this tree stores"]

    def test_placeholder_in_an_option_label_is_shown_as_written(self, kh: Menus) -> None:
        """Labels are not filled in: a placeholder in one would reach the handset as ``{pin}``."""
        kh.set_text("en", "opt_stop", "Stop {pin}")
        kh.set_text("km", "opt_stop", "ឈប់ {pin}")

        assert kh.lines() == [f"{kh.tree()}: screens.main.options[1].label: 'selfcare.opt_stop' shows {{pin}} "
                              "as written (labels and hints are not filled in)"]

    def test_unreadable_text_file_and_tree_problem_in_one_run(self, kh: Menus) -> None:
        """A TOML error in a text file is named with its line, and the run goes on to the tree."""
        kh.texts("km").write_text(kh.texts("km").read_text(encoding="utf-8") + "oops = = 1\n", encoding="utf-8")
        kh.edit_tree('target = "stop"', 'target = "stpo"')

        lines = kh.lines()

        assert lines[0].startswith(f"{kh.texts('km')}: ") and "line 8" in lines[0]
        assert f"{kh.tree()}: screens.main.options[1].target: no screen 'stpo'" in lines


class TestLength:
    def test_khmer_question_over_80_where_english_fits(self, kh: Menus) -> None:
        """A Khmer confirmation over 80 UCS-2 characters with its answers, its English well inside
        182 GSM ones: one line, for the Khmer file only."""
        kh.set_text("en", "sure", LONG_EN)
        kh.set_text("km", "sure", LONG_KM)

        size = ucs2(LONG_KM, "1 យល់ព្រម", "2 ទេ", "0 ត្រឡប់")
        assert size > 80 and len(LONG_EN) + len("\n1 Yes\n2 No\n0 Back") <= 182

        assert kh.lines() == [
            f"{kh.texts('km')}: selfcare.sure: {size} UCS-2 characters, over 80: question selfcare:sure, "
            "with its answers and 0 Back, must fit on one page"]

    def test_nepali_prompt_over_80_only_with_its_hint(self, np: Menus) -> None:
        """A Nepali prompt that fits alone but not under the hint shown after a refused PIN."""
        prompt = "कृपया आफ्नो रिचार्ज कार्डको पछाडि भएको गोप्य पिन नम्बर लेख्नुहोस्:"
        np.set_text("ne", "pin_prompt", prompt)
        assert ucs2(prompt, "0 पछाडि") <= 80  # as first shown: fits

        assert np.lines() == [
            f"{np.texts('ne')}: selfcare.pin_prompt: {ucs2('कार्डको पिन १० देखि २० अङ्कको हुन्छ।', prompt, '0 पछाडि')} "
            "UCS-2 characters, over 80: question selfcare:pin, "
            "shown again with ussd.hint_pin and 0 Back, must fit on one page"]

    def test_nepali_confirmation_over_80(self, np: Menus) -> None:
        """The same long confirmation in Nepali on smart-np: named in the Nepali file."""
        np.set_text("ne", "sure", LONG_NE)

        assert np.lines() == [
            f"{np.texts('ne')}: selfcare.sure: {ucs2(LONG_NE, '1 हो', '2 होइन', '0 पछाडि')} UCS-2 characters, "
            "over 80: question selfcare:sure, with its answers and 0 Back, must fit on one page"]

    def test_menu_line_longer_than_a_page(self, kh: Menus) -> None:
        """A long menu is paged, but one option longer than a page with 98 More and 0 Back would be cut."""
        kh.set_text("km", "opt_stop", LONG_KM)

        assert kh.lines() == [
            f"{kh.texts('km')}: selfcare.opt_stop: {ucs2('2 ' + LONG_KM, '98 បន្ទាប់', '0 ត្រឡប់')} UCS-2 "
            "characters, over 80: a line of menu selfcare:main with 98 More and 0 Back must fit on one page"]

    def test_many_short_options_are_paged_not_refused(self, kh: Menus) -> None:
        """A menu needing several pages of short options is fine: paging mends it."""
        options = "".join('    { label = "selfcare.opt_stop", target = "stop" },\n' for _ in range(12))
        kh.edit_tree('    { label = "selfcare.opt_stop", target = "stop" },\n', options)

        assert kh.lines() == []

    def test_screen_the_profile_never_shows_is_not_measured(self, kh: Menus) -> None:
        """smart-kh offers no statement: its over-long Khmer confirmation is not reported there."""
        kh.set_text("km", "statement_sure", LONG_KM)

        assert kh.lines() == []

    def test_the_configured_limit_is_the_one_checked(self, kh: Menus) -> None:
        """With [http] screen_chars_ucs2 = 140 the long Khmer confirmation fits, hint and all."""
        kh.set_text("km", "sure", LONG_KM)

        assert kh.lines(ScreenLimits(gsm=182, ucs2=140)) == []
        assert len(kh.lines(ScreenLimits(gsm=182, ucs2=100))) == 1
