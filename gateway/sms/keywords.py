"""SMS keywords: text and short code in, a command out (sans-I/O, never raises).

Rule: the short code decides the vocabulary; the first word decides the
command; the rest are its arguments. Case, extra spaces and common
punctuation (``.,;:!?#*"'()``) do not matter. Whatever is not understood is
``Help`` (on the keyword code) or ``Unknown`` (on the marketing code), so every
message gets an answer.

    888:  BAL | BILL | TOP PIN [MSISDN] | LOST MSISDN IDNUMBER | LANG EN|KM|NE | HELP
          and, where the profile offers them (``offered``, ``gateway.domain.care``):
          STATEMENT | DISPUTE [REASON] | COMPLAINT TEXT | CHANGE (number change)
    1204: STOP (UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL, OPTOUT, ...)
          START (YES, SUBSCRIBE, UNSTOP, ...)

The reason of a DISPUTE and the text of a COMPLAINT are the rest of the
message as written (case and punctuation kept): the subscriber's own words.
Numbers and PINs are passed on as written (spaces and dashes inside a PIN are
dropped); the services validate them. Whether the last word of a TOP is the
number to top up or a group of the PIN is the profile's number plan's to say
(``NumberPlan.written_as_number``: Nepal's ``9801234567`` has no prefix).

A message is stored ``seal``-ed: the PIN of a TOP and the ID number of a LOST
are replaced by tokens holding their keyed hash and shape (``Sealed``), so the
inbox never holds them in clear; ``parse(..., stored=True)`` reads the tokens
back and the services answer exactly as they would the typed text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from gateway.domain.msisdn import NumberPlan
from gateway.domain.secrets import Sealed


@dataclass(frozen=True)
class Balance:
    pass


@dataclass(frozen=True)
class BillCommand:
    """A postpaid line's latest bill, due day, dues against the deposit (004 7.3-7.4, 7.7)."""


@dataclass(frozen=True)
class TopUpCommand:
    pin: str | Sealed
    target: str | None = None


@dataclass(frozen=True)
class LostCommand:
    msisdn: str
    id_number: str | Sealed


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


@dataclass(frozen=True)
class StatementCommand:
    """004 clause 7.6: a detailed statement of the latest bill."""


@dataclass(frozen=True)
class DisputeCommand:
    """004 clauses 3(B).4, 9.3: dispute the latest bill (``reason`` may be empty)."""

    reason: str


@dataclass(frozen=True)
class ComplaintCommand:
    """004 clauses 9.1, 10.1: a written complaint (``text`` may be empty: then it is refused with help)."""

    text: str


@dataclass(frozen=True)
class NumberChangeCommand:
    """004 clause 5.1: ask to change the mobile number."""


Command = (Balance | BillCommand | TopUpCommand | LostCommand | Language | Help | Consent | Unknown
           | StatementCommand | DisputeCommand | ComplaintCommand | NumberChangeCommand)

_PUNCTUATION = re.compile(r"[.,;:!?#*\"'()\[\]{}<>_=/\\|~`]+")
_TOKENS = re.compile(r"\S+")

_BALANCE = frozenset({"BAL", "BALANCE", "BALANCES"})
_BILL = frozenset({"BILL", "BILLS"})
_TOPUP = frozenset({"TOP", "TOPUP", "RECHARGE", "REFILL"})
_LOST = frozenset({"LOST", "STOLEN"})
_LANG = frozenset({"LANG", "LANGUAGE"})
_STOP = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
                   "REVOKE", "NO", "UNSUB"})
_START = frozenset({"START", "YES", "SUBSCRIBE", "UNSTOP", "OPTIN", "RESUME", "SUB"})
_LANGUAGES = {"EN": "en", "ENG": "en", "ENGLISH": "en",
              "KM": "km", "KH": "km", "KHM": "km", "KHMER": "km", "ខ្មែរ": "km",
              "NE": "ne", "NP": "ne", "NEP": "ne", "NEPALI": "ne", "नेपाली": "ne"}
_STATEMENT = frozenset({"STATEMENT", "STMT", "DETAIL", "DETAILS"})
_DISPUTE = frozenset({"DISPUTE"})
_COMPLAINT = frozenset({"COMPLAINT", "COMPLAIN", "COMPLAINTS"})
_NUMBER_CHANGE = frozenset({"CHANGE", "NUMCHANGE", "CHANGENUMBER"})
#: Two-word spellings that mean one keyword ("OPT OUT", "TOP UP").
_JOINED = {("OPT", "OUT"): "OPTOUT", ("OPT", "IN"): "OPTIN", ("TOP", "UP"): "TOPUP",
           ("STOP", "ALL"): "STOPALL", ("CHANGE", "NUMBER"): "CHANGENUMBER",
           ("NUMBER", "CHANGE"): "NUMCHANGE"}


def tokens(text: str) -> list[str]:
    """Upper-cased words of ``text`` with punctuation treated as space."""
    words = _TOKENS.findall(_PUNCTUATION.sub(" ", text).upper())
    if len(words) >= 2 and (words[0], words[1]) in _JOINED:
        words = [_JOINED[(words[0], words[1])], *words[2:]]
    return words


