"""The console's aiohttp application: pages under ``/admin/``, the same data as JSON under ``/admin/api/``.

Each view is one loader (parse the request → one service call → JSON-ready
data) served twice: as JSON by its API route and as HTML by its page route
(``gateway.console.pages``), so the two cannot drift; a viewer gets both
masked (``masking.for_viewer``). Reads run on a thread of the console's own
(a database connection of its own on SQLite), never on the event loop the
USSD traffic shares; actions go through the gateway's write path (the
``Batcher``) to the same services the CLI calls, with the same checks.

Every request is signed in (``auth``) except the sign-in page, the stylesheet
and the OpenAPI description. Refusals: bad input 400 with the reason, an
unknown case 404, a case already settled 409, no or a bad token 401, a
viewer acting or a form without its CSRF token 403; the database busy or
down 503. Every action, done or refused, is logged (``console_action``: the
role and token or session id, never a token) and kept in the audit trail.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from importlib import resources
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote, urlsplit

from aiohttp import web

from gateway.console import pages
from gateway.console.auth import COOKIE, Credentials, Principal, Sessions
from gateway.console.masking import for_viewer
from gateway.domain.errors import (
    CaseClosed,
    DisputeSettled,
    GatewayError,
    InvalidInput,
    UnknownReference,
    UnknownSubscriber,
)
from gateway.domain.money import parse_amount
from gateway.logs import get_logger
from gateway.services import Services
from gateway.services.batcher import Batcher
from gateway.services.care import NotOffered
from gateway.services.errors import DATABASE_ERRORS, StoreBusy
from gateway.services.oversight import complaint_json, resolved_json

log = get_logger("gateway.console")

P = ParamSpec("P")
T = TypeVar("T")

#: Largest request body: a form or a JSON object of a few fields.
MAX_BODY = 16 * 1024
#: The files under ``static/`` the pages use (no script: the pages need none).
STATIC = {"console.css": "text/css"}
#: Routes anyone may open: signing in needs no sign-in, nor does the page's look or the API's description.
PUBLIC = frozenset({"root", "login_page", "login", "static", "openapi"})
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
#: Headers of every answer: nothing cached, framed or sniffed; scripts and styles from here only.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class Refused(Exception):
    """An answer other than 200: the status and the one-line reason the caller is given."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Console:
    """What the views use, built by ``gateway.app``."""

    #: The gateway's services: actions run through ``batcher`` (the one write path).
    services: Services
    batcher: Batcher
    #: Services over the console's own connection, for reads, run on ``reader`` (one thread).
    reads: Services
    reader: Executor
    credentials: Credentials
    sessions: Sessions
    #: Mark the session cookie ``Secure`` (the console listens beyond loopback, behind TLS).
    secure_cookie: bool
    session_seconds: int

    async def read(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.reader, functools.partial(fn, *args, **kwargs))

    async def act(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.batcher.call(fn, *args, **kwargs)


CONSOLE = web.AppKey("console", Console)
#: Who the request being handled is (set by ``_guard`` for the time of one request).
_PRINCIPAL: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("console_principal", default=None)

Loader = Callable[[web.Request], Awaitable[dict[str, Any]]]
Render = Callable[[dict[str, Any], pages.View, web.Request], str]


def init_console(console: Console) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_guard])
    app[CONSOLE] = console
    add = app.router.add_route
    add("GET", "/", _root, name="root")
    add("GET", "/admin/login", _login_page, name="login_page")
    add("POST", "/admin/login", _login, name="login")
    add("POST", "/admin/logout", _logout, name="logout")
    add("GET", "/admin/static/{name}", _static, name="static")
    add("GET", "/admin/api/openapi.json", _openapi, name="openapi")
    add("GET", "/admin/api/session", _session, name="session")
    add("GET", "/admin/subscribers", _lookup, name="lookup")
    for name, path, loader, render in VIEWS:
        add("GET", f"/admin/api{path}", _api(loader), name=f"api_{name}")
        add("GET", f"/admin{path}", _page(loader, render), name=f"page_{name}")
    for name, path, action in ACTIONS:
        add("POST", f"/admin/api{path}", _api_action(name, action), name=f"api_{name}")
        add("POST", f"/admin{path}", _form_action(name, action), name=f"form_{name}")
    return app


