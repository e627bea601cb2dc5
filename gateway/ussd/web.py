"""The aiohttp application: ``POST /ussd``, ``POST /ussd/events``, ``GET /healthz``, ``GET /readyz``, ``GET /metrics``.

Views stay thin: check access → parse → ``Dialogues.handle`` → render. The
objects they use are built by ``gateway.app`` and passed to ``init_app``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from gateway.config import ConfigError, HttpSettings
from gateway.domain.errors import InvalidMsisdn
from gateway.domain.msisdn import NumberPlan
from gateway.services.errors import DATABASE_ERRORS
from gateway.ussd import africastalking
from gateway.ussd import events as end_of_session
from gateway.ussd.access import Access
from gateway.ussd.dialogue import Dialogues
from gateway.ussd.metrics import UssdMetrics
from gateway.ussd.request import BadRequest

DIALECTS = {"africastalking": africastalking}

#: What ``/readyz`` asks: the reasons the gateway cannot do all its work now
#: (empty: ready). Built by ``gateway.app``, which knows the database and the SMS side.
Readiness = Callable[[], Awaitable[list[str]]]


@dataclass(frozen=True)
class UssdEndpoint:
    dialogues: Dialogues
    access: Access
    metrics_access: Access
    number_plan: NumberPlan
    metrics: UssdMetrics
    max_body_bytes: int
    body_timeout: float
    readiness: Readiness


ENDPOINT = web.AppKey("ussd_endpoint", UssdEndpoint)
#: Other parts of the gateway (the SMPP bind state) add their collectors here.
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


def init_app(*, settings: HttpSettings, dialogues: Dialogues, number_plan: NumberPlan,
             readiness: Readiness) -> web.Application:
    """The HTTP application of the USSD channel.

    Raises:
        ConfigError: an unknown ``http.dialect``.
    """
    if settings.dialect not in DIALECTS:
        raise ConfigError(f"http.dialect: unknown dialect {settings.dialect!r} "
                          f"(one of {', '.join(DIALECTS)})")
    app = web.Application(client_max_size=settings.max_body_bytes)
    metrics = dialogues.metrics
    app[METRICS_REGISTRY] = metrics.registry
    app[ENDPOINT] = UssdEndpoint(
        dialogues=dialogues,
        access=Access.from_settings(settings.allowed_networks, settings.token),
        metrics_access=Access.from_settings(settings.metrics_networks),
        number_plan=number_plan,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
        readiness=readiness,
    )
    app.router.add_post("/ussd", ussd)
    app.router.add_post("/ussd/events", events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def ussd(request: web.Request) -> web.Response:
    endpoint = request.app[ENDPOINT]
    form = await _checked_form(request, endpoint, lambda outcome: endpoint.metrics.requests.labels("-", outcome).inc())
    try:
        parsed = africastalking.parse(form)
        msisdn = endpoint.number_plan.normalise(parsed.phone_number)
    except africastalking.BadRequest as exc:
        endpoint.metrics.requests.labels("-", "bad_request").inc()
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    except InvalidMsisdn:
        endpoint.metrics.requests.labels("-", "bad_request").inc()
        raise web.HTTPBadRequest(text="phoneNumber: not a phone number of this operator\n") from None
    reply = await endpoint.dialogues.handle(parsed, msisdn)
    return web.Response(text=africastalking.render(reply), content_type="text/plain")


async def events(request: web.Request) -> web.Response:
    """An aggregator's end-of-session report: stored once (a resend is answered ``200`` too)."""
    endpoint = request.app[ENDPOINT]
    form = await _checked_form(request, endpoint, lambda outcome: None)
    try:
        report = end_of_session.parse(form)
        msisdn = endpoint.number_plan.normalise(report.phone_number)
    except BadRequest as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    except InvalidMsisdn:
        raise web.HTTPBadRequest(text="phoneNumber: not a phone number of this operator\n") from None
    try:
        await endpoint.dialogues.journal.report(report, msisdn, budget=endpoint.dialogues.budget)
    except DATABASE_ERRORS:  # (StoreBusy among them): not stored; the aggregator may send it again
        raise web.HTTPServiceUnavailable(text="database busy or unavailable: not stored, send it again\n") from None
    return web.Response(text="ok\n", content_type="text/plain")


