"""MTN MADAPI USSD inbound: one JSON request per step, only the latest answer after the first.

Request: ``sessionId``, ``messageType`` (``0`` begin, ``1`` continue, ``2``
end, ``4`` cancel, ``5`` timeout; a number or a string), ``msisdn``,
``serviceCode`` (``*123#`` or ``123``), ``ussdString`` (on begin the dial
string, ``*123*PIN#``; then the latest answer), optionally ``transactionId``.
End and cancel are the subscriber leaving, timeout the network's timer.

Reply: ``statusCode`` ``"0000"``, ``statusMessage``, ``transactionId`` (the
request's, else its ``sessionId``) and ``data``: ``inboundResponse`` (the
screen), ``userInputRequired``, ``messageType`` (``1`` continue, ``2`` end),
``serviceCode`` and ``msisdn`` as they came.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.ussd.dialects.fields import Closed, Parsed, number, step, text
from gateway.ussd.request import BadRequest, Close
from menus.tree import Reply

NAME = "madapi"
PHONE = "msisdn"

BEGIN, CONTINUE = 0, 1
_CLOSES = {2: Close.ABANDONED, 4: Close.ABANDONED, 5: Close.TIMEOUT}


def parse(body: Mapping[str, object]) -> Parsed:
    """Raises BadRequest naming the field."""
    raw_id = text(body, "sessionId")
    session_id = f"{NAME}:{raw_id}"
    kind = number(body, "messageType")
    phone = text(body, PHONE)
    service_code = text(body, "serviceCode", required=False)
    transaction = text(body, "transactionId", required=False)
    echo = {"transactionId": body["transactionId"] if transaction else body["sessionId"],
            "serviceCode": body.get("serviceCode", ""), "msisdn": body[PHONE]}
    if kind in _CLOSES:
        return Parsed(Closed(session_id, phone, _CLOSES[kind]), echo)
    if kind not in (BEGIN, CONTINUE):
        raise BadRequest("messageType: expected 0, 1, 2, 4 or 5")
    ussd = text(body, "ussdString", required=kind == CONTINUE, empty=True)
    # On begin, ussdString holds what was dialled (*123*PIN#); serviceCode alone, when it is empty.
    return Parsed(step(session_id, phone, kind == BEGIN, ussd, "ussdString", code=service_code,
                       code_field="serviceCode"), echo)


def read_reply(reply: Mapping[str, object]) -> tuple[str, bool]:
    """What a reply says, its text and whether it ends (a test harness or load generator reading it)."""
    data = reply["data"]
    if not isinstance(data, Mapping):
        raise TypeError("data: not an object")
    return str(data["inboundResponse"]), data["messageType"] == 2


def render(reply: Reply, parsed: Parsed) -> dict[str, object]:
    echo = parsed.echo
    return {
        "statusCode": "0000",
        "statusMessage": "Success",
        "transactionId": echo["transactionId"],
        "data": {
            "inboundResponse": reply.text,
            "userInputRequired": not reply.end,
            "messageType": 2 if reply.end else 1,
            "serviceCode": echo["serviceCode"],
            "msisdn": echo["msisdn"],
        },
    }