def parse(text: str, short_code: str, *, keywords_code: str, marketing_code: str,
          stored: bool = False, offered: frozenset[str] = frozenset(),
          number_plan: NumberPlan | None = None) -> Command:
    """The command a subscriber meant by writing ``text`` to ``short_code``.

    ``stored``: ``text`` is as ``seal`` stored it; its tokens are read back
    as ``Sealed`` secrets (in a subscriber's own text they are just words).
    ``offered``: the customer-care requests of the profile
    (``CarePolicy.offered``); the keyword of any other is not understood.
    ``number_plan``: the profile's, which tells a TOP's target from a PIN
    group (None: a number with ``+``, ``0`` or 11 digits or more, as a
    plan with a trunk prefix writes them).
    """
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
    if head in _BILL and not args:
        return BillCommand()
    if head in _TOPUP and args:
        command = _top_up(args, number_plan)
        if stored and isinstance(command.pin, str):
            return TopUpCommand(_unseal(_PIN_TOKEN, command.pin) or command.pin, command.target)
        return command
    if head in _LOST and len(args) >= 2:
        id_number = " ".join(args[1:])
        return LostCommand(args[0], (_unseal(_ID_TOKEN, id_number) if stored else None) or id_number)
    if head in _LANG and len(args) == 1:
        return Language(_LANGUAGES.get(args[0]))
    care = _care(head, args, text, offered)
    return Help() if care is None else care


def _care(head: str, args: list[str], text: str, offered: frozenset[str]) -> Command | None:
    """A customer-care request the profile offers, or None."""
    if head in _STATEMENT and not args and "statement" in offered:
        return StatementCommand()
    if head in _DISPUTE and "dispute" in offered:
        return DisputeCommand(_rest(text))
    if head in _COMPLAINT and "complaint" in offered:
        return ComplaintCommand(_rest(text))
    if head in _NUMBER_CHANGE and not args and "number_change" in offered:
        return NumberChangeCommand()
    return None


_PUNCT_CLASS = r"\s.,;:!?#*\"'()\[\]{}<>_=/\\|~`"
_FIRST_WORD = re.compile(f"^[{_PUNCT_CLASS}]*[^{_PUNCT_CLASS}]+[{_PUNCT_CLASS}\\-]*")


def _rest(text: str) -> str:
    """What follows the keyword, as written (``"COMPLAINT: No signal"`` → ``"No signal"``)."""
    found = _FIRST_WORD.match(text)
    return (text[found.end():] if found else "").strip()


def _top_up(args: list[str], plan: NumberPlan | None) -> TopUpCommand:
    # The PIN may be written in groups ("1234 5678 9012 34", "1234-5678-...");
    # a trailing group that reads as a phone number is the gift target.
    groups = [a.replace("-", "") for a in args]
    target = plan.written_as_number(args[-1]) if plan is not None else _looks_like_msisdn(args[-1])
    if len(groups) >= 2 and target:
        return TopUpCommand("".join(groups[:-1]), args[-1])
    return TopUpCommand("".join(groups))


def _looks_like_msisdn(word: str) -> bool:
    digits = word.lstrip("+")
    return digits.isdigit() and (word.startswith(("+", "0")) or len(digits) >= 11) and len(digits) >= 8


# --- what the inbox keeps --------------------------------------------------------

#: ``@PIN<length><D: digits only | X>@<keyed hash>`` and ``@ID<length>@<keyed hash>``:
#: one word each, no character ``tokens`` or ``_top_up`` would split or drop.
_PIN_TOKEN = re.compile(r"@PIN(\d{1,6})([DX])@([0-9A-F]{64})?")
_ID_TOKEN = re.compile(r"@ID(\d{1,6})@([0-9A-F]{64})?")


def seal(text: str, *, seal_pin: Callable[[str], Sealed], seal_id: Callable[[str], Sealed],
         number_plan: NumberPlan | None = None) -> str:
    """``text`` as the inbox keeps it: the secret arguments of a TOP or LOST sealed.

    The rest is unchanged, and ``parse(seal(t), code, ..., stored=True)`` is the
    command ``parse(t, code, ...)`` with ``Sealed`` secrets, on either short
    code (given the same ``number_plan``): the keyword stays the first word,
    so the marketing code still reads it as not understood.
    """
    command = parse(text, "", keywords_code="", marketing_code="-", number_plan=number_plan)
    if isinstance(command, TopUpCommand) and isinstance(command.pin, str):
        pin = seal_pin(command.pin)
        token = f"@PIN{pin.length}{'D' if pin.digits else 'X'}@{pin.digest}"
        return " ".join(["TOP", token, *([command.target] if command.target else [])])
    if isinstance(command, LostCommand) and isinstance(command.id_number, str):
        id_number = seal_id(command.id_number)
        return f"LOST {command.msisdn} @ID{id_number.length}@{id_number.digest}"
    return text


def _unseal(pattern: re.Pattern[str], word: str) -> Sealed | None:
    found = pattern.fullmatch(word)
    if found is None:
        return None
    if pattern is _PIN_TOKEN:
        return Sealed((found[3] or "").lower(), int(found[1]), found[2] == "D")
    return Sealed((found[2] or "").lower(), int(found[1]), False)
