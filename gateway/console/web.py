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

import functools
from importlib import resources
from urllib.parse import urlsplit

from aiohttp import web

from gateway.console import pages
from gateway.console.actions import ACTIONS, api_action, form_action, record
from gateway.console.auth import COOKIE, Principal
from gateway.console.guard import CONSOLE, PRINCIPAL, Console, Refused, guard, principal_of
from gateway.console.views import VIEWS, api_route, lookup, page_route
from gateway.logs import get_logger

__all__ = ["Console", "init_console"]

log = get_logger("gateway.console")

#: Largest request body: a form or a JSON object of a few fields.
MAX_BODY = 16 * 1024
#: The files under ``static/`` the pages use (no script: the pages need none).
STATIC = {"console.css": "text/css"}


def init_console(console: Console) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[guard])
    app[CONSOLE] = console
    add = app.router.add_route
    add("GET", "/", _root, name="root")
    add("GET", "/admin/login", _login_page, name="login_page")
    add("POST", "/admin/login", _login, name="login")
    add("POST", "/admin/logout", _logout, name="logout")
    add("GET", "/admin/static/{name}", _static, name="static")
    add("GET", "/admin/api/openapi.json", _openapi, name="openapi")
    add("GET", "/admin/api/session", _session, name="session")
    add("GET", "/admin/subscribers", lookup, name="lookup")
    for name, path, loader, render in VIEWS:
        add("GET", f"/admin/api{path}", api_route(loader), name=f"api_{name}")
        add("GET", f"/admin{path}", page_route(loader, render), name=f"page_{name}")
    for name, path, action in ACTIONS:
        add("POST", f"/admin/api{path}", api_action(name, action), name=f"api_{name}")
        add("POST", f"/admin{path}", form_action(name, action), name=f"form_{name}")
    return app


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
    if PRINCIPAL.get() is not None:
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
    await record(console, Principal(principal.role, actor, session), "sign_in", session.session_id, "done",
                  f"signed in with {session.token_id} for {console.session_seconds // 60} min")
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(COOKIE, cookie, max_age=console.session_seconds, path="/admin", httponly=True,
                        samesite="Strict", secure=console.secure_cookie)
    raise response


async def _logout(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    principal = principal_of(request)
    if principal.session is None:
        raise Refused(400, "a bearer request has no session to sign out of")
    form = await request.post()
    csrf = form.get("csrf")
    if not principal.csrf_ok(csrf if isinstance(csrf, str) else None):
        raise Refused(403, "the form's CSRF token is missing or wrong: reload the page and try again")
    console.sessions.close(request.cookies.get(COOKIE))
    await record(console, principal, "sign_out", principal.session.session_id, "done", "signed out")
    response = web.HTTPSeeOther("/admin/login")
    response.del_cookie(COOKIE, path="/admin")
    raise response


async def _session(request: web.Request) -> web.Response:
    """Who this request is: the role and actor name (what the audit trail will call it)."""
    principal = principal_of(request)
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

