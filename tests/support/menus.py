"""A small menu tree and its texts in a temporary folder, for the linter and graph tests to break one
thing at a time."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

from gateway.profile import OperatorProfile
from menus.lint import lint
from menus.paging import ScreenLimits
from menus.texts import LOCALES

TREE = """\
code = "selfcare"
start = "main"

[screens.main]
kind = "menu"
text = "selfcare.title"
options = [
    { label = "selfcare.opt_topup", target = "pin" },
    { label = "selfcare.opt_stop", target = "stop" },
    { label = "selfcare.opt_statement", target = "statement", when = "care:statement" },
]

[screens.pin]
kind = "input"
text = "selfcare.pin_prompt"
validate = "pin"
store = "pin"
next = "sure"

[screens.sure]
kind = "confirm"
text = "selfcare.sure"
next = "topup"

[screens.topup]
kind = "action"
action = "top_up"
args = { pin = "$pin" }

[screens.stop]
kind = "action"
action = "set_marketing_consent"
args = { opt_in = "false" }

[screens.statement]
kind = "confirm"
text = "selfcare.statement_sure"
next = "statement_ask"

[screens.statement_ask]
kind = "action"
action = "ask_statement"
"""

TEXTS = {
    "en": {"title": "Self-care", "opt_topup": "Top up", "opt_stop": "Stop offers",
           "opt_statement": "Statement", "pin_prompt": "Enter the card PIN:",
           "sure": "Top up now?", "statement_sure": "Get a statement?"},
    "km": {"title": "សេវាអតិថិជន", "opt_topup": "បញ្ចូលលុយ", "opt_stop": "ឈប់ទទួល",
           "opt_statement": "របាយការណ៍", "pin_prompt": "បញ្ចូលលេខកូដកាត៖",
           "sure": "បញ្ចូលលុយឥឡូវនេះ?", "statement_sure": "ទទួលរបាយការណ៍?"},
    "ne": {"title": "सेल्फ-केयर", "opt_topup": "रिचार्ज", "opt_stop": "प्रचार बन्द",
           "opt_statement": "बिल विवरण", "pin_prompt": "कार्डको पिन लेख्नुहोस्:",
           "sure": "अहिले रिचार्ज गर्ने?", "statement_sure": "बिल विवरण चाहियो?"},
}

#: The English fits one GSM screen with room to spare; the Khmer needs more than 80 UCS-2 characters.


class Menus:
    """A tree and its texts in a temporary folder, to break one thing at a time."""

    def __init__(self, root: Path, profile: OperatorProfile) -> None:
        self.profile = profile
        self.trees = root / "trees"
        self.locales = root / "locales"
        self.trees.mkdir()
        (self.trees / "selfcare.toml").write_text(TREE, encoding="utf-8")
        for language in profile.languages:
            folder = self.locales / language
            folder.mkdir(parents=True)
            shutil.copy(LOCALES / language / "ussd.toml", folder / "ussd.toml")
            self.write_texts(language, TEXTS[language])

    def tree(self) -> Path:
        return self.trees / "selfcare.toml"

    def texts(self, language: str) -> Path:
        return self.locales / language / "selfcare.toml"

    def write_texts(self, language: str, texts: dict[str, str]) -> None:
        # A JSON string is a TOML basic string (same escapes).
        self.texts(language).write_text("".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n"
                                                for k, v in texts.items()), encoding="utf-8")

    def set_text(self, language: str, key: str, text: str) -> None:
        self.write_texts(language, {**self._read(language), key: text})

    def drop_text(self, language: str, key: str) -> None:
        texts = self._read(language)
        del texts[key]
        self.write_texts(language, texts)

    def _read(self, language: str) -> dict[str, str]:
        return tomllib.loads(self.texts(language).read_text(encoding="utf-8"))

    def edit_tree(self, old: str, new: str) -> None:
        text = self.tree().read_text(encoding="utf-8")
        assert old in text
        self.tree().write_text(text.replace(old, new, 1), encoding="utf-8")

    def lines(self, limits: ScreenLimits | None = None) -> list[str]:
        limits = limits or ScreenLimits()
        return [str(p) for p in lint(self.profile, limits, trees=self.trees, locales=self.locales).problems]
