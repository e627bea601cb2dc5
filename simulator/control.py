"""Control API and web page of the SMSC simulator (aiohttp).

``POST /mo`` injects a mobile-originated SMS, ``GET /mt`` lists what ESMEs
submitted (reassembled), ``DELETE /mt`` forgets it, ``GET /binds`` shows who
is bound, ``GET /stats`` which MO were acknowledged and how connections
ended (unbind or drop). For benchmarks, ``POST /load/round-trips``,
``POST /load/mt-count`` and ``POST /load/ussd`` start a load the simulator drives itself and
``GET /load`` reports it (``simulator.load``). ``GET /`` serves the phone page from ``static/``; the page's USSD
requests go through ``POST /ussd`` here, which forwards them to
``[simulator] gateway_url`` in the Africa's Talking convention, so the
browser never needs the gateway to allow cross-origin requests.

The simulator is a USSD centre over SMPP too (``simulator.ussd``):
``POST /ussd/dial {"msisdn", "code"}`` and ``POST /ussd/answer {"session",
"text"}`` answer the gateway's next screen as ``{"session", "text", "end"}``,
``POST /ussd/abort {"session"}`` hangs up. Bad input is a 400, an unknown
session a 404, one that has ended (or awaits a screen) a 409, no bound
gateway a 503, a refusal or a lost bind a 502, no screen in time a 504;
each with ``{"error": reason}``.

Phone numbers given to ``/mo`` and ``/mt`` in any spelling of the operator's
number plan (``012000444``, ``+855 12 000 444``) are taken in international
form, as a real network presents a sender, so a reply the gateway sends to
``85512000444`` is listed for the number as the page's user typed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.domain.errors import InvalidMsisdn
from gateway.domain.msisdn import NumberPlan
from gateway.smpp.text import encode_ussd
from simulator.codec import choose_data_coding, encode_text
from simulator.load import MtCount, RoundTrips, UssdSteps
from simulator.server import Simulator
from simulator.ussd import Dialogue, Screen, UssdError

STATIC = Path(__file__).parent / "static"
SIMULATOR: web.AppKey[Simulator] = web.AppKey("simulator", Simulator)
GATEWAY_URL: web.AppKey[str] = web.AppKey("gateway_url", str)
HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("http", aiohttp.ClientSession)
NUMBER_PLAN: web.AppKey[NumberPlan | None] = web.AppKey("number_plan")
MAX_TEXT = 255 * 153


def init_app(simulator: Simulator, gateway_url: str, number_plan: NumberPlan | None = None) -> web.Application:
    """``number_plan``: the operator's, to read subscriber numbers as the network does (None: as given)."""
    app = web.Application(client_max_size=64 * 1024)
    app[SIMULATOR] = simulator
    app[GATEWAY_URL] = gateway_url
    app[NUMBER_PLAN] = number_plan
    app.cleanup_ctx.append(_http_client)
    app.router.add_post("/mo", post_mo)
    app.router.add_get("/mt", get_mt)
    app.router.add_delete("/mt", delete_mt)
    app.router.add_get("/binds", get_binds)
    app.router.add_get("/stats", get_stats)
    app.router.add_post("/load/round-trips", post_round_trips)
    app.router.add_post("/load/mt-count", post_mt_count)
    app.router.add_post("/load/ussd", post_ussd_steps)
    app.router.add_get("/load", get_load)
    app.router.add_post("/ussd", proxy_ussd)
    app.router.add_post("/ussd/dial", post_ussd_dial)
    app.router.add_post("/ussd/answer", post_ussd_answer)
    app.router.add_post("/ussd/abort", post_ussd_abort)
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    return app


async def _http_client(app: web.Application) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        app[HTTP] = session
        yield


def _subscriber(request: web.Request, number: str) -> str:
    """``number`` in international digits if the number plan reads it, else without its ``+``.

    Anything else (a short code, a foreign or test number) is passed on as given.
    """
    plan = request.app[NUMBER_PLAN]
    if plan is not None:
        try:
            return plan.normalise(number)
        except InvalidMsisdn:
            pass
    return number.lstrip("+")


def _bad(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=400)


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad("body is not valid JSON")
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    return body


