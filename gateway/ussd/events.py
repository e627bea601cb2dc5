"""Africa's Talking's end-of-session report (``POST /ussd/events``): form fields in, one report out.

AT posts it once a session is over, whoever ended it: ``sessionId``,
``serviceCode``, ``phoneNumber``, ``networkCode``, ``status`` (``Success``:
it reached its end; ``Incomplete``: it ended while a screen awaited input;
``Failed``: it ended on an error from our side, with ``errorMessage``),
``input`` (every answer, ``*``-joined, as ``text`` was), ``durationInMillis``,
``hopsCount`` (requests in the session), ``lastAppResponse`` (our last reply),
``errorMessage`` and ``cost`` (e.g. ``KES 0.0000``).

``input`` holds a voucher PIN or an ID number whenever one was typed: only
how many answers it held leaves this module, and any answer it holds is
masked in the texts that are kept. ``lastAppResponse`` is kept only as
whether it was an END. Sans-I/O: ``parse`` gives the report as the store
keeps it (``SessionReport``), or raises ``BadRequest`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gateway.domain.funnel import Reported
from gateway.services.journal import SessionReport
from gateway.ussd.request import MAX_FIELD, BadRequest, split_dial

#: ``lastAppResponse`` is a whole screen (a few hundred bytes of UTF-8 at most).
MAX_RESPONSE = 4 * MAX_FIELD
#: What of ``errorMessage`` is kept.
MAX_ERROR = 200
#: Answers this long may be secrets (the shortest ID number or voucher PIN is longer).
SECRET_LENGTH = 4


def parse(form: Mapping[str, str], now: datetime) -> SessionReport:
    """The report to store, received at ``now``; its ``msisdn`` is the ``phoneNumber`` as given (the
    channel checks it against the number plan).

    Raises:
        BadRequest: naming the field.
    """
    session_id = _required(form, "sessionId")
    code, _ = split_dial(_required(form, "serviceCode"))
    phone = _required(form, "phoneNumber")
    status_text = _required(form, "status")
    status = Reported.parse(status_text)
    if status is None:
        raise BadRequest("status: expected Success, Incomplete or Failed")
    answers = _optional(form, "input")
    last = _optional(form, "lastAppResponse", MAX_RESPONSE)
    error = _scrub(_optional(form, "errorMessage", MAX_RESPONSE), answers)
    return SessionReport(
        session_id=session_id, service_code=code, msisdn=phone,
        network_code=_optional(form, "networkCode"), status=status.value,
        answers=len(answers.split("*")) if answers else 0,
        duration_ms=_count(form, "durationInMillis", "a whole number of milliseconds"),
        hops=_count(form, "hopsCount", "a whole number"),
        app_ended=None if not last else last.upper().startswith("END"),
        error_message=error[:MAX_ERROR] if error else None,
        cost=_scrub(_optional(form, "cost"), answers),
        received_at=now,
    )


def _scrub(text: str | None, answers: str | None) -> str | None:
    """``text`` with every answer of ``input`` long enough to be a secret (a PIN) masked: an
    aggregator quoting the request in its error message must not put a PIN into a table."""
    if not text or not answers:
        return text
    for answer in sorted(set(answers.split("*")), key=len, reverse=True):
        if len(answer) >= SECRET_LENGTH:
            text = text.replace(answer, "*" * len(answer))
    return text


def _required(form: Mapping[str, str], name: str) -> str:
    value = _optional(form, name)
    if value is None:
        raise BadRequest(f"{name}: missing" if form.get(name) is None else f"{name}: empty")
    return value


def _optional(form: Mapping[str, str], name: str, limit: int = MAX_FIELD) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(f"{name}: malformed")
    return value.strip() or None


def _count(form: Mapping[str, str], name: str, what: str) -> int | None:
    value = _optional(form, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 15:
        raise BadRequest(f"{name}: expected {what}")
    return int(value)
