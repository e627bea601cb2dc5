"""``gateway/console/openapi.json`` against the running console: every route documented, every documented
operation answering as documented (status, and for JSON the documented keys and types), on both backends."""

from __future__ import annotations

import json
import re
from datetime import date
from importlib import resources
from typing import Any

from gateway.app import build_console
from gateway.domain.channels import Channel
from tests.support.care import give_bill, postpaid_line
from tests.support.console import OPERATOR, PREPAID, Console

SPEC = json.loads(resources.files("gateway.console").joinpath("openapi.json").read_text(encoding="utf-8"))
SECOND = "9779801230000"


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def problems(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` does not match ``schema`` (the JSON Schema the spec uses: type, required,
    properties, items, enum, oneOf, allOf, additionalProperties)."""
    schema = resolve(schema)
    if "oneOf" in schema:
        return [] if any(not problems(value, s, where) for s in schema["oneOf"]) else [f"{where}: matches no oneOf"]
    found = [p for s in schema.get("allOf", ()) for p in problems(value, s, where)]
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
                 "integer": int, "number": (int, float)}
        ok = any(isinstance(value, kinds[n]) and not (n in ("integer", "number") and isinstance(value, bool))
                 for n in names)
        if not ok:
            return found + [f"{where}: {type(value).__name__} is not {names}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        found += [f"{where}: no {key!r}" for key in schema.get("required", ()) if key not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                found += problems(value[key], sub, f"{where}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                found += problems(item, extra, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            found += problems(item, schema["items"], f"{where}[{n}]")
    return found


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method.upper(), op) for path, item in SPEC["paths"].items() for method, op in item.items()]


def success(op: dict[str, Any]) -> int:
    return min(int(code) for code in op["responses"] if code[0] in "23")


def sample(name: str, schema: dict[str, Any], known: dict[str, Any]) -> str:
    """A value of a documented parameter the seeded console accepts."""
    if name in known:
        return str(known[name])
    schema = resolve(schema)
    if "enum" in schema:
        return str(schema["enum"][0])
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    return {"integer": "5", "boolean": "true"}.get(kind or "", "x")


class TestRoutes:
    def test_every_route_of_the_app_is_documented_and_nothing_else(self, console: Console) -> None:
        """The app's routes (but HEAD) and the spec's operations are the same set."""
        app, close = build_console(console.gateway)
        try:
            routes = {(route.method, route.resource.canonical) for route in app.router.routes()
                      if route.method != "HEAD" and route.resource is not None}
        finally:
            close()
        assert routes == {(method, path) for path, method, _ in operations()}

    async def test_the_served_description_is_the_shipped_file(self, console: Console) -> None:
        """``/admin/api/openapi.json`` needs no sign-in and is the file in the package."""
        status, served = await console.api("/openapi.json", token=None)
        assert (status, served) == (200, SPEC)
        assert SPEC["openapi"].startswith("3.")


class TestConformance:
    async def test_every_documented_operation_answers_as_documented(self, console: Console) -> None:
        """Each operation, called with every documented query parameter, answers its documented success
        status; a JSON answer has the documented keys and types at every level."""
        services = console.services
        # Two of each case: one for the form, one for the API.
        postpaid_line(services, SECOND, 5_000_00)
        give_bill(services, SECOND, date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1), 99_00)
        disputes = [console.seeded.dispute, services.dispute_bill(SECOND, "", Channel.SMS).reference]
        complaints = [console.seeded.complaint, services.file_complaint(SECOND, "Slow data", Channel.SMS).reference]
        message = console.queued_to(PREPAID)[0]["id"]
        console.deliver(message, "OA-1")
        bodies = {"/admin/api/disputes/{reference}/resolve": {"outcome": "upheld", "credit": "1", "note": "ok"},
                  "/admin/api/complaints/{reference}/close": {"note": "Answered."},
                  "/admin/disputes/{reference}/resolve": {"outcome": "rejected"},
                  "/admin/complaints/{reference}/close": {"note": "Answered."},
                  "/admin/login": {"token": OPERATOR, "next": "/admin/"}}
        checked = []
        # Sign in first (the forms need the session), sign out last.
        ordered = sorted(operations(), key=lambda o: (o[0] == "/admin/logout", o[0] != "/admin/login"))
        for path, method, op in ordered:
            known: dict[str, Any] = {"msisdn": PREPAID, "name": "console.css", "next": "/admin/",
                                     "campaign": console.seeded.campaign,
                                     "id": console.seeded.campaign if "campaign" in path else message,
                                     "reference": (disputes if "dispute" in path else complaints)[
                                         0 if not path.startswith("/admin/api/") else 1]}
            url = path
            for name in re.findall(r"{(\w+)}", path):
                url = url.replace(f"{{{name}}}", sample(name, {}, known))
            query = [f"{p['name']}={sample(p['name'], p['schema'], known)}"
                     for p in op.get("parameters", ()) if p["in"] == "query"]
            if query:
                url += "?" + "&".join(query)
            public = op.get("security") == []
            headers = {} if public or not path.startswith("/admin/api/") else {"Authorization": f"Bearer {OPERATOR}"}
            if method == "POST" and not path.startswith("/admin/api/") and path != "/admin/login":
                _, page, _ = await console.page("/admin/complaints", token=None)
                csrf = re.search(r'name="csrf" value="([^"]+)"', page)
                assert csrf, "signed in for the forms"
                data: Any = {**bodies.get(path, {}), "csrf": csrf.group(1)}
                async with console.http.post(console.url + url, data=data, allow_redirects=False) as r:
                    status, content_type, text = r.status, r.content_type, await r.text()
            elif method == "POST" and path == "/admin/login":
                async with console.http.post(console.url + url, data=bodies[path], allow_redirects=False) as r:
                    status, content_type, text = r.status, r.content_type, await r.text()
            else:
                async with console.http.request(method, console.url + url, json=bodies.get(path), headers=headers,
                                                allow_redirects=False) as r:
                    status, content_type, text = r.status, r.content_type, await r.text()
            expected = success(op)
            if path == "/admin/subscribers" and method == "GET":
                expected = 303  # a number given: to its page
            assert status == expected, (method, url, status, text[:300])
            documented = op["responses"][str(status)].get("content", {})
            if status == 200:
                assert content_type in documented, (method, url, content_type)
            if content_type == "application/json" and status == 200:
                schema = documented["application/json"]["schema"]
                found = problems(json.loads(text), schema)
                assert found == [], (method, url, found[:10])
            checked.append((method, path, status))
        assert len(checked) == len(operations())

    def test_the_checker_catches_a_missing_key_and_a_wrong_type(self) -> None:
        """The schema check used above fails on what it must (so a passing run means something)."""
        good = {"reference": "CP-1", "msisdn": "1", "status": "open", "text": "t", "channel": "sms",
                "received_at": "2026-01-01T00:00:00+00:00", "note": None, "closed_at": None}
        schema = {"$ref": "#/components/schemas/Complaint"}
        assert problems(good, schema) == []
        assert problems({k: v for k, v in good.items() if k != "note"}, schema) == ["$: no 'note'"]
        assert problems({**good, "status": "pending"}, schema) == ["$.status: 'pending' not in ['open', 'closed']"]
        assert problems({**good, "closed_at": 5}, schema) != []
