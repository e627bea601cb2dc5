"""The console's markup: escaping (``h``, once, for every value), the small pieces every page is
made of (tables, facts, badges, numbers as a viewer may see them) and the frame around a page
(navigation, sign-in, a refusal)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

#: The sections in the navigation bar: (path, label).
NAV = (("/admin/", "Overview"), ("/admin/subscribers", "Subscribers"), ("/admin/outbox", "Outbox"),
       ("/admin/campaigns", "Campaigns"), ("/admin/disputes", "Disputes"), ("/admin/complaints", "Complaints"),
       ("/admin/vouchers", "Vouchers"), ("/admin/actions", "Actions"))
#: Seconds between reloads of a message still waiting to be sent or for its receipt.
REFRESH_SECONDS = 3
#: Message states after which nothing more will happen to it.
FINAL = frozenset({"delivered", "undeliverable", "expired", "failed", "skipped"})


@dataclass
class View:
    """Who the page is for and what it may offer: the role, the CSRF token of its forms, messages."""

    role: str
    may_act: bool
    #: The session's CSRF token (None: a bearer request, which has no forms to protect).
    csrf: str | None = None
    signed_in: bool = False
    flash: Sequence[str] = ()
    errors: Sequence[str] = ()
    extra_head: list[str] = field(default_factory=list)
    #: How this operator's numbers are written, for the lookup field's placeholder.
    number_hint: str = ""


def h(value: Any) -> str:
    """``value`` as escaped text ("—" for nothing)."""
    if value is None or value == "":
        return "—"
    return escape(str(value), quote=True)


def when(value: str | None) -> str:
    """An ISO-8601 time as ``2026-03-01 15:00:00 +07:00`` in a ``<time>`` element."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value)
    offset = moment.strftime("%z")
    clock = f"{moment:%H:%M:%S} {offset[:3]}:{offset[3:]}" if offset else f"{moment:%H:%M:%S}"
    # The day and the clock each stay on one line; a narrow screen may break between them.
    return (f'<time datetime="{h(value)}"><span class="day">{moment:%Y-%m-%d}</span> '
            f'<span class="day">{h(clock)}</span></time>')


def period(start: str, end: str) -> str:
    """A bill's period, each day kept on one line."""
    return f'<span class="day">{h(start)}</span> – <span class="day">{h(end)}</span>'


def amount(value: Mapping[str, Any] | None) -> str:
    return "—" if value is None else f'<span class="day">{h(value["display"])}</span>'


def badge(state: Any) -> str:
    return f'<span class="badge s-{h(state)}">{h(state)}</span>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, empty: str = "None.",
          cls: str = "") -> str:
    """A table of ready markup cells, inside a box that scrolls sideways on a narrow screen."""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="empty">{h(empty)}</p>'
    head = "".join(f"<th>{h(title)}</th>" for title in headers)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def facts(pairs: Iterable[tuple[str, str]]) -> str:
    """A definition list of (label, ready markup)."""
    return '<dl class="facts">' + "".join(f"<dt>{h(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def link(href: str, text: str) -> str:
    return f'<a href="{h(href)}">{h(text)}</a>'


def older(before: object, path: str, label: str) -> str:
    """The link to the next, older page of a list (``before``: where it starts; None: no more)."""
    return "" if before is None else f'<p>{link(f"{path}?before={before}", label)}</p>'


def number(view: View, msisdn: str | None) -> str:
    """A phone number: a link to the line's record for the operator; as given (masked) for a viewer."""
    if msisdn is None:
        return "—"
    if not view.may_act:
        return f'<span class="num">{h(msisdn)}</span>'
    return f'<a class="num" href="/admin/subscribers/{quote(msisdn)}">{h(msisdn)}</a>'


def csrf_field(view: View) -> str:
    return "" if view.csrf is None else f'<input type="hidden" name="csrf" value="{h(view.csrf)}">'


# --- the frame ------------------------------------------------------------------------------


def layout(title: str, body: str, view: View, *, active: str = "") -> str:
    nav = "".join(f'<a href="{path}"{" class=active" if path == active else ""}>{h(label)}</a>'
                  for path, label in NAV)
    who = f'<span class="role r-{h(view.role)}">{h(view.role)}</span>'
    if view.signed_in:
        who += (f'<form method="post" action="/admin/logout" class="inline">{csrf_field(view)}'
                '<button type="submit" class="link">Sign out</button></form>')
    notes = "".join(f'<p class="flash" role="status">{h(m)}</p>' for m in view.flash)
    notes += "".join(f'<p class="error" role="alert">{h(m)}</p>' for m in view.errors)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{h(title)} · Selfcare console</title>"
        '<link rel="stylesheet" href="/admin/static/console.css">' + "".join(view.extra_head) + "</head>"
        f'<body><header><a class="brand" href="/admin/">Selfcare console</a><div class="who">{who}</div>'
        f"<nav>{nav}</nav></header><main><h1>{h(title)}</h1>{notes}{body}</main></body></html>"
    )


def login(*, next_path: str, error: str | None = None) -> str:
    message = f'<p class="error" role="alert">{h(error)}</p>' if error else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Sign in · Selfcare console</title>"
        '<link rel="stylesheet" href="/admin/static/console.css"></head>'
        '<body class="login"><main><h1>Selfcare console</h1>'
        f'{message}<form method="post" action="/admin/login" class="card">'
        '<label for="token">Access token</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>'
        f'<input type="hidden" name="next" value="{h(next_path)}">'
        '<button type="submit">Sign in</button></form>'
        '<p class="hint">The operator token may act; the viewer token reads, with numbers masked.</p>'
        "</main></body></html>"
    )


def failure(status: int, reason: str, view: View | None, *, back: str | None = None) -> str:
    body = f'<p class="error" role="alert">{h(reason)}</p>'
    if back:
        body += f"<p>{link(back, 'Back')}</p>"
    if view is None:
        return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{status}</title><link rel="stylesheet" href="/admin/static/console.css"></head>'
                f'<body class="login"><main><h1>{status}</h1>{body}'
                f'<p>{link("/admin/login", "Sign in")}</p></main></body></html>')
    return layout(f"{status}", body, view)


