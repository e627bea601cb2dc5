"""The Africa's Talking convention: form fields in, ``CON …`` / ``END …`` out.

``sessionId``, ``serviceCode``, ``phoneNumber`` and ``text`` (every answer so
far joined by ``*``; empty on the first request), optional ``networkCode``.
A code dialled with extra segments (``*123*PIN#``) arrives as
``serviceCode=*123#`` with the segments as the first ``text``; a
``serviceCode`` that still carries them is split the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.ussd.request import MAX_FIELD, BadRequest, UssdRequest
from menus.tree import Reply

__all__ = ["BadRequest", "UssdRequest", "parse", "render"]


def parse(form: Mapping[str, str]) -> UssdRequest:
    """Raises BadRequest naming the field."""
    session_id = _field(form, "sessionId")
    code = _field(form, "serviceCode")
    phone = _field(form, "phoneNumber")
    text = _field(form, "text")
    network = _field(form, "networkCode")
    if not session_id:
        raise BadRequest("sessionId: empty")
    if not (code.startswith("*") and code.endswith("#") and len(code) > 2):
        raise BadRequest("serviceCode: expected a code like *100#")
    answers = tuple(text.split("*")) if text else ()
    if "*" in code[1:-1]:  # *123*PIN# sent whole: the extra segments come first
        segments = code[1:-1].split("*")
        if not all(segments):
            raise BadRequest("serviceCode: expected a code like *100#")
        code = f"*{segments[0]}#"
        answers = tuple(segments[1:]) + answers
    return UssdRequest(session_id, code, phone, answers, network)


def _field(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if value is None:
        if name == "text":
            raise BadRequest("text: missing (send an empty text on the first request)")
        if name == "networkCode":
            return ""
        raise BadRequest(f"{name}: missing")
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise BadRequest(f"{name}: malformed")
    return value.strip()


def render(reply: Reply) -> str:
    return ("END " if reply.end else "CON ") + reply.text
