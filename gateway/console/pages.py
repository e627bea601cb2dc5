"""The console's pages: the JSON-ready data of ``gateway.services.oversight`` rendered as plain HTML.

Every function takes the data the API gives for the same page (already
masked for a viewer) and returns markup; every value is escaped here, once
(``h``), so text an SMS or a complaint carries can never become markup. No
script is needed: forms post, links navigate, and a message still waiting
for its receipt reloads itself every few seconds (``<meta refresh>``). The
layout is one column that tables scroll within on a narrow screen
(``static/console.css``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from gateway.console.html import (
    FINAL,
    REFRESH_SECONDS,
    View,
    amount,
    badge,
    csrf_field,
    facts,
    failure,
    h,
    layout,
    link,
    login,
    number,
    older,
    period,
    table,
    when,
)
from gateway.services.oversight import OUTBOX_KINDS, OUTBOX_STATES

__all__ = ["View", "failure", "login"]  # the frame, for the routes, with the pages

# --- overview ---------------------------------------------------------------------------------


def overview(data: Mapping[str, Any], view: View) -> str:
    depth = data["outbox"]
    cards = [
        ("Outbox waiting", h(depth.get("queued", 0) + depth.get("sending", 0)),
         f'{h(depth.get("queued", 0))} queued, {h(depth.get("sending", 0))} sending', "/admin/outbox?status=queued"),
        ("Awaiting receipt", h(depth.get("submitted", 0)), "submitted to the SMSC", "/admin/outbox?status=submitted"),
    ]
    if data["open_disputes"] is not None:
        cards.append(("Open disputes", h(data["open_disputes"]), "bills to settle", "/admin/disputes?open=1"))
    if data["open_complaints"] is not None:
        cards.append(("Open complaints", h(data["open_complaints"]), "to answer", "/admin/complaints?open=1"))
    latest = data["latest_campaign"]
    if latest is not None:
        cards.append((f'Campaign #{latest["id"]}', f'{h(latest["delivered"])} / {h(latest["total"])}',
                      f'delivered; {h(latest["skipped"])} skipped', f'/admin/campaigns/{latest["id"]}'))
    grid = "".join(f'<a class="card stat" href="{h(href)}"><span>{h(label)}</span><strong>{value}</strong>'
                   f"<small>{note}</small></a>" for label, value, note, href in cards)
    return layout("Overview", f'{lookup_form(view)}<div class="grid">{grid}</div>'
                  f'<p class="hint">Profile {h(data["profile"])}.</p>', view, active="/admin/")


def lookup_form(view: View, value: str = "") -> str:
    return ('<form method="get" action="/admin/subscribers" class="search" role="search">'
            '<label for="msisdn">Number</label>'
            f'<input id="msisdn" name="msisdn" inputmode="tel" value="{h(value) if value else ""}" '
            f'placeholder="{h(view.number_hint) if view.number_hint else ""}" required>'
            '<button type="submit">Look up</button></form>')


# --- subscribers --------------------------------------------------------------------------------


def subscriber_lookup(view: View, value: str = "") -> str:
    return layout("Subscribers", lookup_form(view, value), view, active="/admin/subscribers")


def subscriber(data: Mapping[str, Any], view: View) -> str:
    balances = data["balances"]
    lost = data["lost"]
    summary = facts([
        ("Number", f'<span class="num">{h(data["msisdn"])}</span>'),
        ("State", badge(data["state"])),
        ("Type", h(data["type"])), ("Language", h(data["language"])),
        ("Marketing", "opted in" if data["marketing_opt_in"] else "opted out"),
        ("Lost SIM", "—" if lost is None else f'reported {when(lost["reported_at"])} ({h(lost["reference"])})'),
        ("Next deadline", when(data.get("next_deadline"))), ("Added", when(data.get("created_at"))),
        ("Last active", when(data.get("last_active_at"))),
    ])
    funds = table(("Bucket", "Amount", "Expires"), [
        ("Main", amount(balances["main"]), when(balances["main"]["expires_at"])),
        ("Promotional", amount(balances["promo"]), when(balances["promo"]["expires_at"])),
        ("Restorable", amount(data["restorable"]), when(data["restorable"]["until"])),
    ])
    prepaid_empty = data["type"] == "postpaid" and not any(
        (balances["main"]["minor"], balances["promo"]["minor"], data["restorable"]["minor"]))
    parts = [f'<div class="pair"><section><h2>Line</h2>{summary}</section>'
             + ("" if prepaid_empty else f"<section><h2>Balances</h2>{funds}</section>") + "</div>"]
    postpaid = data.get("postpaid")
    if postpaid is not None:
        notice = postpaid["notice"]
        parts.append(
            "<section><h2>Bills</h2>" + facts([
                ("Deposit", amount(postpaid["deposit"])), ("Dues", amount(postpaid["dues"])),
                ("Unbilled", amount(postpaid["unbilled"])),
                ("Notice", "—" if notice is None else
                 f'sent {when(notice["sent_at"])}, discontinued {when(notice["discontinue_on"])}'),
            ]) + table(("Period", "Issued", "Due", "Amount", "Paid", "Disputed"), [
                (period(b["period_start"], b["period_end"]), h(b["issued_on"]), h(b["due_on"]),
                 amount(b["amount"]), "yes" if b["paid"] else "no", "yes" if b["disputed"] else "no")
                for b in postpaid["bills"]], empty="No bill yet.") + "</section>")
    parts.append("<section><h2>Marketing consent</h2>" + table(("When", "Choice", "Channel"), [
        (when(c["at"]), "opted in" if c["opt_in"] else "opted out", h(c["channel"])) for c in data["consent"]],
        empty="Never changed.") + "</section>")
    parts.append("<section><h2>Lost-SIM reports</h2>" + table(("Reference", "Reported", "By", "Channel", "Resolved"), [
        (h(r["reference"]), when(r["reported_at"]), number(view, r["reporter"]), h(r["channel"]),
         when(r["resolved_at"])) for r in data["lost_reports"]], empty="None.") + "</section>")
    for key, title, columns in (("disputes", "Disputes", "dispute"), ("complaints", "Complaints", "complaint")):
        if data.get(key) is not None:
            rows = [(h(c["reference"]), badge(c["status"]),
                     when(c["raised_at"] if columns == "dispute" else c["received_at"]),
                     h(c["reason"] if columns == "dispute" else c["text"])) for c in data[key]]
            parts.append(f"<section><h2>{title}</h2>" + table(("Reference", "Status", "Received", "Text"), rows)
                         + "</section>")
    # A viewer's copy holds masked numbers: no link can be built from them.
    latest = messages_table(data["messages"], view, show_number=False)
    if view.may_act:
        latest += f'<p>{link("/admin/outbox?" + urlencode({"msisdn": data["msisdn"]}), "All messages")}</p>'
    parts.append(f"<section><h2>Latest messages</h2>{latest}</section>")
    ledger = table(("When", "Bucket", "Change", "Kind", "Reference", "Channel"), [
        (when(e["at"]), h(e["bucket"]), amount(e["delta"]), h(e["kind"]), h(e["reference"]), h(e["channel"]))
        for e in data["ledger"]], cls="ledger")
    if data.get("ledger_next") is not None and view.may_act:
        earlier = f'/admin/subscribers/{quote(data["msisdn"])}?ledger_before={data["ledger_next"]}'
        ledger += f"<p>{link(earlier, 'Older entries')}</p>"
    parts.append(f"<section><h2>Ledger</h2>{ledger}</section>")
    return layout(f'Subscriber {data["msisdn"]}', lookup_form(view) + "".join(parts), view,
                  active="/admin/subscribers")


# --- outbox -------------------------------------------------------------------------------------


def receipt(value: Mapping[str, Any] | None) -> str:
    return "—" if value is None else f'{h(value["stat"])} {when(value["at"])}'


def messages_table(messages: Sequence[Mapping[str, Any]], view: View, *, show_number: bool = True) -> str:
    headers = ("#", "To", "Kind", "State", "Queued", "Receipt", "Text") if show_number else (
        "#", "Kind", "State", "Queued", "Receipt", "Text")
    rows = []
    for m in messages:
        cells = [link(f'/admin/outbox/{m["id"]}', str(m["id"]))]
        if show_number:
            cells.append(number(view, m["destination"]))
        cells += [h(m["kind"]), badge(m["status"]), when(m["created_at"]), receipt(m["receipt"]),
                  f'<span class="text">{h(_short(m["text"]))}</span>']
        rows.append(cells)
    return table(headers, rows, empty="No message.", cls="messages")


def _short(text: str, size: int = 60) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def outbox(data: Mapping[str, Any], view: View) -> str:
    chosen = data["filter"]

    def options(values: Sequence[str], current: str | None) -> str:
        return '<option value="">any</option>' + "".join(
            f'<option{" selected" if v == current else ""}>{h(v)}</option>' for v in values)

    form = ('<form method="get" action="/admin/outbox" class="filters">'
            '<label>Number <input name="msisdn" inputmode="tel" '
            f'value="{h(chosen["msisdn"]) if chosen["msisdn"] else ""}"></label>'
            f'<label>State <select name="status">{options(OUTBOX_STATES, chosen["status"])}</select></label>'
            f'<label>Kind <select name="kind">{options(OUTBOX_KINDS, chosen["kind"])}</select></label>'
            + (f'<input type="hidden" name="campaign" value="{h(chosen["campaign_id"])}">'
               if chosen["campaign_id"] is not None else "")
            + '<button type="submit">Filter</button></form>')
    more = ""
    if data["next"] is not None:
        query = {k: v for k, v in (("msisdn", chosen["msisdn"]), ("status", chosen["status"]),
                                   ("kind", chosen["kind"]), ("campaign", chosen["campaign_id"])) if v is not None}
        if view.may_act or "msisdn" not in query:
            more = f'<p>{link("/admin/outbox?" + urlencode({**query, "before": data["next"]}), "Older messages")}</p>'
    title = "Outbox" if chosen["campaign_id"] is None else f'Outbox of campaign #{chosen["campaign_id"]}'
    return layout(title, form + messages_table(data["messages"], view) + more, view, active="/admin/outbox")


def message(data: Mapping[str, Any], view: View) -> str:
    if data["status"] not in FINAL:
        view.extra_head.append(f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">')
    summary = facts([
        ("To", number(view, data["destination"])), ("From", h(data["source"])), ("Kind", h(data["kind"])),
        ("State", badge(data["status"])), ("Receipt", receipt(data["receipt"])),
        ("Queued", when(data["created_at"])), ("Submitted", when(data["submitted_at"])),
        ("Last change", when(data["updated_at"])), ("Tries", h(data["attempts"])), ("SMSC", h(data["smsc"])),
        ("Error", h(data["error"])),
        ("Campaign", "—" if data["campaign_id"] is None else
         link(f'/admin/campaigns/{data["campaign_id"]}', f'#{data["campaign_id"]}')),
    ])
    parts = table(("Part", "SMSC message id", "State", "Receipt"), [
        (h(p["part"]), f'<code>{h(p["smsc_message_id"])}</code>', badge(p["status"]), receipt(p["receipt"]))
        for p in data["parts"]], empty="Not submitted yet.")
    waiting = ("" if data["status"] in FINAL else
               f'<p class="hint">This page reloads every {REFRESH_SECONDS} s until the message is settled.</p>')
    return layout(f'SMS #{data["id"]}', f'<section>{summary}</section><section><h2>Text</h2>'
                  f'<pre class="sms">{h(data["text"])}</pre></section><section><h2>Parts and receipts</h2>'
                  f"{parts}</section>{waiting}", view, active="/admin/outbox")


# --- campaigns ------------------------------------------------------------------------------------


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def campaigns(data: Mapping[str, Any], view: View) -> str:
    rows = [(link(f'/admin/campaigns/{c["id"]}', f'#{c["id"]}'), when(c["created_at"]),
             f'<span class="text">{h(_short(c["text"], 40))}</span>', h(c["total"]), h(c["queued"]), h(c["sent"]),
             h(c["delivered"]), h(c["failed"]), h(c["skipped"]), _rate(c["delivery_rate"]))
            for c in data["campaigns"]]
    more = older(data["next"], "/admin/campaigns", "Older campaigns")
    return layout("Campaigns", table(("#", "Queued at", "Text", "Messages", "To send", "Sent", "Delivered",
                                      "Failed", "Skipped", "Delivery rate"), rows, empty="No campaign yet.")
                  + more, view, active="/admin/campaigns")


def campaign(data: Mapping[str, Any], view: View) -> str:
    summary = facts([
        ("Queued at", when(data["created_at"])), ("By", h(data["channel"])), ("Messages", h(data["total"])),
        ("To send", h(data["queued"])), ("Sent", h(data["sent"])), ("Delivered", h(data["delivered"])),
        ("Awaiting receipt", h(data["awaiting_receipt"])), ("Failed", h(data["failed"])),
        ("Skipped (opted out or not a subscriber)", h(data["skipped"])),
        ("Delivery rate", _rate(data["delivery_rate"])),
    ])
    states = table(("State", "Messages"), [(badge(k), h(v)) for k, v in data["counts"].items() if v])
    return layout(f'Campaign #{data["id"]}', f'<section>{summary}</section><section><h2>Text</h2>'
                  f'<pre class="sms">{h(data["text"])}</pre></section><section><h2>By state</h2>{states}'
                  f'<p>{link("/admin/outbox?campaign=" + str(data["id"]), "Its messages")}</p></section>',
                  view, active="/admin/campaigns")


# --- queues ---------------------------------------------------------------------------------------


def _queue(title: str, noun: str, cards: Sequence[str], view: View, *, open_only: bool) -> str:
    """A queue page: the switch between open cases and all of them, then one card a case."""
    base = f"/admin/{noun}s"
    switch = link(base, "Show all") if open_only else link(f"{base}?open=1", "Open only")
    body = f'<p class="switch">{switch}</p>' + ("".join(cards) or f'<p class="empty">No {noun}.</p>')
    return layout(f"Open {title.lower()}" if open_only else title, body, view, active=base)


def disputes(data: Mapping[str, Any], view: View, *, open_only: bool) -> str:
    if not data["offered"]:
        return layout("Disputes", '<p class="empty">This operator profile takes no bill disputes.</p>', view,
                      active="/admin/disputes")
    cards = []
    for d in data["disputes"]:
        head = (f'<h2><span class="ref">{h(d["reference"])}</span> {badge(d["status"])}'
                f'{" " + badge("late") if d["late"] else ""}</h2>')
        info = facts([
            ("Number", number(view, d["msisdn"])),
            ("Bill", f'{period(d["bill"]["period_start"], d["bill"]["period_end"])}, {amount(d["amount"])}'),
            ("Reason", h(d["reason"])), ("Raised", f'{when(d["raised_at"])} by {h(d["channel"])}'),
            ("Settle by", f'{when(d["settle_by"]["own_network"])} (own network), '
                          f'{when(d["settle_by"]["other_provider"])} (another provider)'),
        ] + ([] if d["status"] == "open" else [
            ("Outcome", f'credit {amount(d["credit"])}, final bill {amount(d["final"])}'),
            ("Note", h(d["note"])), ("Resolved", when(d["resolved_at"]))]))
        act = ""
        if d["status"] == "open" and view.may_act:
            ref = quote(d["reference"])
            act = (f'<form method="post" action="/admin/disputes/{ref}/resolve" class="act">{csrf_field(view)}'
                   '<fieldset><legend>Resolve</legend>'
                   '<label><input type="radio" name="outcome" value="upheld" required> Upheld</label>'
                   '<label><input type="radio" name="outcome" value="rejected"> Rejected</label>'
                   '<label>Credit <input name="credit" inputmode="decimal" placeholder="all of it"></label>'
                   '<label><input type="checkbox" name="other_provider" value="1"> Needed another provider</label>'
                   '<label class="wide">Note to the subscriber <input name="note" maxlength="160"></label>'
                   f'<button type="submit">Resolve {h(d["reference"])}</button></fieldset></form>')
        cards.append(f'<article class="card case">{head}{info}{act}</article>')
    return _queue("Disputes", "dispute", cards, view, open_only=open_only)


def complaints(data: Mapping[str, Any], view: View, *, open_only: bool) -> str:
    if not data["offered"]:
        return layout("Complaints", '<p class="empty">This operator profile takes no written complaints.</p>',
                      view, active="/admin/complaints")
    cards = []
    for c in data["complaints"]:
        head = f'<h2><span class="ref">{h(c["reference"])}</span> {badge(c["status"])}</h2>'
        info = facts([("Number", number(view, c["msisdn"])),
                      ("Received", f'{when(c["received_at"])} by {h(c["channel"])}'),
                      ("Complaint", f'<span class="text">{h(c["text"])}</span>')]
                     + ([] if c["status"] == "open" else [("Answer", h(c["note"])), ("Closed", when(c["closed_at"]))]))
        act = ""
        if c["status"] == "open" and view.may_act:
            act = (f'<form method="post" action="/admin/complaints/{quote(c["reference"])}/close" class="act">'
                   f'{csrf_field(view)}<fieldset><legend>Answer and close</legend>'
                   '<label class="wide">Answer (sent by SMS) <textarea name="note" rows="2" required '
                   'maxlength="300"></textarea></label>'
                   f'<button type="submit">Close {h(c["reference"])}</button></fieldset></form>')
        cards.append(f'<article class="card case">{head}{info}{act}</article>')
    return _queue("Complaints", "complaint", cards, view, open_only=open_only)


# --- vouchers and the trail -------------------------------------------------------------------------


def vouchers(data: Mapping[str, Any], view: View) -> str:
    totals = data["totals"]
    rows = [(h(b["batch"]), amount(b["amount"]), when(b["created_at"]), h(b["expires_on"]),
             h(b["counts"].get("active", 0)), h(b["counts"].get("used", 0)), h(b["counts"].get("expired", 0)),
             h(b["total"])) for b in data["batches"]]
    summary = (f'<p class="hint">As of {h(data["as_of"])}: {h(totals["active"])} active, {h(totals["used"])} used, '
               f'{h(totals["expired"])} expired. PINs are never shown: they exist only in the printer\'s file.</p>')
    return layout("Voucher batches", summary + table(
        ("Batch", "Value", "Made", "Last day", "Active", "Used", "Expired", "Total"), rows,
        empty="No voucher yet."), view, active="/admin/vouchers")


def actions(data: Mapping[str, Any], view: View) -> str:
    rows = [(when(a["at"]), h(a["role"]), f'<code>{h(a["actor"])}</code>', h(a["action"]), h(a["target"]),
             badge(a["outcome"]), h(a["detail"])) for a in data["actions"]]
    more = older(data["next"], "/admin/actions", "Older actions")
    return layout("Console actions", table(("When", "Role", "Who", "Action", "On", "Outcome", "Detail"), rows,
                                           empty="Nothing done in the console yet.") + more,
                  view, active="/admin/actions")