async def post_mo(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    for key in ("from", "to", "text"):
        if not isinstance(body.get(key), str):
            return _bad(f"'{key}' is required and must be a string")
    source, destination, text = _subscriber(request, body["from"]), body["to"], body["text"]
    if not source or not destination or len(source) > 20 or len(destination) > 20:
        return _bad("'from' and 'to' must be 1 to 20 characters")
    if len(text) > MAX_TEXT:
        return _bad(f"'text' longer than {MAX_TEXT} characters")
    coding = body.get("data_coding")
    if coding is None:
        coding = choose_data_coding(text)
    elif not isinstance(coding, int) or isinstance(coding, bool):
        return _bad("'data_coding' must be 0, 3 or 8")
    try:
        encode_text(text, coding)
    except ValueError as exc:  # includes UnicodeEncodeError
        if isinstance(exc, UnicodeError):
            return _bad(f"'text' cannot be encoded with data_coding {coding}")
        return _bad(str(exc))
    mo = request.app[SIMULATOR].inject_mo(source, destination, text, coding)
    return web.json_response({"id": mo.id}, status=202)


async def get_mt(request: web.Request) -> web.Response:
    query = request.query
    since = 0
    if "since" in query:
        try:
            since = int(query["since"])
        except ValueError:
            return _bad("'since' must be an integer id")
    to = query.get("to") or None
    records = request.app[SIMULATOR].mt.query(to=_subscriber(request, to) if to else None, since=since)
    return web.json_response([r.as_json() for r in records])


async def delete_mt(request: web.Request) -> web.Response:
    request.app[SIMULATOR].mt.clear()
    return web.Response(status=204)


async def get_binds(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIMULATOR].binds())


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIMULATOR].stats())


def _ints(body: dict[str, Any], *keys: str) -> dict[str, int] | web.Response:
    out = {}
    for key in keys:
        value = body.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            return _bad(f"'{key}' is required and must be a positive integer")
        out[key] = value
    return out


async def _load_spec(request: web.Request, *keys: str) -> tuple[dict[str, Any], dict[str, int]] | web.Response:
    """A load's JSON body and its positive integers ``keys``, or the 400 saying what is wrong."""
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    ints = _ints(body, *keys)
    if isinstance(ints, web.Response):
        return ints
    return body, ints


async def post_round_trips(request: web.Request) -> web.Response:
    """``{"first": 85510000000, "numbers": N, "to", "text", "count", "window"}``: MO from
    ``numbers`` consecutive senders, ``window`` awaiting a reply, until ``count`` are answered."""
    spec = await _load_spec(request, "first", "numbers", "count", "window")
    if isinstance(spec, web.Response):
        return spec
    body, ints = spec
    to, text = body.get("to", "888"), body.get("text", "BAL")
    if not isinstance(to, str) or not isinstance(text, str) or not text or len(text) > 160:
        return _bad("'to' and 'text' must be strings ('text' 1 to 160 characters)")
    sim = request.app[SIMULATOR]
    load = RoundTrips(sim, first=ints["first"], numbers=ints["numbers"], destination=to, text=text,
                      count=ints["count"], window=ints["window"])
    sim.load = load
    load.start()
    return web.json_response(load.report(), status=202)


async def post_mt_count(request: web.Request) -> web.Response:
    """``{"count": N}``: time the next N accepted submit_sm."""
    spec = await _load_spec(request, "count")
    if isinstance(spec, web.Response):
        return spec
    load = MtCount(spec[1]["count"])
    request.app[SIMULATOR].load = load
    return web.json_response(load.report(), status=202)


async def post_ussd_steps(request: web.Request) -> web.Response:
    """``{"first": 85510000000, "numbers": N, "scripts": [["*124#"], ["*100#", "1"]], "count", "window"}``:
    USSD dialogues over SMPP from ``numbers`` consecutive phones, ``window`` open at once, each playing
    the next script, until ``count`` steps are answered."""
    spec = await _load_spec(request, "first", "numbers", "count", "window")
    if isinstance(spec, web.Response):
        return spec
    body, ints = spec
    scripts = body.get("scripts", [["*124#"]])
    if (not isinstance(scripts, list) or not scripts
            or not all(isinstance(s, list) and s and all(isinstance(t, str) for t in s) for s in scripts)
            or not all(_DIAL.fullmatch(s[0]) for s in scripts)):
        return _bad("'scripts' must be a list of [dial string, answer, ...] lists")
    sim = request.app[SIMULATOR]
    if sim.receiver("") is None:
        return web.json_response({"error": "no gateway is bound to receive"}, status=503)
    load = UssdSteps(sim, first=ints["first"], numbers=ints["numbers"], scripts=scripts,
                     count=ints["count"], window=ints["window"])
    sim.load = load
    load.start()
    return web.json_response(load.report(), status=202)


