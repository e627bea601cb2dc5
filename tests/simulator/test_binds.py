"""Binds from independent clients: smpplib (sync, in a thread) and smpp34 (Rust, async)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import smpp34
import smpplib.client
import smpplib.exceptions

from tests.support.rawsmpp import RawClient


def smpplib_bind(port: int, system_id: str, password: str) -> str:
    """Bind a transceiver with smpplib; return 'ok' or the refusal's status code name."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=3, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transceiver(system_id=system_id, password=password)
        client.unbind()
        return "ok"
    except smpplib.exceptions.PDUError as exc:
        return f"0x{exc.args[1]:02x}"
    finally:
        client.disconnect()


async def test_configured_smpp_account_binds(sim):
    """The [smpp] system_id/password of the same configuration is accepted."""
    assert await asyncio.to_thread(smpplib_bind, sim.port, "selfcare", "secret") == "ok"


async def test_extra_simulator_account_binds(sim):
    """An account under [simulator.accounts] is accepted too."""
    assert await asyncio.to_thread(smpplib_bind, sim.port, "other", "pw2") == "ok"


async def test_wrong_password_is_refused(sim):
    """A wrong password is refused with ESME_RINVPASWD (0x0e)."""
    assert await asyncio.to_thread(smpplib_bind, sim.port, "selfcare", "bad") == "0x0e"


async def test_unknown_system_id_is_refused(sim):
    """An unknown system id is refused with ESME_RINVSYSID (0x0f)."""
    assert await asyncio.to_thread(smpplib_bind, sim.port, "stranger", "secret") == "0x0f"


async def test_smpp34_cannot_bind_with_wrong_password(sim):
    """smpp34's client fails to bind with a wrong password (it reports no status)."""
    client = smpp34.Client("127.0.0.1", sim.port, "selfcare", "bad", connect_timeout_ms=1000)
    with pytest.raises(smpp34.SmppError):
        await client.connect()
    await client.stop()


async def test_second_bind_on_same_session_is_already_bound(sim):
    """A second bind on a bound connection gets ESME_RALYBND and the first bind still works."""
    raw = await RawClient.connect(sim.port)
    try:
        assert (await raw.bind()).status == 0
        assert (await raw.bind()).status == 0x05
        await raw.send(raw.submit_bytes())
        assert (await raw.read()).status == 0
    finally:
        await raw.close()


async def test_several_esmes_bound_at_once_are_listed(sim):
    """smpp34 and a raw client bound together both show in GET /binds."""
    client = smpp34.Client("127.0.0.1", sim.port, "selfcare", "secret", bind_type="TX")
    smsc = await client.connect()
    raw = await RawClient.connect(sim.port)
    try:
        assert (await raw.bind("other", "pw2", mode="rx", address_range="888")).status == 0
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{sim.control_url}/binds") as resp:
                binds = await resp.json()
        assert sorted((b["system_id"], b["mode"]) for b in binds) == [
            ("other", "bound_rx"), ("selfcare", "bound_tx")]
        resp = await smsc.submit_sm("85512345678", b"still works", source_addr="888")
        assert resp.is_success
    finally:
        await raw.close()
        await smsc.unbind()
        await client.stop()


async def test_enquire_link_and_unbind(sim):
    """enquire_link is answered, and unbind gets unbind_resp and a closed connection."""
    from aiosmpplib import EnquireLink, Unbind

    raw = await RawClient.connect(sim.port)
    try:
        await raw.bind()
        await raw.send(EnquireLink(sequence_num=raw.next_seq()).pdu())
        assert (await raw.read()).command_id == 0x80000015
        await raw.send(Unbind(sequence_num=raw.next_seq()).pdu())
        assert (await raw.read()).command_id == 0x80000006
        assert await raw.is_closed()
    finally:
        await raw.close()
