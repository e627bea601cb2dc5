"""The ceiling of the HTTP path: bare aiohttp answering ``CON hello`` to /ussd.

It parses the same form POST the gateway gets (``await request.post()``) and
does nothing else, with the same server settings as ``serve`` (no access log).
Run as ``python -m benchmarks.baseline PORT``.
"""

from __future__ import annotations

import sys

from aiohttp import web


async def ussd(request: web.Request) -> web.Response:
    form = await request.post()
    if "sessionId" not in form or "phoneNumber" not in form:
        return web.Response(status=400, text="missing fields")
    return web.Response(text="CON hello")


def main(argv: list[str]) -> int:
    app = web.Application()
    app.router.add_post("/ussd", ussd)
    web.run_app(app, host="127.0.0.1", port=int(argv[0]), access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
