"""``dial MSISDN CODE [--url URL]``: a handset behind a USSD aggregator.

Shows each screen, reads the answer from stdin and posts the next request
with every answer so far in ``text`` (the Africa's Talking convention), until
the gateway ends the session or stdin closes. ``*123*PIN#`` is sent as
``serviceCode=*123#`` with ``PIN`` as the first text, as aggregators do.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from gateway.cli import CliError, add_config_option
from gateway.config import load_settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "dial", help="phone emulator: dial a USSD code against the gateway and answer each screen")
    parser.add_argument("msisdn", metavar="MSISDN")
    parser.add_argument("code", metavar="CODE", help="e.g. '*100#' or '*123*PIN#'")
    parser.add_argument("--url", help="the gateway's /ussd (default: from [http] host and port)")
    parser.add_argument("--token", help="bearer token (default: [http] token)")
    add_config_option(parser)
    parser.set_defaults(run=run)


def split_code(code: str) -> tuple[str, list[str]]:
    """``*123*PIN#`` → (``*123#``, [``PIN``])."""
    code = code.strip()
    if not (code.startswith("*") and code.endswith("#") and len(code) > 2):
        raise CliError(f"not a USSD code: {code!r} (e.g. '*100#')")
    head, *extra = code[1:-1].split("*")
    return f"*{head}#", extra


def run(args: argparse.Namespace) -> int:
    service_code, answers = split_code(args.code)
    url, token = args.url, args.token
    if url is None or token is None:
        http = load_settings(args.config).http
        host = "127.0.0.1" if http.host in ("0.0.0.0", "::", "") else http.host
        url = url or f"http://{host}:{http.port}/ussd"
        token = http.token if token is None else token
    session_id = f"dial-{uuid.uuid4().hex[:12]}"
    while True:
        screen = _post(url, token, {"sessionId": session_id, "serviceCode": service_code,
                                    "phoneNumber": args.msisdn, "text": "*".join(answers)})
        kind, _, body = screen.partition(" ")
        print(body, flush=True)
        if kind != "CON":
            return 0
        print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            print(flush=True)
            return 0
        answers.append(line.strip())


def _post(url: str, token: str, form: dict[str, str]) -> str:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise CliError(f"{url}: HTTP {exc.code}: {exc.read().decode('utf-8', 'replace').strip()}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"{url}: {getattr(exc, 'reason', exc)}") from None
