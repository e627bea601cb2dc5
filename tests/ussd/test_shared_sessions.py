"""Two workers of ``serve --workers 2`` on one database: a dialogue moves between them."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from aiohttp.test_utils import TestServer

from gateway.app import Worker, build_gateway, build_web_app
from tests.support.ussd import Phone, make_settings


async def test_a_dialogue_advanced_on_the_other_worker_is_not_stale_on_this_one(world, tmp_path, clock):
    """Begun on worker A, carried on by B past A's idle deadline, then back on A: it goes on.

    The aggregator's connections land on either worker. A's memory of the
    session still holds the deadline of the step A answered; B's step moved
    it in the row. The idle period is 180 s; no pause is longer than 120 s.
    """
    world.add()
    [pin] = world.vouchers()
    gateways, servers = [], []
    try:
        for index in (0, 1):
            gateway = build_gateway(make_settings(tmp_path / "gw.db", world.gateway.settings.database.url),
                                    clock=clock, worker=Worker(index, 2))
            server = TestServer(build_web_app(gateway), host="127.0.0.1", port=0)
            await server.start_server()
            gateways.append(gateway)
            servers.append(server)
        async with aiohttp.ClientSession() as client:
            a, b = Phone(servers[0], client), Phone(servers[1], client)
            _, menu = await a.post("w1", "*100#", "")
            assert menu.startswith("CON ")
            clock.advance(timedelta(seconds=120))
            _, body = await b.post("w1", "*100#", "2")
            assert body.startswith("CON "), body
            clock.advance(timedelta(seconds=120))
            _, body = await a.post("w1", "*100#", "2*1")
            assert body == "CON Enter the card PIN:\n0 Back"
            _, body = await b.post("w1", "*100#", f"2*1*{pin}")
            assert body.startswith("END Top-up of $5.00 successful"), body
            _, again = await a.post("w1", "*100#", f"2*1*{pin}")  # the aggregator's resend, to A
            assert again == body
    finally:
        for server in servers:
            await server.close()
        for gateway in gateways:
            gateway.close()
    assert world.sql("SELECT COUNT(*) FROM topups")[0][0] == 1
