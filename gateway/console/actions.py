"""The console's actions: the same services as the CLI, through the gateway's write path, each one
checked (a role that may act, the form's CSRF token), logged and kept in the audit trail."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.console.auth import Principal
from gateway.console.guard import CONSOLE, FALSE, TRUE, Console, Refused, principal_of, refusal
from gateway.domain.errors import (
    GatewayError,
)
from gateway.domain.money import parse_amount
from gateway.logs import get_logger
from gateway.services.errors import DATABASE_ERRORS
from gateway.services.oversight import complaint_json, resolved_json

log = get_logger("gateway.console")

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
    principal = principal_of(request)
    reference = request.match_info["reference"].strip().upper()[:40]
    try:
        if not principal.role.may_act:
            raise Refused(403, "the viewer role may not act")
        if not principal.csrf_ok(csrf):
            raise Refused(403, "the form's CSRF token is missing or wrong: reload the page and try again")
        try:
            data, summary = await action(console, reference, fields)
        except GatewayError as exc:
            raise refusal(exc) from None
    except Refused as exc:
        await record(console, principal, name, reference, "refused", exc.reason)
        raise
    await record(console, principal, name, reference, "done", summary)
    return data, summary


async def record(console: Console, principal: Principal, action: str, target: str, outcome: str,
                  detail: str) -> None:
    log.info("console_action", role=principal.role.value, actor=principal.actor, action=action, target=target,
             outcome=outcome, detail=detail)
    try:
        await console.act(console.services.record_console_action, role=principal.role.value, actor=principal.actor,
                          action=action, target=target, outcome=outcome, detail=detail)
    except DATABASE_ERRORS as exc:  # the log line above is the record then
        log.error("console_action_not_recorded", action=action, target=target, error=str(exc))


def api_action(name: str, action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
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


def form_action(name: str, action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        form = await request.post()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        _, summary = await _run_action(request, name, action, fields, fields.pop("csrf", None))
        session = principal_of(request).session
        if session is not None:
            session.flash.append(summary)
        queue = request.path.split("/")[2]
        raise web.HTTPSeeOther(f"/admin/{queue}?open=1")
    return view

