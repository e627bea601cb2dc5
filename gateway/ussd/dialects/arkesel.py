"""Arkesel: one JSON request per step, only the latest answer.

Request: ``sessionID``, ``userID`` (the account at Arkesel), ``newSession``
(``true`` on the first request), ``msisdn``, ``userData`` (on the first
request the dial string, ``*123*PIN#``; then the latest answer), ``network``.
No request carries the service code after the first, and none says the
subscriber left: the dialogue then ends by its idle expiry.

Reply: ``sessionID``, ``userID`` and ``msisdn`` as they came, ``message``,
``continueSession`` (``true``: an answer is awaited).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.ussd.dialects.fields import Parsed, flag, step, text
from menus.tree import Reply

NAME = "arkesel"
PHONE = "msisdn"


def parse(body: Mapping[str, object]) -> Parsed:
    """Raises BadRequest naming the field."""
    session_id = f"{NAME}:{text(body, 'sessionID')}"
    text(body, "userID")  # checked only: the reply carries it back as it came
    phone = text(body, PHONE)
    first = flag(body, "newSession")
    data = text(body, "userData", empty=not first)
    network = text(body, "network", required=False)
    echo = {"sessionID": body["sessionID"], "userID": body["userID"], "msisdn": body[PHONE]}
    return Parsed(step(session_id, phone, first, data, "userData", network=network), echo)


def read_reply(reply: Mapping[str, object]) -> tuple[str, bool]:
    """What a reply says, its text and whether it ends (a test harness or load generator reading it)."""
    return str(reply["message"]), reply["continueSession"] is False


def render(reply: Reply, parsed: Parsed) -> dict[str, object]:
    echo = parsed.echo
    return {"sessionID": echo["sessionID"], "userID": echo["userID"], "msisdn": echo["msisdn"],
            "message": reply.text, "continueSession": not reply.end}
