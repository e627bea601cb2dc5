"""The aiohttp application: ``POST /ussd``, ``POST /ussd/<dialect>``, ``POST /ussd/events``,
``GET /healthz``, ``GET /readyz``, ``GET /metrics``.

Views stay thin: check access → parse → the dialogues → render. ``POST /ussd``
speaks ``[http] dialect``; each dialect in ``[http] dialects`` is also served
on ``POST /ussd/<dialect>``, behind the same access checks, body limits and
timeouts. The objects they use are built by ``gateway.app`` and passed to
``init_app``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar
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
from gateway.ussd.dialects import JSON_DIALECTS, Closed, Codec
from gateway.ussd.dialogue import Dialogues
from gateway.ussd.metrics import UssdMetrics
from gateway.ussd.request import BadRequest, LatestRequest
from menus.tree import Reply

#: Every dialect served (``gateway.config.HTTP_DIALECTS`` names the same, for the settings' checks).
DIALECTS = ("africastalking", *JSON_DIALECTS)

#: What ``/readyz`` asks: the reasons the gateway cannot do all its work now
#: (empty: ready). Built by ``gateway.app``, which knows the database and the SMS side.
Readiness = Callable[[], Awaitable[list[str]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")
B = TypeVar("B")
R = TypeVar("R")

#: What the dialogues answer a close with: the dialect's own end of session, no text.
CLOSED = Reply("", end=True)


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
        ConfigError: an unknown ``http.dialect`` or name in ``http.dialects``.
    """
    for key, names in (("http.dialect", (settings.dialect,)), ("http.dialects", settings.dialects)):
        for name in names:
            if name not in DIALECTS:
                raise ConfigError(f"{key}: unknown dialect {name!r} (one of {', '.join(DIALECTS)})")
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
    app.router.add_post("/ussd", _view(settings.dialect, metrics))
    app.router.add_post("/ussd/events", partial(events, counted=_Uncounted(metrics, "events")))
    for name in dict.fromkeys(settings.dialects):
        app.router.add_post(f"/ussd/{name}", _view(name, metrics))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app


def _view(name: str, metrics: UssdMetrics) -> Handler:
    """The view of dialect ``name``, with its outcome counters bound once (``labels()`` locks and checks)."""
    counted = _Counted(metrics, name)
    if name == "africastalking":
        return partial(ussd, counted=counted)
    return partial(dialect_view, codec=JSON_DIALECTS[name], counted=counted)


class _Counted:
    """``ussd_dialect_requests`` of one dialect, a child per outcome; rejections count in ``ussd_requests`` too."""

    def __init__(self, metrics: UssdMetrics, dialect: str) -> None:
        self.metrics = metrics
        self.dialect = dialect
        self.ok = metrics.dialect_requests.labels(dialect, "ok")
        self.closed = metrics.dialect_requests.labels(dialect, "closed")

    def refused(self, outcome: str) -> None:
        self.metrics.requests.labels("-", outcome).inc()
        self.metrics.dialect_requests.labels(self.dialect, outcome).inc()

    def bad_request(self, reason: str) -> web.HTTPBadRequest:
        """Counted; the 400 to raise, its body the reason."""
        self.refused("bad_request")
        return web.HTTPBadRequest(text=f"{reason}\n")


class _Uncounted(_Counted):
    """End-of-session reports are not USSD steps: their refusals count nowhere."""

    def refused(self, outcome: str) -> None:
        pass


async def _body(request: web.Request, counted: _Counted, read: Callable[[web.Request], Awaitable[T]]) -> T:
    """The checks every USSD route makes before its body (who calls, how big, how slow), then the body."""
    endpoint = request.app[ENDPOINT]
    if not endpoint.access.allows(request.remote, request.headers.get("Authorization")):
        counted.refused("forbidden")
        raise web.HTTPForbidden(text="forbidden\n")
    length = request.content_length
    if length is not None and length > endpoint.max_body_bytes:
        counted.refused("too_large")
        raise web.HTTPRequestEntityTooLarge(max_size=endpoint.max_body_bytes, actual_size=length)
    try:
        if request.content.is_eof():  # the body came with the headers (the usual case)
            return await read(request)
        async with asyncio.timeout(endpoint.body_timeout):
            return await read(request)
    except TimeoutError:
        # A body shorter than its Content-Length would hold the connection for ever.
        counted.refused("timeout")
        raise web.HTTPRequestTimeout(text="body: not received in time\n") from None


