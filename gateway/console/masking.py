"""Numbers as a viewer sees them: ``855****5678``.

The console hands a viewer the same data as an operator with every phone
number masked: values under the keys that hold numbers (a message's
``destination``, a line's ``msisdn``, a lost report's ``reporter``, …) and
numbers written inside free text (an SMS, a complaint, a note). Masking is
applied to the data before it is rendered, page and API alike, so no view
can forget it. Short codes (``888``) and amounts stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

#: Keys whose value is a phone number when it is one (a message's ``source`` may be a short code).
NUMBER_KEYS = frozenset({"msisdn", "destination", "source", "reporter", "requester"})
#: Keys of free text that may hold a number.
TEXT_KEYS = frozenset({"text", "note", "reason", "detail", "error", "target"})
#: A phone number inside text: 7 digits or more (a national ``012345678``; amounts have separators).
_NUMBER_IN_TEXT = re.compile(r"\+?\d{7,}")


def mask_number(number: str) -> str:
    """``85512345678`` → ``855****5678``: the country code and the last four digits stay."""
    digits = number.lstrip("+")
    if len(digits) < 7 or not digits.isdigit():
        return number
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_text(text: str) -> str:
    return _NUMBER_IN_TEXT.sub(lambda m: mask_number(m.group(0)), text)


def for_viewer(data: Any) -> Any:
    """A copy of ``data`` (JSON-like: dicts, lists, scalars) with every number masked."""
    if isinstance(data, dict):
        return {key: _masked(key, value) for key, value in data.items()}
    if isinstance(data, list):
        return [for_viewer(item) for item in data]
    return data


def _masked(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in NUMBER_KEYS:
            return mask_number(value)
        if key in TEXT_KEYS:
            return mask_text(value)
        return value
    return for_viewer(value)
