"""Phone numbers: normalised to E.164 digits without ``+`` (``85512345678``).

Accepted spellings, for a profile with country code 855 and national prefix 0:
``+85512345678``, ``0085512345678``, ``85512345678``, ``012345678``; spaces,
dashes, dots and brackets between digits are ignored. Without a national
prefix (977, Nepal: ``9801234567``) a number of a national length is national,
even one that begins with the country code's digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.domain.errors import InvalidMsisdn

_SEPARATORS = re.compile(r"[\s\-.()]")


@dataclass(frozen=True)
class NumberPlan:
    country_code: str
    national_prefix: str
    #: Lengths of the national significant number (without prefix or country code).
    national_lengths: tuple[int, ...]

    def normalise(self, text: str) -> str:
        """Return the E.164 digits of ``text``.

        Raises:
            InvalidMsisdn: not a number of this operator's country.
        """
        raw = _SEPARATORS.sub("", text or "")
        if raw.startswith("+"):
            digits = raw[1:]
        elif raw.startswith("00"):
            digits = raw[2:]
        elif self.national_prefix and raw.startswith(self.national_prefix):
            digits = self.country_code + raw[len(self.national_prefix):]
        elif not self.national_prefix and len(raw) in self.national_lengths:
            digits = self.country_code + raw
        else:
            digits = raw
        if not digits.isascii() or not digits.isdigit():
            raise InvalidMsisdn(f"not a phone number: {text!r}")
        if not digits.startswith(self.country_code):
            # A bare national number without its prefix.
            if len(digits) in self.national_lengths:
                digits = self.country_code + digits
            else:
                raise InvalidMsisdn(f"not a +{self.country_code} number: {text!r}")
        national = digits[len(self.country_code):]
        if national.startswith(self.national_prefix) and self.national_prefix:
            national = national[len(self.national_prefix):]
            digits = self.country_code + national
        if len(national) not in self.national_lengths:
            raise InvalidMsisdn(f"not a phone number: {text!r} (wrong length)")
        return digits

    def written_as_number(self, word: str) -> bool:
        """Whether ``word`` is written as a phone number of this plan is (it may still be a wrong one).

        International (``+``, ``00`` or the country code, then at least a national
        number's digits), with the trunk prefix, or, in a plan without one,
        exactly a national number's length (Nepal's ``9801234567``). This tells
        a top-up's target from the groups of a PIN before it
        (``TOP 1234 5678 9801234567``); a word this accepts and ``normalise``
        refuses is a mistyped number, answered as one, not a PIN.
        """
        raw = _SEPARATORS.sub("", word)
        digits = raw[1:] if raw.startswith("+") else raw
        if not (digits.isascii() and digits.isdigit()):
            return False
        shortest = min(self.national_lengths)
        if raw.startswith("+") or digits.startswith("00"):
            return len(digits) >= shortest
        if self.national_prefix and digits.startswith(self.national_prefix):
            return len(digits) - len(self.national_prefix) >= shortest - 1
        if digits.startswith(self.country_code) and len(digits) >= len(self.country_code) + shortest:
            return True
        return not self.national_prefix and len(digits) in self.national_lengths

    def national(self, msisdn: str) -> str:
        """``85512345678`` → ``012345678`` (how subscribers write it)."""
        return self.national_prefix + msisdn[len(self.country_code):]


def mask(msisdn: str) -> str:
    """For logs: keep the country code and the last three digits."""
    if len(msisdn) <= 6:
        return "*" * len(msisdn)
    return msisdn[:3] + "*" * (len(msisdn) - 6) + msisdn[-3:]