async def get_load(request: web.Request) -> web.Response:
    load = request.app[SIMULATOR].load
    if load is None:
        return web.json_response({"error": "no load started"}, status=404)
    return web.json_response(load.report())


#: A dial string: ``*code#`` with segments after the code (``*123*PIN#``).
_DIAL = re.compile(r"\*[0-9]+(\*[^*#]+)*#")
#: Longest answer a subscriber can type (GSM 03.90: 182 characters).
MAX_USSD_TEXT = 182


async def _screen(step: Awaitable[tuple[Dialogue, Screen]]) -> web.Response:
    """The screen a dial or an answer brings, or the centre's refusal."""
    try:
        d, screen = await step
    except UssdError as exc:
        return _ussd_error(exc)
    return web.json_response({"session": d.id, "text": screen.text, "end": screen.end})


def _ussd_error(exc: UssdError) -> web.Response:
    return web.json_response({"error": str(exc)}, status=exc.status)


def _ussd_text(text: str, key: str) -> str | None:
    """Why ``text`` cannot go in a USSD message (None: it can)."""
    if len(text) > MAX_USSD_TEXT:
        return f"'{key}' longer than {MAX_USSD_TEXT} characters"
    try:
        encode_ussd(text)
    except ValueError as exc:
        return f"'{key}': {exc}"
    return None


async def post_ussd_dial(request: web.Request) -> web.Response:
    """``{"msisdn", "code"}``: the subscriber dials ``code`` (``*124#``, ``*123*PIN#``); the first screen."""
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    for key in ("msisdn", "code"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            return _bad(f"'{key}' is required and must be a non-empty string")
    msisdn, code = _subscriber(request, body["msisdn"].strip()), body["code"].strip()
    if len(msisdn) > 20:
        return _bad("'msisdn' must be at most 20 characters")
    if not _DIAL.fullmatch(code):
        return _bad("'code' must be a USSD code such as *100# or *123*PIN#")
    reason = _ussd_text(code, "code")
    if reason is not None:
        return _bad(reason)
    return await _screen(request.app[SIMULATOR].ussd.dial(msisdn, code))


async def post_ussd_answer(request: web.Request) -> web.Response:
    """``{"session", "text"}``: the subscriber answers the screen; the next one."""
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    for key in ("session", "text"):
        if not isinstance(body.get(key), str):
            return _bad(f"'{key}' is required and must be a string")
    reason = _ussd_text(body["text"], "text")
    if reason is not None:
        return _bad(reason)
    return await _screen(request.app[SIMULATOR].ussd.answer(body["session"], body["text"]))


async def post_ussd_abort(request: web.Request) -> web.Response:
    """``{"session"}``: the subscriber hangs up (the vendor's abort goes to the gateway)."""
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    if not isinstance(body.get("session"), str):
        return _bad("'session' is required and must be a string")
    try:
        d = request.app[SIMULATOR].ussd.abort(body["session"])
    except UssdError as exc:
        return _ussd_error(exc)
    return web.json_response({"session": d.id, "end": True})


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def proxy_ussd(request: web.Request) -> web.Response:
    """One USSD turn for the page: ``{sessionId, serviceCode, phoneNumber, text}`` in,
    ``{"reply": "CON …" | "END …"}`` out (502 with a reason when the gateway fails)."""
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    form = {}
    for key in ("sessionId", "serviceCode", "phoneNumber", "text"):
        if not isinstance(body.get(key), str):
            return _bad(f"'{key}' is required and must be a string")
        form[key] = body[key]
    url = request.app[GATEWAY_URL]
    try:
        async with request.app[HTTP].post(url, data=form) as resp:
            reply = await resp.text()
            if resp.status != 200:
                return web.json_response(
                    {"error": f"gateway answered {resp.status}: {reply[:200]}"}, status=502
                )
    except (aiohttp.ClientError, TimeoutError) as exc:
        return web.json_response({"error": f"gateway at {url} unreachable: {exc}"}, status=502)
    return web.json_response({"reply": reply})
