"""The keyword parser: what a subscriber writes, what we understand."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from gateway.profile import load_profile
from gateway.sms import keywords as kw


def parse(text: str, code: str = "888") -> kw.Command:
    return kw.parse(text, code, keywords_code="888", marketing_code="1204")


class TestKeywords:
    def test_balance_in_any_case_and_spacing(self) -> None:
        """BAL is understood whatever the case, spaces and punctuation."""
        for text in ("BAL", "bal", "  Bal  ", "bal.", "BAL!", "Balance?"):
            assert parse(text) == kw.Balance()

    def test_top_up_with_pin(self) -> None:
        """TOP PIN redeems the PIN for the sender's own line."""
        assert parse("TOP 12345678901234") == kw.TopUpCommand("12345678901234")

    def test_top_up_pin_written_in_groups(self) -> None:
        """A PIN written in groups with spaces or dashes is read as one PIN."""
        assert parse("top 1234 5678-9012 34") == kw.TopUpCommand("12345678901234")

    def test_top_up_for_another_number(self) -> None:
        """TOP PIN MSISDN credits another number."""
        assert parse("TOP 12345678901234 012345679") == kw.TopUpCommand("12345678901234", "012345679")
        assert parse("top up, 12345678901234 +85512345679") == kw.TopUpCommand(
            "12345678901234", "+85512345679")

    def test_top_up_target_follows_the_profiles_number_plan(self) -> None:
        """On smart-np (no trunk prefix) a ten-digit 98XXXXXXXX after the PIN is the number to top up;
        on smart-kh a bare eight-digit group is still part of the PIN (its numbers start 0 or +855)."""
        np, kh = load_profile("smart-np").number_plan, load_profile("smart-kh").number_plan

        def top(text: str, plan: object) -> kw.Command:
            return kw.parse(text, "888", keywords_code="888", marketing_code="1204", number_plan=plan)

        assert top("TOP 12345678901234 9812345678", np) == kw.TopUpCommand("12345678901234", "9812345678")
        assert top("TOP 1234 5678 9012 34 9812345678", np) == kw.TopUpCommand("12345678901234", "9812345678")
        assert top("TOP 12345678901234 +9779812345678", np) == kw.TopUpCommand("12345678901234", "+9779812345678")
        assert top("TOP 12345678901234 9779812345678", np) == kw.TopUpCommand("12345678901234", "9779812345678")
        assert top("TOP 1234 5678 9012 34", np) == kw.TopUpCommand("12345678901234")
        assert top("TOP 12345678901234 012345679", kh) == kw.TopUpCommand("12345678901234", "012345679")
        assert top("TOP 12345678901234 85512345679", kh) == kw.TopUpCommand("12345678901234", "85512345679")
        assert top("TOP 123456 12345678", kh) == kw.TopUpCommand("12345612345678")

    def test_lost_needs_number_and_id(self) -> None:
        """LOST MSISDN IDNUMBER reports a SIM; without the ID it gets help."""
        assert parse("LOST 012345678 N123456") == kw.LostCommand("012345678", "N123456")
        assert parse("LOST 012345678") == kw.Help()

    def test_language(self) -> None:
        """LANG EN|KM picks the language; an unknown one is flagged."""
        assert parse("lang km") == kw.Language("km")
        assert parse("LANG english") == kw.Language("en")
        assert parse("LANG FR") == kw.Language(None)

    def test_anything_else_gets_help(self) -> None:
        """Unknown words, and HELP itself, get the help text on 888."""
        for text in ("HELP", "", "hello there", "BAL 123", "TOP"):
            assert parse(text) == kw.Help()

    def test_stop_and_synonyms_to_1204(self) -> None:
        """STOP and its usual synonyms to 1204 opt out of marketing."""
        for text in ("STOP", "stop.", "Unsubscribe", "CANCEL", "end", "QUIT", "STOPALL",
                     "opt-out", "OPT OUT", "Stop all"):
            assert parse(text, "1204") == kw.Consent(opt_in=False), text

    def test_start_and_synonyms_to_1204(self) -> None:
        """START, YES, SUBSCRIBE and UNSTOP to 1204 opt back in."""
        for text in ("START", "yes", "Subscribe", "UNSTOP"):
            assert parse(text, "1204") == kw.Consent(opt_in=True), text

    def test_keywords_are_per_short_code(self) -> None:
        """BAL to 1204 is not a balance check, STOP to 888 is not an opt-out."""
        assert parse("BAL", "1204") == kw.Unknown()
        assert parse("STOP", "888") == kw.Help()


@given(st.text(max_size=80), st.sampled_from(["888", "1204", "999"]))
@example("\x00\u17c0 TOP -", "888")
def test_parse_never_raises(text: str, code: str) -> None:
    """Any text to any code parses to some command."""
    assert isinstance(parse(text, code), kw.Command.__args__)  # type: ignore[attr-defined]


@given(st.sampled_from(["BAL", "STOP", "HELP", "LANG KM", "TOP 12345678901234"]),
       st.text(alphabet=" .,!?;:", max_size=5), st.text(alphabet=" .,!?;:", max_size=5))
def test_case_spacing_and_punctuation_do_not_matter(text: str, before: str, after: str) -> None:
    """Padding a keyword with spaces or punctuation or changing its case changes nothing."""
    for code in ("888", "1204"):
        assert parse(before + text.lower() + after, code) == parse(text, code)