async def _form_of(request: web.Request, counted: _Counted) -> dict[str, str]:
    """The request's form; bytes not in the declared charset (or an unknown charset, or multipart
    without a boundary) are the caller's mistake, not a 500."""
    try:
        return await _body(request, counted, _form)
    except (UnicodeDecodeError, LookupError, ValueError):
        raise counted.bad_request("body: not a UTF-8 form") from None


async def _parsed(counted: _Counted, parse: Callable[[B], R], body: Awaitable[B]) -> R:
    """``parse`` of the request's body; a malformed one is a 400 with the reason."""
    try:
        return parse(await body)
    except BadRequest as exc:
        raise counted.bad_request(str(exc)) from None


def _number(request: web.Request, counted: _Counted, phone: str, field: str) -> str:
    """The caller's number in E.164 digits (400 naming ``field`` when it is not one of this operator's)."""
    try:
        return request.app[ENDPOINT].number_plan.normalise(phone)
    except InvalidMsisdn:
        raise counted.bad_request(f"{field}: not a phone number of this operator") from None


async def ussd(request: web.Request, counted: _Counted) -> web.Response:
    """The Africa's Talking convention: a form in, ``CON …`` / ``END …`` out."""
    endpoint = request.app[ENDPOINT]
    parsed = await _parsed(counted, africastalking.parse, _form_of(request, counted))
    msisdn = _number(request, counted, parsed.phone_number, "phoneNumber")
    reply = await endpoint.dialogues.handle(parsed, msisdn)
    counted.ok.inc()
    return web.Response(text=africastalking.render(reply), content_type="text/plain")


async def dialect_view(request: web.Request, codec: Codec, counted: _Counted) -> web.Response:
    """A JSON dialect: its request → the dialogues (a step, or a close) → its JSON reply."""
    endpoint = request.app[ENDPOINT]
    parsed = await _parsed(counted, codec.parse, _body(request, counted, _json_object))
    event = parsed.event
    msisdn = _number(request, counted, event.phone_number, codec.PHONE)
    if isinstance(event, LatestRequest):
        reply = await endpoint.dialogues.handle_latest(event, msisdn)
        counted.ok.inc()
    elif isinstance(event, Closed):
        await endpoint.dialogues.close(event.session_id, msisdn, event.reason)
        reply = CLOSED
        counted.closed.inc()
    else:
        reply = await endpoint.dialogues.handle(event, msisdn)
        counted.ok.inc()
    return web.json_response(codec.render(reply, parsed), dumps=_dumps)


async def events(request: web.Request, counted: _Counted) -> web.Response:
    """An aggregator's end-of-session report: stored once (a resend is answered ``200`` too)."""
    endpoint = request.app[ENDPOINT]
    journal = endpoint.dialogues.journal
    report = await _parsed(counted, partial(end_of_session.parse, now=journal.clock.now()), _form_of(request, counted))
    msisdn = _number(request, counted, report.msisdn, "phoneNumber")
    try:
        await journal.report(replace(report, msisdn=msisdn), budget=endpoint.dialogues.budget)
    except DATABASE_ERRORS:  # (StoreBusy among them): not stored; the aggregator may send it again
        raise web.HTTPServiceUnavailable(text="database busy or unavailable: not stored, send it again\n") from None
    return web.Response(text="ok\n", content_type="text/plain")


_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


async def _json_object(request: web.Request) -> dict[str, object]:
    """The body as a JSON object, whatever the declared type (aggregators are not careful with it).

    Raises:
        BadRequest: not JSON, or not an object.
    """
    data = await request.read()
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        raise BadRequest("body: not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("body: expected a JSON object")
    return body


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