# --- who is asking ---------------------------------------------------------------------------


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/admin/api/")


def _identify(request: web.Request, console: Console) -> Principal | None:
    """The bearer token's principal, else the session cookie's (None: neither).

    Raises:
        Refused: an ``Authorization`` header that is not a token we gave (401).
    """
    header = request.headers.get("Authorization")
    if header is None:
        return console.sessions.find(request.cookies.get(COOKIE))
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, "Authorization: expected 'Bearer <token>'")
    principal = console.credentials.principal(token)
    if principal is None:
        log.warning("console_refused", reason="token not accepted", method=request.method,
                    route=_route_name(request))
        raise Refused(401, "token not accepted")
    return principal


def _route_name(request: web.Request) -> str:
    return request.match_info.route.name or "-"


@web.middleware
async def _guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                 ) -> web.StreamResponse:
    """Sign-in, then the handler; every refusal and failure as a JSON error or an HTML page; the headers."""
    # Each request starts with nobody and leaves nobody behind, whichever task aiohttp runs it in.
    reset = _PRINCIPAL.set(None)
    try:
        return await _guarded(request, handler)
    finally:
        _PRINCIPAL.reset(reset)


async def _guarded(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                   ) -> web.StreamResponse:
    console = request.app[CONSOLE]
    try:
        try:
            principal = _identify(request, console)
            _PRINCIPAL.set(principal)
            if principal is None and _route_name(request) not in PUBLIC:
                if _is_api(request) or request.method != "GET":
                    raise Refused(401, "sign in: send 'Authorization: Bearer <token>'")
                raise web.HTTPSeeOther(f"/admin/login?next={quote(request.path_qs, safe='')}")
            response = await handler(request)
        except GatewayError as exc:
            raise _refusal(exc) from None
        except StoreBusy:
            raise Refused(503, "the database is busy; try again") from None
        except DATABASE_ERRORS as exc:
            log.error("console_database_error", error=str(exc))
            raise Refused(503, "the database is unavailable") from None
    except Refused as exc:
        response = _refused(request, exc)
    except web.HTTPNotFound:
        response = _refused(request, Refused(404, "no such page"))
    except web.HTTPException as exc:  # a redirect (or 405): aiohttp answers it once raised
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


def _refusal(exc: GatewayError) -> Refused:
    """A service's refusal as the status the caller gets (its message as the reason)."""
    if isinstance(exc, (UnknownSubscriber, UnknownReference, NotOffered)):
        return Refused(404, str(exc))
    if isinstance(exc, (CaseClosed, DisputeSettled)):
        return Refused(409, str(exc))
    return Refused(400, str(exc))


def _refused(request: web.Request, exc: Refused) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="console"'} if exc.status == 401 else {}
    if _is_api(request):
        return web.json_response({"error": exc.reason}, status=exc.status, headers=headers)
    principal = _PRINCIPAL.get()
    view = None if principal is None else _view(request, principal)
    return web.Response(text=pages.failure(exc.status, exc.reason, view, back=_back(request)),
                        status=exc.status, content_type="text/html", headers=headers)


def _back(request: web.Request) -> str | None:
    """Where a refused form goes back to: the page it was posted from (the queue of its case)."""
    if request.method != "POST":
        return None
    parts = request.path.split("/")
    return "/".join(parts[:3]) if len(parts) > 2 and parts[2] in ("disputes", "complaints") else "/admin/"


def _view(request: web.Request, principal: Principal) -> pages.View:
    session = principal.session
    flash = []
    if session is not None:
        flash, session.flash = session.flash, []
    plan = request.app[CONSOLE].reads.profile.number_plan
    return pages.View(role=principal.role.value, may_act=principal.role.may_act,
                      csrf=None if session is None else session.csrf, signed_in=session is not None, flash=flash,
                      number_hint=f"national, or +{plan.country_code}…")


