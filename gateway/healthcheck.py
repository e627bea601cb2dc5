"""``python -m gateway.healthcheck URL [--wait S] [--allow PREFIX ...]``: is the gateway ready, for a service manager.

The container health check and the systemd unit in ``deploy/`` ask
``GET /readyz`` through this: exit 0 when it answers 200, else 1 with the
reasons it gave (or why it could not be asked) on one line of stderr.
``--wait S`` keeps asking, twice a second, for up to S seconds (a unit's
``ExecStartPost`` waits for a starting gateway this way). ``--allow smpp``
accepts a 503 whose every reason starts with ``smpp``: the gateway answers
USSD while the SMSC is away, so a service manager need not stop it then.

Only the standard library, and no import of the gateway itself: a check
that runs every few seconds should start fast and cost nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

#: Seconds one request may take (a check answers in milliseconds; a hung gateway must not hang it).
TIMEOUT = 5.0
POLL_SECONDS = 0.5


def problems(url: str, allow: Sequence[str] = ()) -> list[str]:
    """Why the gateway at ``url`` is not ready (empty: it is), reasons starting with ``allow`` aside."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - the operator's URL
            response.read()
            return []
    except urllib.error.HTTPError as exc:
        try:
            reasons = [str(r) for r in json.loads(exc.read() or b"{}").get("reasons", [])]
        except (ValueError, AttributeError):
            reasons = []
        left = [r for r in reasons if not any(r.startswith(prefix) for prefix in allow)]
        if exc.code == 503 and reasons and not left:
            return []
        return left or [f"HTTP {exc.code}"]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return [f"no answer from {url}: {reason}"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.healthcheck",
                                     description="Exit 0 if the gateway's /readyz says it is ready.")
    parser.add_argument("url", help="the readiness URL, e.g. http://127.0.0.1:8080/readyz")
    parser.add_argument("--wait", type=float, default=0.0, metavar="S",
                        help="keep asking for up to S seconds (default: ask once)")
    parser.add_argument("--allow", action="append", default=[], metavar="PREFIX",
                        help="accept reasons starting with PREFIX (e.g. smpp); may be repeated")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.wait
    while True:
        found = problems(args.url, args.allow)
        if not found:
            return 0
        if time.monotonic() + POLL_SECONDS > deadline:
            print(f"not ready: {'; '.join(found)}", file=sys.stderr)
            return 1
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