async def _checked_form(request: web.Request, endpoint: UssdEndpoint, count: Callable[[str], None]) -> dict[str, str]:
    """The form of an aggregator's request that passed the access checks and the size and time limits.

    Raises:
        HTTPForbidden, HTTPRequestEntityTooLarge, HTTPRequestTimeout, HTTPBadRequest: counted by ``count``.
    """
    if not endpoint.access.allows(request.remote, request.headers.get("Authorization")):
        count("forbidden")
        raise web.HTTPForbidden(text="forbidden\n")
    length = request.content_length
    if length is not None and length > endpoint.max_body_bytes:
        count("too_large")
        raise web.HTTPRequestEntityTooLarge(max_size=endpoint.max_body_bytes, actual_size=length)
    try:
        if request.content.is_eof():  # the body came with the headers (the usual case)
            return await _form(request)
        async with asyncio.timeout(endpoint.body_timeout):
            return await _form(request)
    except TimeoutError:
        # A body shorter than its Content-Length would hold the connection for ever.
        count("timeout")
        raise web.HTTPRequestTimeout(text="body: not received in time\n") from None
    except (UnicodeDecodeError, LookupError, ValueError):
        # Bytes that are not in the declared charset (or an unknown charset, or
        # multipart without a boundary) are the caller's mistake, not a 500.
        count("bad_request")
        raise web.HTTPBadRequest(text="body: not a UTF-8 form\n") from None


async def _form(request: web.Request) -> dict[str, str]:
    """The form's text fields (the last of repeated ones), decoded exactly as ``request.post()`` does.

    An urlencoded body (what aggregators send) is parsed here from the raw
    bytes: ``request.post()`` builds a ``MultiDict`` through several layers,
    a few µs per request. The size limit still applies (``request.read()``
    enforces ``client_max_size``); anything else (multipart) goes through
    ``request.post()``.

    Raises:
        UnicodeDecodeError, LookupError, ValueError: not a form in its declared charset.
    """
    raw_type = request.headers.get("Content-Type")
    if raw_type == _FORM_TYPE:  # what aggregators send: no header to parse
        charset = "utf-8"
    elif request.content_type in (_FORM_TYPE, ""):
        charset = request.charset or "utf-8"
    else:
        charset = ""
    if charset and request.method == "POST":
        data = await request.read()
        if not data:
            return {}
        return parse_form(data.rstrip().decode(charset), charset)
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def parse_form(query: str, charset: str = "utf-8") -> dict[str, str]:
    """``dict(parse_qsl(query, keep_blank_values=True, ...))``, in a third of the time.

    '+' is a space in every charset, and only the parts with a '%' need
    decoding (``text=1%2A2``); the last of repeated names wins.
    """
    pairs = [pair.partition("=") for pair in query.replace("+", " ").split("&") if pair]
    if "%" not in query:
        return {name: value for name, _, value in pairs}
    decode = _unquote if charset.lower() in _ASCII_SUPERSETS else _unquote_any
    return {(decode(name, charset) if "%" in name else name):
            (decode(value, charset) if "%" in value else value) for name, _, value in pairs}


_FORM_TYPE = "application/x-www-form-urlencoded"
#: Charsets in which an escaped ASCII byte (``%2A``) is that ASCII character.
_ASCII_SUPERSETS = frozenset({"utf-8", "utf8", "latin-1", "iso-8859-1", "ascii", "us-ascii"})
#: ``%XX`` of every ASCII byte, both hex cases: ``2A`` → ``*``.
_ASCII_ESCAPES = {f"{b:02{case}}": chr(b) for b in range(128) for case in ("x", "X")}


def _unquote_any(text: str, charset: str) -> str:
    return unquote(text, charset, "replace")


def _unquote(text: str, charset: str) -> str:
    """``unquote(text, charset, "replace")`` when every escape is an ASCII byte
    (``%2A``, ``%23``, ``%2B``: what aggregators escape), else that call itself."""
    head, *parts = text.split("%")
    out = [head]
    for part in parts:
        char = _ASCII_ESCAPES.get(part[:2])
        if char is None:  # a byte above 0x7F, or not an escape at all
            return unquote(text, charset, "replace")
        out.append(char)
        out.append(part[2:])
    return "".join(out)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers (whatever the database or the SMSC do)."""
    return web.Response(text="ok\n", content_type="text/plain")


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when every check passes, else 503 with the reasons."""
    reasons = await request.app[ENDPOINT].readiness()
    return web.json_response({"ready": not reasons, "reasons": reasons}, status=503 if reasons else 200)


async def metrics_view(request: web.Request) -> web.Response:
    endpoint = request.app[ENDPOINT]
    if not endpoint.metrics_access.allows(request.remote, None):
        raise web.HTTPForbidden(text="forbidden\n")
    return web.Response(body=generate_latest(request.app[METRICS_REGISTRY]),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})
