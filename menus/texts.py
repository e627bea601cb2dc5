"""Texts per language: ``menus/locales/<lang>/<file>.toml``.

A text's key is ``<file-stem>.<key>`` (``replies.topup_ok``). Loading checks
that every language has every key with the same ``{placeholders}``, naming
the file and the key otherwise (``read_texts``), so a missing translation
stops the gateway at start-up instead of surprising a subscriber.

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

from menus.tree import MenusError, Problem

if TYPE_CHECKING:
    from gateway.profile import OperatorProfile

LOCALES = Path(__file__).resolve().parent / "locales"

#: Placeholders filled from the profile when the texts are loaded.
CONSTANTS = ("example_number",)


class CatalogError(MenusError):
    """A text file is missing, unreadable, or disagrees with another language.

    A configuration error like any other: the command line refuses in one line.
    """


def fields(text: str) -> frozenset[str]:
    """The ``{placeholders}`` a text is filled with."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def profile_constants(profile: OperatorProfile) -> dict[str, str]:
    """The values of ``CONSTANTS`` for ``profile``."""
    return {"example_number": profile.example_number}


@dataclass(frozen=True)
class TextFiles:
    """Every text of some languages as read, and every problem found in them.

    What ``Catalog.load`` refuses on (its first problem) and ``menus.lint``
    reports in full. A language folder may be missing or a file unreadable:
    the texts are then what could be read.
    """

    root: Path
    languages: tuple[str, ...]
    texts: dict[str, dict[str, str]]  # language -> key -> text, as written
    #: The file each (language, key) was read from.
    origin: dict[tuple[str, str], Path]
    problems: tuple[Problem, ...]

    def file_of(self, language: str, key: str) -> Path:
        """The file a key of ``language`` is (or belongs) in: ``<root>/<language>/<stem>.toml``."""
        return self.origin.get((language, key)) or self.root / language / f"{key.split('.')[0]}.toml"

    def catalog(self, constants: dict[str, str] | None = None) -> Catalog:
        """The texts as a ``Catalog`` (``constants`` filled in), whatever the problems."""
        texts = {language: dict(table) for language, table in self.texts.items()}
        if constants:
            for table in texts.values():
                for key, text in table.items():
                    for name, value in constants.items():
                        text = text.replace("{" + name + "}", value)
                    table[key] = text
        return Catalog(texts, self.languages)


def read_texts(languages: Iterable[str], root: Path = LOCALES) -> TextFiles:
    """Read ``<root>/<language>/*.toml`` and compare the languages with the first one.

    Problems: a language without a folder, a file that cannot be read or is
    not a table of strings, a key missing in a language that another has,
    and a key whose placeholders differ from the first language's.
    """
    languages = tuple(languages)
    problems: list[Problem] = []
    texts: dict[str, dict[str, str]] = {}
    origin: dict[tuple[str, str], Path] = {}
    present = []  # languages with a folder: the others are not reported key by key
    for language in languages:
        texts[language] = {}
        folder = root / language
        if not folder.is_dir():
            problems.append(Problem(folder, "", f"no texts for language {language!r}"))
            continue
        present.append(language)
        for path in sorted(folder.glob("*.toml")):
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                problems.append(Problem(path, "", str(exc)))
                continue
            for key, value in raw.items():
                full = f"{path.stem}.{key}"
                if not isinstance(value, str):
                    problems.append(Problem(path, full, "expected a string"))
                    continue
                texts[language][full] = value
                origin[(language, full)] = path
    files = TextFiles(root, languages, texts, origin, ())
    every = sorted(set().union(*(texts[language].keys() for language in present)))
    for language in present:
        have = [other for other in present if other != language]
        for key in every:
            if key not in texts[language]:
                where = ", ".join(repr(o) for o in have if key in texts[o])
                problems.append(Problem(files.file_of(language, key), key,
                                        f"missing in {language!r} (present in {where})"))
    if present:
        first = present[0]
        for language in present[1:]:
            for key, text in texts[language].items():
                if key in texts[first] and fields(text) != fields(texts[first][key]):
                    problems.append(Problem(
                        origin[(language, key)], key,
                        f"placeholders {_shown(fields(text))} differ from {first!r} "
                        f"({_shown(fields(texts[first][key]))})"))
    return TextFiles(root, languages, texts, origin, tuple(problems))


def _shown(names: frozenset[str]) -> str:
    return ", ".join("{" + name + "}" for name in sorted(names)) or "none"


@dataclass(frozen=True)
class Catalog:
    texts: dict[str, dict[str, str]]  # language -> key -> text
    languages: tuple[str, ...]

    @classmethod
    def for_profile(cls, profile: OperatorProfile, root: Path = LOCALES) -> Catalog:
        """The texts of the profile's languages with its constants filled in."""
        return cls.load(profile.languages, root, constants=profile_constants(profile))

    @classmethod
    def load(cls, languages: Iterable[str], root: Path = LOCALES,
             constants: dict[str, str] | None = None) -> Catalog:
        """Every text of ``languages`` (``constants``: see ``CONSTANTS``; None leaves them as written).

        Raises:
            CatalogError: the first problem ``read_texts`` finds.
        """
        files = read_texts(languages, root)
        if files.problems:
            raise CatalogError(str(files.problems[0]))
        return files.catalog(constants)

    def text(self, key: str, language: str, **params: Any) -> str:
        """The text in ``language`` (the first language if unknown), filled in."""
        table = self.texts.get(language) or self.texts[self.languages[0]]
        return table[key].format(**params) if params else table[key]

    def has(self, key: str) -> bool:
        return key in self.texts[self.languages[0]]
