"""What every USSD path hands the dialogue layer, whatever its wire format.

Two shapes, because aggregators come in two kinds:

- ``UssdRequest``: the whole path so far in every request (Africa's Talking:
  ``text`` holds every answer, ``*``-joined). Navigation needs no state.
- ``LatestRequest``: only the latest answer (Hubtel, Nalo, Arkesel, MADAPI,
  USSD over SMPP). The dialogue layer keeps the path on our side
  (``Dialogues.handle_latest``), in the session store.

``split_dial`` turns a dial string in any of the forms aggregators send
(``*123*PIN#``, ``123*PIN``, ``713``) into the service code and the
segments dialled after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_FIELD = 256  # no real field comes near this; a longer one is a bad request


class BadRequest(Exception):
    """A field is missing or malformed; the message is the reason sent back."""


@dataclass(frozen=True)
class UssdRequest:
    session_id: str
    service_code: str
    phone_number: str
    answers: tuple[str, ...]
    network_code: str = ""

    @property
    def text(self) -> str:
        return "*".join(self.answers)


class Close(Enum):
    """Why a dialogue ended without our END: the subscriber left, or the network gave up."""

    ABANDONED = "abandoned"  # Release, cancel, a user abort
    TIMEOUT = "timeout"  # the network's session timer


@dataclass(frozen=True)
class LatestRequest:
    """One request of a dialect that sends only the latest answer.

    ``first``: the dialogue starts; ``answers`` then holds the segments dialled
    after the code (``*123*PIN#`` → ``("PIN",)``), possibly none. Otherwise
    ``answers`` is exactly one answer. ``sequence``: the dialect's step number
    when it sends one (Hubtel); the same sequence again is a resend.
    ``service_code`` may be empty after the first request: the dialogue's own
    is used. ``restart``: the path names a subscriber's dialogue, not one
    dialogue, so a session id comes back for later dialogues (USSD over SMPP
    keyed by the number and a session number the centre reuses): a first
    request then always starts a new dialogue, never a resend of an old one.
    """

    session_id: str
    service_code: str
    phone_number: str
    first: bool
    answers: tuple[str, ...]
    sequence: int | None = None
    network_code: str = ""
    restart: bool = False


def split_dial(dial: str, field: str = "serviceCode") -> tuple[str, tuple[str, ...]]:
    """``*123*PIN#``, ``123*PIN`` or ``*123#`` → (``*123#``, segments after the code).

    Raises:
        BadRequest: not a dial string (naming ``field``).
    """
    body = dial.strip()
    if body.startswith("*"):
        body = body[1:]
    if body.endswith("#"):
        body = body[:-1]
    segments = body.split("*")
    if not body or not all(segments) or not segments[0].isdigit():
        raise BadRequest(f"{field}: expected a code like *100#")
    return f"*{segments[0]}#", tuple(segments[1:])
