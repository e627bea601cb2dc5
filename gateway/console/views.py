"""The console's views: one loader each (parse the request, one service call, JSON-ready data),
served as JSON by its API route and as HTML by its page route, so the two cannot drift."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from gateway.console import pages
from gateway.console.guard import CONSOLE, FALSE, TRUE, Refused, principal_of, shown, view_for
from gateway.domain.errors import InvalidInput
from gateway.logs import get_logger
from gateway.services import Services

log = get_logger("gateway.console")

Loader = Callable[[web.Request], Awaitable[dict[str, Any]]]
Render = Callable[[dict[str, Any], pages.View, web.Request], str]


def query_text(request: web.Request, name: str) -> str | None:
    value = request.query.get(name, "").strip()
    return value or None


def _whole(request: web.Request, name: str) -> int | None:
    value = query_text(request, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise Refused(400, f"{name}: a whole number, not {value[:20]!r}")
    return int(value)


def query_flag(request: web.Request, name: str) -> bool:
    value = (query_text(request, name) or "false").lower()
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
    principal = principal_of(request)
    log.info("console_lookup", role=principal.role.value, actor=principal.actor, msisdn=msisdn)


async def _outbox(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.outbox_messages, msisdn=query_text(request, "msisdn"),
                              status=query_text(request, "status"), kind=query_text(request, "kind"),
                              campaign_id=_whole(request, "campaign"), limit=_whole(request, "limit"),
                              before=_whole(request, "before"))


def _one(what: str, get: Callable[[Services], Callable[[int], dict[str, Any] | None]]) -> Loader:
    """A view of one thing by the id in its path (404 when there is none)."""
    async def load(request: web.Request) -> dict[str, Any]:
        console = request.app[CONSOLE]
        return _found(await console.read(get(console.reads), _path_id(request)), what)
    return load


def _paged(get: Callable[[Services], Callable[..., dict[str, Any]]]) -> Loader:
    """A list read page by page, newest first (``limit``, ``before``)."""
    async def load(request: web.Request) -> dict[str, Any]:
        console = request.app[CONSOLE]
        return await console.read(get(console.reads), limit=_whole(request, "limit"), before=_whole(request, "before"))
    return load


def _queue(get: Callable[[Services], Callable[..., dict[str, Any]]]) -> Loader:
    """A queue of cases, the open ones alone with ``open``."""
    async def load(request: web.Request) -> dict[str, Any]:
        console = request.app[CONSOLE]
        return await console.read(get(console.reads), open_only=query_flag(request, "open"))
    return load


async def _vouchers(request: web.Request) -> dict[str, Any]:
    console = request.app[CONSOLE]
    return await console.read(console.reads.voucher_stock)


def _render_queue(render: Callable[..., str]) -> Render:
    return lambda data, view, request: render(data, view, open_only=query_flag(request, "open"))


def _render(render: Callable[[dict[str, Any], pages.View], str]) -> Render:
    return lambda data, view, request: render(data, view)


#: (name, path under /admin and /admin/api, loader, page renderer).
VIEWS: tuple[tuple[str, str, Loader, Render], ...] = (
    ("overview", "/", _overview, _render(pages.overview)),
    ("subscriber", "/subscribers/{msisdn}", _subscriber, _render(pages.subscriber)),
    ("outbox", "/outbox", _outbox, _render(pages.outbox)),
    ("message", "/outbox/{id}", _one("message", lambda s: s.outbox_message), _render(pages.message)),
    ("campaigns", "/campaigns", _paged(lambda s: s.campaigns), _render(pages.campaigns)),
    ("campaign", "/campaigns/{id}", _one("campaign", lambda s: s.campaign), _render(pages.campaign)),
    ("disputes", "/disputes", _queue(lambda s: s.disputes_queue), _render_queue(pages.disputes)),
    ("complaints", "/complaints", _queue(lambda s: s.complaints_queue), _render_queue(pages.complaints)),
    ("vouchers", "/vouchers", _vouchers, _render(pages.vouchers)),
    ("actions", "/actions", _paged(lambda s: s.console_actions), _render(pages.actions)),
)


def api_route(loader: Loader) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        return web.json_response(shown(request, await loader(request)))
    return view


def page_route(loader: Loader, render: Render) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        data = shown(request, await loader(request))
        html = render(data, view_for(request, principal_of(request)), request)
        return web.Response(text=html, content_type="text/html")
    return view


async def lookup(request: web.Request) -> web.Response:
    """The lookup form; a number typed in goes to that line's page (written as the operator wrote it)."""
    typed = query_text(request, "msisdn")
    view = view_for(request, principal_of(request))
    if typed is None:
        return web.Response(text=pages.subscriber_lookup(view), content_type="text/html")
    console = request.app[CONSOLE]
    try:
        msisdn = console.reads.profile.number_plan.normalise(typed)
    except InvalidInput as exc:
        view.errors = [str(exc)]
        return web.Response(text=pages.subscriber_lookup(view, typed), status=400, content_type="text/html")
    raise web.HTTPSeeOther(f"/admin/subscribers/{quote(msisdn)}")

