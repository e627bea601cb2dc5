"""Texts per language: ``menus/locales/<lang>/<file>.toml``.

A text's key is ``<file-stem>.<key>`` (``replies.topup_ok``). Loading checks
that every language has every key with the same ``{placeholders}``, naming
the file and the key otherwise, so a missing translation stops the gateway
at start-up instead of surprising a subscriber.

A few placeholders are the profile's and are filled in at load
(``CONSTANTS``: ``{example_number}``), so that fixed screens stay fixed.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.config import ConfigError

if TYPE_CHECKING:
    from gateway.profile import OperatorProfile

LOCALES = Path(__file__).resolve().parent / "locales"

#: Placeholders filled from the profile when the texts are loaded.
CONSTANTS = ("example_number",)


class CatalogError(ConfigError):
    """A text file is missing, unreadable, or disagrees with another language.

    A configuration error like any other: the command line refuses in one line.
    """


def _fields(text: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


@dataclass(frozen=True)
class Catalog:
    texts: dict[str, dict[str, str]]  # language -> key -> text
    languages: tuple[str, ...]

    @classmethod
    def for_profile(cls, profile: OperatorProfile, root: Path = LOCALES) -> Catalog:
        """The texts of the profile's languages with its constants filled in."""
        return cls.load(profile.languages, root, constants={"example_number": profile.example_number})

    @classmethod
    def load(cls, languages: Iterable[str], root: Path = LOCALES,
             constants: dict[str, str] | None = None) -> Catalog:
        """Every text of ``languages`` (``constants``: see ``CONSTANTS``; None leaves them as written)."""
        languages = tuple(languages)
        texts: dict[str, dict[str, str]] = {}
        origin: dict[tuple[str, str], Path] = {}
        for language in languages:
            folder = root / language
            if not folder.is_dir():
                raise CatalogError(f"{folder}: no texts for language {language!r}")
            texts[language] = {}
            for path in sorted(folder.glob("*.toml")):
                try:
                    raw = tomllib.loads(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                    raise CatalogError(f"{path}: {exc}") from None
                for key, value in raw.items():
                    if not isinstance(value, str):
                        raise CatalogError(f"{path}: {key}: expected a string")
                    full = f"{path.stem}.{key}"
                    texts[language][full] = value
                    origin[(language, full)] = path
        first = languages[0]
        for language in languages[1:]:
            for key in texts[first].keys() - texts[language].keys():
                raise CatalogError(f"{root / language}/{key.split('.')[0]}.toml: {key} missing in {language!r}")
            for key in texts[language].keys() - texts[first].keys():
                raise CatalogError(f"{root / first}/{key.split('.')[0]}.toml: {key} missing in {first!r}")
            for key, text in texts[language].items():
                if _fields(text) != _fields(texts[first][key]):
                    raise CatalogError(
                        f"{origin[(language, key)]}: {key}: placeholders differ from {first!r}"
                    )
        if constants:
            for table in texts.values():
                for key, text in table.items():
                    for name, value in constants.items():
                        text = text.replace("{" + name + "}", value)
                    table[key] = text
        return cls(texts, languages)

    def text(self, key: str, language: str, **params: Any) -> str:
        """The text in ``language`` (the first language if unknown), filled in."""
        table = self.texts.get(language) or self.texts[self.languages[0]]
        return table[key].format(**params) if params else table[key]

    def has(self, key: str) -> bool:
        return key in self.texts[self.languages[0]]
