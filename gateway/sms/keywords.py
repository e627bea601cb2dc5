"""SMS keywords: text and short code in, a command out (sans-I/O, never raises).

Rule: the short code decides the vocabulary; the first word decides the
command; the rest are its arguments. Case, extra spaces and common
punctuation (``.,;:!?#*"'()``) do not matter. Whatever is not understood is
``Help`` (on the keyword code) or ``Unknown`` (on the marketing code), so every
message gets an answer.

    888:  BAL | TOP PIN [MSISDN] | LOST MSISDN IDNUMBER | LANG EN|KM | HELP
    1204: STOP (UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL, OPTOUT, ...)
          START (YES, SUBSCRIBE, UNSTOP, ...)

Numbers and PINs are passed on as written (spaces and dashes inside a PIN are
dropped); the services validate them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Balance:
    pass


@dataclass(frozen=True)
class TopUpCommand:
    pin: str
    target: str | None = None


@dataclass(frozen=True)
class LostCommand:
    msisdn: str
    id_number: str


@dataclass(frozen=True)
class Language:
    language: str | None  # None: not a language we offer


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Consent:
    opt_in: bool


@dataclass(frozen=True)
class Unknown:
    """Nothing understood on a code that has no help text of its own."""


Command = Balance | TopUpCommand | LostCommand | Language | Help | Consent | Unknown

_PUNCTUATION = re.compile(r"[.,;:!?#*\"'()\[\]{}<>_=/\\|~`]+")
_TOKENS = re.compile(r"\S+")

_BALANCE = frozenset({"BAL", "BALANCE", "BALANCES"})
_TOPUP = frozenset({"TOP", "TOPUP", "RECHARGE", "REFILL"})
_LOST = frozenset({"LOST", "STOLEN"})
_LANG = frozenset({"LANG", "LANGUAGE"})
_HELP = frozenset({"HELP", "INFO", "MENU", "?"})
_STOP = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
                   "REVOKE", "NO", "UNSUB"})
_START = frozenset({"START", "YES", "SUBSCRIBE", "UNSTOP", "OPTIN", "RESUME", "SUB"})
_LANGUAGES = {"EN": "en", "ENG": "en", "ENGLISH": "en",
              "KM": "km", "KH": "km", "KHM": "km", "KHMER": "km", "ខ្មែរ": "km"}
#: Two-word spellings that mean one keyword ("OPT OUT", "TOP UP").
_JOINED = {("OPT", "OUT"): "OPTOUT", ("OPT", "IN"): "OPTIN", ("TOP", "UP"): "TOPUP",
           ("STOP", "ALL"): "STOPALL"}


def tokens(text: str) -> list[str]:
    """Upper-cased words of ``text`` with punctuation treated as space."""
    words = _TOKENS.findall(_PUNCTUATION.sub(" ", text).upper())
    if len(words) >= 2 and (words[0], words[1]) in _JOINED:
        words = [_JOINED[(words[0], words[1])], *words[2:]]
    return words


def parse(text: str, short_code: str, *, keywords_code: str, marketing_code: str) -> Command:
    """The command a subscriber meant by writing ``text`` to ``short_code``."""
    words = tokens(text)
    head, args = (words[0].replace("-", ""), words[1:]) if words else ("", [])
    if short_code == marketing_code:
        if head in _STOP:
            return Consent(opt_in=False)
        if head in _START:
            return Consent(opt_in=True)
        return Unknown()
    if head in _BALANCE and not args:
        return Balance()
    if head in _TOPUP and args:
        return _top_up(args)
    if head in _LOST and len(args) >= 2:
        return LostCommand(args[0], " ".join(args[1:]))
    if head in _LANG and len(args) == 1:
        return Language(_LANGUAGES.get(args[0]))
    return Help()


def _top_up(args: list[str]) -> Command:
    # The PIN may be written in groups ("1234 5678 9012 34", "1234-5678-...");
    # a trailing group that reads as a phone number is the gift target.
    groups = [a.replace("-", "") for a in args]
    if len(groups) >= 2 and _looks_like_msisdn(args[-1]):
        return TopUpCommand("".join(groups[:-1]), args[-1])
    return TopUpCommand("".join(groups))


def _looks_like_msisdn(word: str) -> bool:
    digits = word.lstrip("+")
    return digits.isdigit() and (word.startswith(("+", "0")) or len(digits) >= 11) and len(digits) >= 8
