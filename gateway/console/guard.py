"""Who is asking the console, and what they are told when refused.

``guard`` signs every request in (a bearer token, else the session cookie)
except the public routes, and turns every refusal or database failure into
a JSON error (the API) or an HTML page, with the security headers on every
answer. The principal of the request at hand is ``principal_of(request)``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

from aiohttp import web

from gateway.console import pages
from gateway.console.auth import COOKIE, Credentials, Principal, Sessions
from gateway.console.masking import for_viewer
from gateway.domain.errors import (
    CaseClosed,
    DisputeSettled,
    GatewayError,
    UnknownReference,
    UnknownSubscriber,
)
from gateway.logs import get_logger
from gateway.services import Services
from gateway.services.batcher import Batcher
from gateway.services.care import NotOffered
from gateway.services.errors import DATABASE_ERRORS, StoreBusy

log = get_logger("gateway.console")

P = ParamSpec("P")
T = TypeVar("T")

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
#: Who the request being handled is (set by ``guard`` for the time of one request).
PRINCIPAL: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("console_principal", default=None)



# --- who is asking ---------------------------------------------------------------------------


def is_api(request: web.Request) -> bool:
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
                    route=route_name(request))
        raise Refused(401, "token not accepted")
    return principal


def route_name(request: web.Request) -> str:
    return request.match_info.route.name or "-"


@web.middleware
async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                 ) -> web.StreamResponse:
    """Sign-in, then the handler; every refusal and failure as a JSON error or an HTML page; the headers."""
    # Each request starts with nobody and leaves nobody behind, whichever task aiohttp runs it in.
    reset = PRINCIPAL.set(None)
    try:
        return await _guarded(request, handler)
    finally:
        PRINCIPAL.reset(reset)


async def _guarded(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                   ) -> web.StreamResponse:
    console = request.app[CONSOLE]
    try:
        try:
            principal = _identify(request, console)
            PRINCIPAL.set(principal)
            if principal is None and route_name(request) not in PUBLIC:
                if is_api(request) or request.method != "GET":
                    raise Refused(401, "sign in: send 'Authorization: Bearer <token>'")
                raise web.HTTPSeeOther(f"/admin/login?next={quote(request.path_qs, safe='')}")
            response = await handler(request)
        except GatewayError as exc:
            raise refusal(exc) from None
        except StoreBusy:
            raise Refused(503, "the database is busy; try again") from None
        except DATABASE_ERRORS as exc:
            log.error("console_database_error", error=str(exc))
            raise Refused(503, "the database is unavailable") from None
    except Refused as exc:
        response = refused(request, exc)
    except web.HTTPNotFound:
        response = refused(request, Refused(404, "no such page"))
    except web.HTTPException as exc:  # a redirect (or 405): aiohttp answers it once raised
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


def refusal(exc: GatewayError) -> Refused:
    """A service's refusal as the status the caller gets (its message as the reason)."""
    if isinstance(exc, (UnknownSubscriber, UnknownReference, NotOffered)):
        return Refused(404, str(exc))
    if isinstance(exc, (CaseClosed, DisputeSettled)):
        return Refused(409, str(exc))
    return Refused(400, str(exc))


def refused(request: web.Request, exc: Refused) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="console"'} if exc.status == 401 else {}
    if is_api(request):
        return web.json_response({"error": exc.reason}, status=exc.status, headers=headers)
    principal = PRINCIPAL.get()
    view = None if principal is None else view_for(request, principal)
    return web.Response(text=pages.failure(exc.status, exc.reason, view, back=_back(request)),
                        status=exc.status, content_type="text/html", headers=headers)


def _back(request: web.Request) -> str | None:
    """Where a refused form goes back to: the page it was posted from (the queue of its case)."""
    if request.method != "POST":
        return None
    parts = request.path.split("/")
    return "/".join(parts[:3]) if len(parts) > 2 and parts[2] in ("disputes", "complaints") else "/admin/"


def view_for(request: web.Request, principal: Principal) -> pages.View:
    session = principal.session
    flash = []
    if session is not None:
        flash, session.flash = session.flash, []
    plan = request.app[CONSOLE].reads.profile.number_plan
    return pages.View(role=principal.role.value, may_act=principal.role.may_act,
                      csrf=None if session is None else session.csrf, signed_in=session is not None, flash=flash,
                      number_hint=f"national, or +{plan.country_code}…")


def principal_of(request: web.Request) -> Principal:
    principal = PRINCIPAL.get()
    assert principal is not None  # (the guard signed every non-public route in)
    return principal


def shown(request: web.Request, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as this principal may see it (numbers masked for a viewer)."""
    return data if principal_of(request).role.sees_numbers else for_viewer(data)

