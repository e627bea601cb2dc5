"""What the JSON dialects share: reading their fields, and the events a request becomes.

Aggregators are loose with JSON types: a session id or a number may come as
a JSON number or a string, ``"messageType": "1"``, a flag as ``true`` or
``"true"``. The readers here accept each such spelling and nothing else,
raising ``BadRequest`` naming the field, so every codec answers a bad
request with the same kind of reason.

A codec's ``parse`` returns a ``Parsed``: the event for the dialogues and
the request fields its reply repeats (``echo``), so that ``render`` stays a
pure function of the reply and the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.ussd.request import MAX_FIELD, BadRequest, Close, LatestRequest, UssdRequest, split_dial


@dataclass(frozen=True)
class Closed:
    """The dialogue ended on the aggregator's side: the subscriber left, or the network timed out."""

    session_id: str
    phone_number: str
    reason: Close


Event = UssdRequest | LatestRequest | Closed


@dataclass(frozen=True)
class Parsed:
    event: Event
    #: Request fields the dialect's reply carries back (``SessionId``, ``USERID``, ...).
    echo: Mapping[str, object] = field(default_factory=dict)


def text(body: Mapping[str, object], name: str, *, required: bool = True, empty: bool = False) -> str:
    """A string field (a JSON number is taken as its digits), stripped.

    ``required``: missing is a bad request (else ``""``); ``empty``: ``""`` is allowed.
    """
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name}: missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadRequest(f"{name}: expected a string")
    out = str(value).strip()
    if len(out) > MAX_FIELD:
        raise BadRequest(f"{name}: too long")
    if not out and required and not empty:
        raise BadRequest(f"{name}: empty")
    return out


def number(body: Mapping[str, object], name: str, *, required: bool = True) -> int | None:
    """A non-negative integer field, as a JSON number or a string of digits."""
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name}: missing")
        return None
    if isinstance(value, bool):
        raise BadRequest(f"{name}: expected a number")
    if isinstance(value, int):
        if value < 0:
            raise BadRequest(f"{name}: expected a number ≥ 0")
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) <= 18:
        return int(value)
    raise BadRequest(f"{name}: expected a number")


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def flag(body: Mapping[str, object], name: str) -> bool:
    """A boolean field: ``true``/``false``, or those words (or ``1``/``0``) as a string or number."""
    value = body.get(name)
    if isinstance(value, bool):
        return value
    if value is None:
        raise BadRequest(f"{name}: missing")
    if isinstance(value, (int, str)):
        word = str(value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise BadRequest(f"{name}: expected true or false")


def step(session_id: str, phone: str, first: bool, data: str, field: str, *, code: str = "",
         code_field: str = "", sequence: int | None = None, network: str = "") -> LatestRequest:
    """The request of one step of a latest-answer dialect.

    ``first``: ``data`` is what was dialled (``*123*PIN#``, read as field
    ``field``), or, when empty, the service code ``code`` alone (field
    ``code_field``). Otherwise ``data`` is the latest answer and ``code``, if
    the dialect sends one, in any form (``711*2``: ``*711#``).
    """
    if first:
        dial, name = (data, field) if data else (code, code_field)
        if not dial:
            raise BadRequest(f"{field}: missing (the dial string on the first request)")
        service_code, segments = split_dial(dial, name)
        return LatestRequest(session_id, service_code, phone, True, segments, sequence, network)
    service_code = split_dial(code, code_field)[0] if code else ""
    return LatestRequest(session_id, service_code, phone, False, (data,), sequence, network)
