"""Nalo Solutions: one JSON request per step, only the latest answer.

Request: ``USERID`` (the account at Nalo), ``MSISDN``, ``USERDATA`` (on the
first request the dial string, ``*123*PIN#``; then the latest answer),
``MSGTYPE`` (``true`` on the first request), ``NETWORK``, ``SESSIONID``.
No request carries the service code after the first, and none says the
subscriber left: the dialogue then ends by its idle expiry.

Reply: ``USERID`` and ``MSISDN`` as they came, ``MSG``, ``MSGTYPE``
(``true``: an answer is awaited; ``false``: the end).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.ussd.dialects.fields import Parsed, flag, step, text
from menus.tree import Reply

NAME = "nalo"
PHONE = "MSISDN"


def parse(body: Mapping[str, object]) -> Parsed:
    """Raises BadRequest naming the field."""
    text(body, "USERID")  # checked only: the reply carries it back as it came
    phone = text(body, PHONE)
    session_id = f"{NAME}:{text(body, 'SESSIONID')}"
    first = flag(body, "MSGTYPE")
    data = text(body, "USERDATA", empty=not first)
    network = text(body, "NETWORK", required=False)
    echo = {"USERID": body["USERID"], "MSISDN": body[PHONE]}
    return Parsed(step(session_id, phone, first, data, "USERDATA", network=network), echo)


def read_reply(reply: Mapping[str, object]) -> tuple[str, bool]:
    """What a reply says, its text and whether it ends (a test harness or load generator reading it)."""
    return str(reply["MSG"]), reply["MSGTYPE"] is False


def render(reply: Reply, parsed: Parsed) -> dict[str, object]:
    return {"USERID": parsed.echo["USERID"], "MSISDN": parsed.echo["MSISDN"], "MSG": reply.text,
            "MSGTYPE": not reply.end}
