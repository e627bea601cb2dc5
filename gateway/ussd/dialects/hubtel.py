"""Hubtel Programmable Services: one JSON request per step, only the latest answer.

Request: ``Type`` (``Initiation``, ``Response``, ``Release``, ``Timeout``; any
case, Hubtel's own documents write them in lower case), ``Mobile``,
``SessionId``, ``ServiceCode`` (``713``, ``711*2``: without ``*``/``#``),
``Message`` (on ``Initiation`` the whole dial string, ``*123*PIN#``; then the
latest answer), ``Operator``, ``Sequence`` (the step number: the same one
again is a resend), ``ClientState``.

Reply: ``SessionId``, ``Type`` (``Response``: an answer is awaited;
``Release``: the end), ``Message``, ``Label`` (the title Hubtel's apps show:
the screen's first line), ``DataType`` (``input`` / ``display``),
``FieldType`` (``text``) and ``ClientState`` as it came.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.ussd.dialects.fields import Closed, Parsed, number, step, text
from gateway.ussd.request import BadRequest, Close
from menus.tree import Reply

NAME = "hubtel"
#: The field holding the subscriber's number (named in a 400 when it is not one).
PHONE = "Mobile"

_CLOSES = {"release": Close.ABANDONED, "timeout": Close.TIMEOUT}


def parse(body: Mapping[str, object]) -> Parsed:
    """Raises BadRequest naming the field."""
    kind = text(body, "Type").lower()
    raw_id = text(body, "SessionId")
    session_id = f"{NAME}:{raw_id}"
    phone = text(body, PHONE)
    state = text(body, "ClientState", required=False)
    echo = {"SessionId": body["SessionId"], "ClientState": state}
    if kind in _CLOSES:
        return Parsed(Closed(session_id, phone, _CLOSES[kind]), echo)
    if kind not in ("initiation", "response"):
        raise BadRequest("Type: expected Initiation, Response, Release or Timeout")
    sequence = number(body, "Sequence", required=False)
    operator = text(body, "Operator", required=False)
    message = text(body, "Message", required=kind == "response", empty=True)
    service_code = text(body, "ServiceCode", required=False)
    # On Initiation, Message holds what was dialled (*123*PIN#); ServiceCode alone, when it is empty.
    return Parsed(step(session_id, phone, kind == "initiation", message, "Message", code=service_code,
                       code_field="ServiceCode", sequence=sequence, network=operator), echo)


def read_reply(reply: Mapping[str, object]) -> tuple[str, bool]:
    """What a reply says, its text and whether it ends (a test harness or load generator reading it)."""
    return str(reply["Message"]), reply["Type"] == "Release"


def render(reply: Reply, parsed: Parsed) -> dict[str, object]:
    return {
        "SessionId": parsed.echo["SessionId"],
        "Type": "Release" if reply.end else "Response",
        "Message": reply.text,
        "Label": reply.text.partition("\n")[0],
        "DataType": "display" if reply.end else "input",
        "FieldType": "text",
        "ClientState": parsed.echo["ClientState"],
    }