def _principal(request: web.Request) -> Principal:
    principal = _PRINCIPAL.get()
    assert principal is not None  # (the guard signed every non-public route in)
    return principal


def _shown(request: web.Request, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as this principal may see it (numbers masked for a viewer)."""
    return data if _principal(request).role.sees_numbers else for_viewer(data)


# --- the views: one loader each, served as JSON and as a page --------------------------------


def _text(request: web.Request, name: str) -> str | None:
    value = request.query.get(name, "").strip()
    return value or None


def _whole(request: web.Request, name: str) -> int | None:
    value = _text(request, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise Refused(400, f"{name}: a whole number, not {value[:20]!r}")
    return int(value)


def _flag(request: web.Request, name: str) -> bool:
    value = (_text(request, name) or "false").lower()
    if value not in TRUE | FALSE:
        raise Refused(400, f"{name}: true or false")
    return value in TRUE


def _path_id(request: web.Request, name: str = "id") -> int:
    value = request.match_info[name]
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise Refused(400, f"{name}: a whole number")
    return int(value)


def _found(data: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if data is None:
        raise Refused(404, f"no such {what}")
    return data


async def _overview(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.overview)


async def _subscriber(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    msisdn = request.match_info["msisdn"]
    _note_lookup(request, msisdn)
    return await console.read(console.reads.subscriber_record, msisdn, ledger_limit=_whole(request, "ledger_limit"),
                              ledger_before=_whole(request, "ledger_before"))


def _note_lookup(request: web.Request, msisdn: str) -> None:
    """Who looked at which line: one log line (the number masked by the log filter)."""
    principal = _principal(request)
    log.info("console_lookup", role=principal.role.value, actor=principal.actor, msisdn=msisdn)


async def _outbox(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.outbox_messages, msisdn=_text(request, "msisdn"),
                              status=_text(request, "status"), kind=_text(request, "kind"),
                              campaign_id=_whole(request, "campaign"), limit=_whole(request, "limit"),
                              before=_whole(request, "before"))


async def _message(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return _found(await console.read(console.reads.outbox_message, _path_id(request)), "message")


async def _campaigns(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.campaigns, limit=_whole(request, "limit"),
                              before=_whole(request, "before"))


async def _campaign(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return _found(await console.read(console.reads.campaign, _path_id(request)), "campaign")


async def _disputes(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.disputes_queue, open_only=_flag(request, "open"))


async def _complaints(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.complaints_queue, open_only=_flag(request, "open"))


async def _vouchers(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.voucher_stock)


async def _actions(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.console_actions, limit=_whole(request, "limit"),
                              before=_whole(request, "before"))


def _render_queue(render: Callable[..., str]) -> Render:
    return lambda data, view, request: render(data, view, open_only=_flag(request, "open"))


def _render(render: Callable[[dict[str, Any], pages.View], str]) -> Render:
    return lambda data, view, request: render(data, view)


#: (name, path under /admin and /admin/api, loader, page renderer).
VIEWS: tuple[tuple[str, str, Loader, Render], ...] = (
    ("overview", "/", _overview, _render(pages.overview)),
    ("subscriber", "/subscribers/{msisdn}", _subscriber, _render(pages.subscriber)),
    ("outbox", "/outbox", _outbox, _render(pages.outbox)),
    ("message", "/outbox/{id}", _message, _render(pages.message)),
    ("campaigns", "/campaigns", _campaigns, _render(pages.campaigns)),
    ("campaign", "/campaigns/{id}", _campaign, _render(pages.campaign)),
    ("disputes", "/disputes", _disputes, _render_queue(pages.disputes)),
    ("complaints", "/complaints", _complaints, _render_queue(pages.complaints)),
    ("vouchers", "/vouchers", _vouchers, _render(pages.vouchers)),
    ("actions", "/actions", _actions, _render(pages.actions)),
)


def _api(loader: Loader) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        return web.json_response(_shown(request, await loader(request)))
    return view


def _page(loader: Loader, render: Render) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        data = _shown(request, await loader(request))
        html = render(data, _view(request, _principal(request)), request)
        return web.Response(text=html, content_type="text/html")
    return view


async def _lookup(request: web.Request) -> web.Response:
    """The lookup form; a number typed in goes to that line's page (written as the operator wrote it)."""
    typed = _text(request, "msisdn")
    view = _view(request, _principal(request))
    if typed is None:
        return web.Response(text=pages.subscriber_lookup(view), content_type="text/html")
    console = request.app[CONSOLE]
    try:
        msisdn = console.reads.profile.number_plan.normalise(typed)
    except InvalidInput as exc:
        view.errors = [str(exc)]
        return web.Response(text=pages.subscriber_lookup(view, typed), status=400, content_type="text/html")
    raise web.HTTPSeeOther(f"/admin/subscribers/{quote(msisdn)}")


# --- actions: the same services as the CLI, through the write path ----------------------------


Action = Callable[[Console, str, dict[str, Any]], Awaitable[tuple[dict[str, Any], str]]]


def _field(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused(400, f"{name}: expected text")
    return value.strip() or None


def _checked(fields: dict[str, Any], name: str) -> bool:
    value = fields.get(name)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    raise Refused(400, f"{name}: true or false")


async def _resolve(console: Console, reference: str, fields: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``disputes resolve REF (--upheld [--credit AMOUNT] | --rejected) [--other-provider] [--note TEXT]``."""
    outcome = _field(fields, "outcome")
    if outcome not in ("upheld", "rejected"):
        raise Refused(400, "outcome: 'upheld' or 'rejected'")
    credit_text = _field(fields, "credit")
    if credit_text is not None and outcome != "upheld":
        raise Refused(400, "credit goes with upheld (a rejected dispute credits nothing)")
    credit = None if credit_text is None else parse_amount(credit_text, console.services.profile.currency)
    resolved = await console.act(console.services.resolve_dispute, reference, upheld=outcome == "upheld",
                                 credit=credit, other_provider=_checked(fields, "other_provider"),
                                 note=_field(fields, "note"))
    data = resolved_json(console.services.profile, resolved)
    told = "told by SMS" if resolved.told else "no longer the subscriber's number: nobody told"
    late = " (after its deadline)" if resolved.late else ""
    return data, (f"{resolved.reference} {resolved.status}{late}: credit {resolved.credit.display()}, "
                  f"final bill {resolved.final.display()}; {told}")


async def _close(console: Console, reference: str, fields: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``complaints close REF --note TEXT``."""
    note = _field(fields, "note")
    if note is None:
        raise Refused(400, "note: the answer to the subscriber must not be empty")
    row = await console.act(console.services.close_complaint, reference, note)
    return complaint_json(console.services.profile, row), f"{row.reference} closed; answered by SMS"


#: (name, path under /admin and /admin/api, action).
ACTIONS: tuple[tuple[str, str, Action], ...] = (
    ("dispute_resolve", "/disputes/{reference}/resolve", _resolve),
    ("complaint_close", "/complaints/{reference}/close", _close),
)


async def _run_action(request: web.Request, name: str, action: Action, fields: dict[str, Any],
                      csrf: str | None) -> tuple[dict[str, Any], str]:
    """Check the principal may act, run the action, log and record it, done or refused."""
    console = request.app[CONSOLE]
    principal = _principal(request)
    reference = request.match_info["reference"].strip().upper()[:40]
    try:
        if not principal.role.may_act:
            raise Refused(403, "the viewer role may not act")
        if not principal.csrf_ok(csrf):
            raise Refused(403, "the form's CSRF token is missing or wrong: reload the page and try again")
        try:
            data, summary = await action(console, reference, fields)
        except GatewayError as exc:
            raise _refusal(exc) from None
    except Refused as exc:
        await _record(console, principal, name, reference, "refused", exc.reason)
        raise
    await _record(console, principal, name, reference, "done", summary)
    return data, summary


async def _record(console: Console, principal: Principal, action: str, target: str, outcome: str,
                  detail: str) -> None:
    log.info("console_action", role=principal.role.value, actor=principal.actor, action=action, target=target,
             outcome=outcome, detail=detail)
    try:
        await console.act(console.services.record_console_action, role=principal.role.value, actor=principal.actor,
                          action=action, target=target, outcome=outcome, detail=detail)
    except DATABASE_ERRORS as exc:  # the log line above is the record then
        log.error("console_action_not_recorded", action=action, target=target, error=str(exc))


def _api_action(name: str, action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        try:
            fields = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Refused(400, "body: expected a JSON object") from None
        if not isinstance(fields, dict):
            raise Refused(400, "body: expected a JSON object")
        data, summary = await _run_action(request, name, action, fields, request.headers.get("X-CSRF-Token"))
        return web.json_response({**data, "summary": summary})
    return view


def _form_action(name: str, action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        form = await request.post()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        _, summary = await _run_action(request, name, action, fields, fields.pop("csrf", None))
        session = _principal(request).session
        if session is not None:
            session.flash.append(summary)
        queue = request.path.split("/")[2]
        raise web.HTTPSeeOther(f"/admin/{queue}?open=1")
    return view


# --- signing in and out -------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a console page of this server, nothing else."""
    if not value:
        return "/admin/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/admin") or value.startswith("//"):
        return "/admin/"
    return value


async def _root(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/admin/")


async def _login_page(request: web.Request) -> web.Response:
    if _PRINCIPAL.get() is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return web.Response(text=pages.login(next_path=_safe_next(request.query.get("next"))), content_type="text/html")


async def _login(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    form = {key: value for key, value in (await request.post()).items() if isinstance(value, str)}
    next_path = _safe_next(form.get("next"))
    token = form.get("token", "").strip()
    principal = console.credentials.principal(token) if token else None
    if principal is None:
        log.warning("console_refused", reason="sign-in with a token not accepted", route="login")
        return web.Response(text=pages.login(next_path=next_path, error="That token is not accepted."),
                            status=401, content_type="text/html")
    cookie, session = console.sessions.open(principal)
    actor = f"{principal.role.value}:{session.token_id}/{session.session_id}"
    await _record(console, Principal(principal.role, actor, session), "sign_in", session.session_id, "done",
                  f"signed in with {session.token_id} for {console.session_seconds // 60} min")
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(COOKIE, cookie, max_age=console.session_seconds, path="/admin", httponly=True,
                        samesite="Strict", secure=console.secure_cookie)
    raise response


async def _logout(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    principal = _principal(request)
    if principal.session is None:
        raise Refused(400, "a bearer request has no session to sign out of")
    form = await request.post()
    csrf = form.get("csrf")
    if not principal.csrf_ok(csrf if isinstance(csrf, str) else None):
        raise Refused(403, "the form's CSRF token is missing or wrong: reload the page and try again")
    console.sessions.close(request.cookies.get(COOKIE))
    await _record(console, principal, "sign_out", principal.session.session_id, "done", "signed out")
    response = web.HTTPSeeOther("/admin/login")
    response.del_cookie(COOKIE, path="/admin")
    raise response


async def _session(request: web.Request) -> web.Response:
    """Who this request is: the role and actor name (what the audit trail will call it)."""
    principal = _principal(request)
    return web.json_response({"role": principal.role.value, "actor": principal.actor,
                              "may_act": principal.role.may_act, "numbers_masked": not principal.role.sees_numbers})


# --- files of the package -----------------------------------------------------------------------


@functools.cache
def _package_file(name: str) -> bytes:
    return resources.files("gateway.console").joinpath(name).read_bytes()


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise Refused(404, "no such file")
    return web.Response(body=_package_file(f"static/{name}"), content_type=STATIC[name])


async def _openapi(request: web.Request) -> web.Response:
    return web.Response(body=_package_file("openapi.json"), content_type="application/json")

