"""The control API over real HTTP: inject MO, list and clear MT, see binds, proxy USSD."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import smpp34
from aiohttp import web

from gateway.config import ConfigError
from simulator import load_simulator_settings
from tests.support.rawsmpp import RawClient


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def submit(port: int, *messages: tuple[str, str]) -> None:
    raw = await RawClient.connect(port)
    try:
        await raw.bind()
        for to, text in messages:
            await raw.send(raw.submit_bytes(text, to=to))
            assert (await raw.read()).status == 0
    finally:
        await raw.close()


async def test_post_mo_returns_an_id_and_reaches_the_esme(sim, http):
    """POST /mo answers 202 with an id, and the ESME receives the message."""
    client = smpp34.Client("127.0.0.1", sim.port, "selfcare", "secret", bind_type="RX")
    smsc = await client.connect()
    try:
        async with http.post(f"{sim.control_url}/mo", json={"from": "85512345678", "to": "888", "text": "BAL"}) as resp:
            assert resp.status == 202
            assert isinstance((await resp.json())["id"], int)
        event = await asyncio.wait_for(smsc.next(), 2)
        assert event.short_message == b"BAL"
    finally:
        await smsc.unbind()
        await client.stop()


async def test_post_mo_picks_ucs2_for_khmer(sim, http):
    """Without data_coding, Khmer text is queued as UCS-2."""
    async with http.post(f"{sim.control_url}/mo", json={"from": "855", "to": "888", "text": "ជំរាបសួរ"}) as resp:
        assert resp.status == 202
    assert sim.simulator.mo.waiting[0].data_coding == 8


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"from": "855", "to": "888"}', "'text' is required"),
        (b'{"from": 855, "to": "888", "text": "x"}', "'from' is required"),
        (b'{"from": "855", "to": "888", "text": "x", "data_coding": 5}', "not supported"),
        (b'{"from": "855", "to": "888", "text": "\\u1780", "data_coding": 0}', "cannot be encoded"),
    ],
)
async def test_bad_mo_requests_are_400_with_a_reason(sim, http, body, reason):
    """Malformed JSON, missing fields and impossible encodings get 400 and say why."""
    async with http.post(f"{sim.control_url}/mo", data=body, headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
        assert reason in (await resp.json())["error"]


async def test_get_mt_filters_by_number_and_since(sim, http):
    """GET /mt lists submitted messages with the documented fields, filtered by to and since."""
    await submit(sim.port, ("85511", "one"), ("85522", "two"), ("85511", "three"))
    async with http.get(f"{sim.control_url}/mt") as resp:
        everything = await resp.json()
    assert [m["text"] for m in everything] == ["one", "two", "three"]
    assert {"id", "from", "to", "text", "data_coding", "esm_class", "registered_delivery",
            "submitted_at"} <= set(everything[0])
    async with http.get(f"{sim.control_url}/mt", params={"to": "85511", "since": str(everything[0]["id"])}) as resp:
        assert [m["text"] for m in await resp.json()] == ["three"]
    async with http.get(f"{sim.control_url}/mt", params={"since": "abc"}) as resp:
        assert resp.status == 400


async def test_delete_mt_empties_the_list(sim, http):
    """DELETE /mt forgets every stored MT."""
    await submit(sim.port, ("85511", "one"))
    async with http.delete(f"{sim.control_url}/mt") as resp:
        assert resp.status == 204
    async with http.get(f"{sim.control_url}/mt") as resp:
        assert await resp.json() == []


async def test_get_binds_shows_mode_and_counts(sim, http):
    """GET /binds names each bound ESME, its mode and what it submitted."""
    raw = await RawClient.connect(sim.port)
    try:
        await raw.bind(mode="tx")
        await raw.send(raw.submit_bytes())
        await raw.read()
        async with http.get(f"{sim.control_url}/binds") as resp:
            [bind] = await resp.json()
        assert (bind["system_id"], bind["mode"], bind["submitted"]) == ("selfcare", "bound_tx", 1)
    finally:
        await raw.close()


async def test_ussd_proxy_forwards_africastalking_form(start_sim, http):
    """POST /ussd forwards sessionId/serviceCode/phoneNumber/text as a form and returns the reply."""
    seen = []

    async def fake_gateway(request: web.Request) -> web.Response:
        seen.append(dict(await request.post()))
        return web.Response(text="CON Balance menu\n1. Main")

    app = web.Application()
    app.router.add_post("/ussd", fake_gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        sim = await start_sim(gateway_url=f"http://127.0.0.1:{port}/ussd")
        turn = {"sessionId": "s1", "serviceCode": "*100#", "phoneNumber": "85512345678", "text": "1*2"}
        async with http.post(f"{sim.control_url}/ussd", json=turn) as resp:
            assert resp.status == 200
            assert (await resp.json())["reply"] == "CON Balance menu\n1. Main"
        assert seen == [turn]
    finally:
        await runner.cleanup()


async def test_ussd_proxy_reports_unreachable_gateway(start_sim, http):
    """When the gateway is down the page gets 502 with a reason instead of hanging."""
    sim = await start_sim(gateway_url="http://127.0.0.1:9/ussd")
    turn = {"sessionId": "s1", "serviceCode": "*100#", "phoneNumber": "855", "text": ""}
    async with http.post(f"{sim.control_url}/ussd", json=turn) as resp:
        assert resp.status == 502
        assert "unreachable" in (await resp.json())["error"]


async def test_page_is_served(sim, http):
    """GET / serves the phone page and its script from package files."""
    async with http.get(f"{sim.control_url}/") as resp:
        assert resp.status == 200 and "Phone emulator" in await resp.text()
    async with http.get(f"{sim.control_url}/static/app.js") as resp:
        assert resp.status == 200


def test_negative_fault_setting_is_refused(tmp_path):
    """A negative fault-injection value is refused at load, naming the key."""
    path = tmp_path / "g.toml"
    path.write_text("[simulator]\nresponse_delay = -1.0\n")
    with pytest.raises(ConfigError, match="simulator.response_delay"):
        load_simulator_settings(path, environ={})


async def test_numbers_in_national_form_are_those_of_the_network(sim, http):
    """An MO from 012000444 reaches the ESME from 85512000444, and GET /mt?to=012000444 lists its replies."""
    client = smpp34.Client("127.0.0.1", sim.port, "selfcare", "secret", bind_type="TRX")
    smsc = await client.connect()
    try:
        async with http.post(f"{sim.control_url}/mo", json={"from": "012 000 444", "to": "888", "text": "BAL"}) as resp:
            assert resp.status == 202
        event = await asyncio.wait_for(smsc.next(), 2)
        assert event.source_addr == "85512000444"
        await smsc.submit_sm("85512000444", b"Balance", source_addr="888")
        for _ in range(50):
            async with http.get(f"{sim.control_url}/mt", params={"to": "012000444"}) as resp:
                national = await resp.json()
            if national:
                break
            await asyncio.sleep(0.05)
        async with http.get(f"{sim.control_url}/mt", params={"to": "+85512000444"}) as resp:
            international = await resp.json()
    finally:
        await smsc.unbind()
        await client.stop()
    assert [m["text"] for m in national] == ["Balance"]
    assert national == international
