"""The endpoint itself: restarts, resends, load, bad and unauthorised requests, metrics."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests.support.ussd import ME, Phone, another_gateway


class TestRestart:
    async def test_dialogue_survives_a_restart(self, world, tmp_path, clock):
        """A new gateway on the same database carries on the dialogue the old one began."""
        world.add()
        [pin] = world.vouchers()
        await world.phone.post("rs1", "*100#", "")
        await world.phone.post("rs1", "*100#", "2")
        gateway, server = await another_gateway(tmp_path, clock, world.gateway.settings.database.url)
        try:
            async with aiohttp.ClientSession() as client:
                phone = Phone(server, client)
                _, body = await phone.post("rs1", "*100#", "2*1")
                assert body == "CON Enter the card PIN:\n0 Back"
                _, body = await phone.post("rs1", "*100#", f"2*1*{pin}")
                assert body.startswith("END Top-up of $5.00 successful")
        finally:
            await server.close()
            gateway.close()

    async def test_resend_after_restart_credits_once(self, world, tmp_path, clock):
        """A top-up resent to a restarted gateway gets the first answer and no second credit."""
        world.add()
        [pin] = world.vouchers()
        _, first = await world.phone.post("rs2", "*123#", pin)
        gateway, server = await another_gateway(tmp_path, clock, world.gateway.settings.database.url)
        try:
            async with aiohttp.ClientSession() as client:
                _, again = await Phone(server, client).post("rs2", "*123#", pin)
        finally:
            await server.close()
            gateway.close()
        assert again == first
        assert world.sql("SELECT COUNT(*) FROM topups")[0][0] == 1

    async def test_expired_session_stays_expired_after_restart(self, world, tmp_path, clock):
        """An idle session is not revived by a restart."""
        import datetime as dt
        world.add()
        await world.phone.post("rs3", "*100#", "")
        clock.advance(dt.timedelta(seconds=200))
        gateway, server = await another_gateway(tmp_path, clock, world.gateway.settings.database.url)
        try:
            async with aiohttp.ClientSession() as client:
                _, body = await Phone(server, client).post("rs3", "*100#", "1")
        finally:
            await server.close()
            gateway.close()
        assert body.startswith("END Your session has expired.")


class TestLoad:
    async def test_200_concurrent_sessions(self, world):
        """200 subscribers in dialogue at once all get their right answers, quickly."""
        cur = world.gateway.profile.currency
        from gateway.domain.money import parse_amount
        numbers = [f"8551200{n:04d}" for n in range(200)]
        for n in numbers:
            world.gateway.services.add_subscriber(n, balance=parse_amount("1.00", cur))
        pins = world.vouchers(200)

        async def one(i: int) -> list[str]:
            return await world.phone.dial("*100#", "2", "1", pins[i], msisdn=numbers[i], session_id=f"c{i}")

        started = time.monotonic()
        results = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(200))), timeout=60)
        assert all(r[-1].startswith("END Top-up of $5.00 successful. Balance: $6.00") for r in results)
        assert time.monotonic() - started < 60
        assert world.sql("SELECT COUNT(*) FROM topups")[0][0] == 200


class TestRefusals:
    @pytest.mark.parametrize("form, reason", [
        ({"serviceCode": "*100#", "phoneNumber": ME, "text": ""}, "sessionId: missing"),
        ({"sessionId": "x", "phoneNumber": ME, "text": ""}, "serviceCode: missing"),
        ({"sessionId": "x", "serviceCode": "*100#", "text": ""}, "phoneNumber: missing"),
        ({"sessionId": "x", "serviceCode": "100", "phoneNumber": ME, "text": ""}, "serviceCode: expected"),
        ({"sessionId": "x", "serviceCode": "*100#", "phoneNumber": "abc", "text": ""}, "phoneNumber: not"),
    ])
    async def test_bad_requests_get_400_with_a_reason(self, world, form, reason):
        """A missing or malformed field is answered 400 naming it."""
        async with world.phone.client.post(world.phone.server.make_url("/ussd"), data=form) as r:
            assert r.status == 400
            assert (await r.text()).startswith(reason)

    async def test_large_body_gets_413(self, world):
        """A body over the limit is refused."""
        form = {"sessionId": "x", "serviceCode": "*100#", "phoneNumber": ME, "text": "1" * 5000}
        async with world.phone.client.post(world.phone.server.make_url("/ussd"), data=form) as r:
            assert r.status == 413

    async def test_national_and_plus_numbers_are_the_same_caller(self, world):
        """+855…, 855… and 0… reach the same subscriber."""
        world.add()
        for spelling in ("+85512345678", "85512345678", "012345678"):
            _, body = await world.phone.post(f"n{spelling}", "*124#", "", msisdn=spelling)
            assert body.startswith("END Main balance: $6.00")

    async def test_unknown_code_is_a_polite_end(self, world):
        """A code this gateway does not answer ends politely."""
        status, body = await world.phone.post("u1", "*999#", "")
        assert (status, body) == (200, "END Unknown code *999#.")

    async def test_outside_network_or_wrong_token_gets_403(self, tmp_path, clock):
        """Only configured networks with the right token may call /ussd; /healthz stays open."""
        gateway, server = await another_gateway(tmp_path, clock, allowed_networks=("10.0.0.0/8",))
        gateway2, server2 = await another_gateway(tmp_path / "b", clock, allowed_networks=(), token="s3cret")
        try:
            async with aiohttp.ClientSession() as client:
                assert (await Phone(server, client).post("a", "*124#", ""))[0] == 403
                async with client.get(server.make_url("/healthz")) as r:
                    assert r.status == 200
                assert (await Phone(server2, client).post("a", "*124#", ""))[0] == 403
                phone = Phone(server2, client, headers={"Authorization": "Bearer wrong"})
                assert (await phone.post("a", "*124#", ""))[0] == 403
                phone = Phone(server2, client, headers={"Authorization": "Bearer s3cret"})
                assert (await phone.post("a", "*124#", ""))[0] == 200
                async with client.get(server2.make_url("/metrics")) as r:
                    assert r.status == 200
        finally:
            for s, g in ((server, gateway), (server2, gateway2)):
                await s.close()
                g.close()


class TestEndedDialogues:
    async def test_ended_dialogues_leave_memory_and_resends_are_answered_from_the_database(self, world):
        """After an END the dialogue is no longer held in memory (or counted as active); the
        aggregator resending the last request still gets the same screen and no second credit."""
        world.add()
        [pin] = world.vouchers()
        menu = await world.phone.dial("*100#", "1", session_id="menu-end")
        await asyncio.sleep(0.05)  # a new menu dialogue's row is written after its first screen
        assert await world.phone.post("menu-end", "*100#", "1") == (200, menu[-1])
        _, topup = await world.phone.post("topup-end", "*123#", pin)
        async with world.phone.client.get(world.phone.server.make_url("/metrics")) as r:
            assert "ussd_active_sessions 0.0" in await r.text()
        assert await world.phone.post("topup-end", "*123#", pin) == (200, topup)
        assert topup.startswith("END Top-up of $5.00 successful. Balance: $11.00")
        assert world.sql("SELECT COUNT(*) FROM topups")[0][0] == 1
        assert (await world.phone.dial("*124#"))[0].startswith("END Main balance: $11.00")


class TestMetrics:
    async def test_metrics_count_requests_and_topups(self, world):
        """/metrics shows requests by code and outcome, step latency, sessions, top-ups."""
        world.add()
        [pin] = world.vouchers()
        await world.phone.dial("*124#")
        await world.phone.dial("*100#", "2", "1", pin)
        await world.phone.post("still-going", "*100#", "2")  # a dialogue waiting for its next answer
        async with world.phone.client.get(world.phone.server.make_url("/metrics")) as r:
            text = await r.text()
        assert 'ussd_requests_total{outcome="end",service_code="*124#"} 1.0' in text
        assert 'ussd_topups_total{outcome="credited"} 1.0' in text
        # Latency by service code: one step of *124#, five of *100# (a dial, its three answers, one more).
        assert 'ussd_step_seconds_count{service_code="*124#"} 1.0' in text
        assert 'ussd_step_seconds_count{service_code="*100#"} 5.0' in text
        assert "ussd_active_sessions 1.0" in text  # the ended ones are not counted
