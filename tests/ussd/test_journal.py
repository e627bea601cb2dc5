"""The dialogue journal: one row per dialogue served, how it ended and the screen it stood on.

Real dialogues over HTTP on loopback (and, for a dialect's release or timeout, through
``handle_latest`` and ``close``, which the dialects call), on both backends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import aiohttp

from gateway.ussd.request import Close
from tests.support.handset import Handset
from tests.support.ussd import ME, OTHER, Phone, World, hold_the_database, impatient_gateway, report
from tests.support.world import START

IDLE = timedelta(seconds=180)  # both profiles' ussd_session_idle_seconds


async def journal(world: World) -> dict[str, tuple]:
    """session id → (path, code, msisdn, outcome, screen, steps, detail, source), once every row is in."""
    await world.gateway.dialogues.settle()
    return {r[0]: tuple(r[1:]) for r in world.sql(
        "SELECT session_id, path, service_code, msisdn, outcome, screen, steps, detail, source FROM ussd_journal")}


def at(value: object) -> datetime:
    """A stored instant (SQLite's ISO text, PostgreSQL's datetime) as a datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def metrics(world: World) -> str:
    async with world.phone.client.get(world.phone.server.make_url("/metrics")) as r:
        return await r.text()


class TestCompleted:
    async def test_our_end_after_a_path_is_completed_on_its_last_screen(self, world, clock):
        """A top-up through the menu and a one-step balance: completed, the screen they ended on, the answers."""
        world.add()
        [pin] = world.vouchers()
        for n, text in enumerate(("", "2", "2*1", f"2*1*{pin}")):
            clock.set(START + timedelta(seconds=10 * n))
            status, body = await world.phone.post("j-top", "*100#", text)
        assert status == 200 and body.startswith("END Top-up of $5.00 successful")
        await world.phone.dial("*124#", session_id="j-bal")
        rows = await journal(world)
        assert rows["j-top"] == ("africastalking", "*100#", ME, "completed", "selfcare:topup_mine", 3, "end",
                                 "gateway")
        assert rows["j-bal"] == ("africastalking", "*124#", ME, "completed", "balance:balance", 0, "end", "gateway")
        [(started, ended)] = world.sql("SELECT started_at, ended_at FROM ussd_journal WHERE session_id = 'j-top'")
        assert (at(started), at(ended)) == (START, START + timedelta(seconds=30))

    async def test_a_refusal_is_a_completed_dialogue_and_a_resent_end_is_journaled_once(self, world, clock):
        """A wrong PIN answers the subscriber (completed); the aggregator resending that END adds nothing."""
        world.add()
        _, body = await world.phone.post("j-wrong", "*123#", "1234567890123456")
        assert body.startswith("END ") and "successful" not in body
        await journal(world)
        clock.advance(timedelta(seconds=30))
        assert (await world.phone.post("j-wrong", "*123#", "1234567890123456"))[1] == body
        rows = await journal(world)
        assert rows["j-wrong"][3:8] == ("completed", "topup:topup", 1, "end", "gateway")
        assert world.sql("SELECT count(*) FROM ussd_journal")[0][0] == 1
        assert at(world.sql("SELECT ended_at FROM ussd_journal")[0][0]) == START  # the first END's


class TestAbandoned:
    async def test_an_incomplete_report_of_an_open_dialogue_abandons_it_on_its_screen(self, world, clock):
        """Africa's Talking reports the session ended on the top-up menu: abandoned there, counted once by
        /metrics; neither its resend nor the later sweep changes it."""
        world.add()
        await world.phone.dial("*100#", "2", session_id="j-left")
        await world.gateway.dialogues.settle()
        for _ in range(2):
            assert await report(world, sessionId="j-left", status="Incomplete", input="2") == (200, "ok\n")
        assert (await journal(world))["j-left"][3:8] == ("abandoned", "selfcare:topup", 1, "reported", "report")
        assert 'ussd_abandoned_dialogues_total{screen="selfcare:topup"} 1.0' in await metrics(world)
        clock.advance(2 * IDLE)
        await world.gateway.dialogues.sweep()
        assert (await journal(world))["j-left"][3] == "abandoned"

    async def test_an_incomplete_report_after_our_end_leaves_it_completed(self, world):
        """The report came late for a dialogue we had answered: still completed, nothing counted as abandoned."""
        world.add()
        await world.phone.dial("*100#", "1", session_id="j-done")
        await world.gateway.dialogues.settle()
        assert (await report(world, sessionId="j-done", status="Incomplete"))[0] == 200
        assert (await journal(world))["j-done"][3] == "completed"
        assert "ussd_abandoned_dialogues_total{" not in await metrics(world)

    async def test_a_dialects_release_abandons_it_where_it_stood(self, world):
        """A dialect's release (``close(ABANDONED)``) on the PIN screen: abandoned there, counted once."""
        world.add()
        handset = Handset(world.gateway.dialogues)
        await handset.dial("*100#")
        await handset.answers("2", "1")
        await handset.close(Close.ABANDONED)
        await handset.close(Close.ABANDONED)  # released twice
        row = (await journal(world))[handset.session_id]
        assert row == ("hubtel", "*100#", ME, "abandoned", "selfcare:topup_pin_mine", 2, "abandoned", "gateway")
        assert 'ussd_abandoned_dialogues_total{screen="selfcare:topup_pin_mine"} 1.0' in await metrics(world)


class TestTimedOut:
    async def test_a_dialogue_left_idle_is_timed_out_by_the_sweep_and_a_live_one_is_not(self, world, clock):
        """Our idle expiry, found by the session sweep, on the screen it stood on; the sweep again adds nothing,
        and a dialogue that is still going is not touched."""
        world.add()
        await world.phone.dial("*100#", "2", "1", session_id="j-idle")
        clock.advance(2 * IDLE)
        await world.phone.post("j-live", "*100#", "")
        await world.gateway.dialogues.settle()
        journaled, _, _ = await world.gateway.dialogues.sweep()
        assert journaled == 1
        clock.advance(timedelta(seconds=1))
        assert (await world.gateway.dialogues.sweep())[0] == 0
        rows = await journal(world)
        assert rows == {"j-idle": ("africastalking", "*100#", ME, "timed_out", "selfcare:topup_pin_mine", 2, "idle",
                                   "sweep")}

    async def test_a_network_timeout_is_timed_out_and_the_dialogue_ended_by_us_is_not_swept_again(
            self, world, clock):
        """A dialect's timeout (``close(TIMEOUT)``): timed out; our END of another dialogue stays completed
        when its row expires."""
        world.add()
        handset = Handset(world.gateway.dialogues)
        await handset.dial("*100#")
        await handset.answer("2")
        await handset.close(Close.TIMEOUT)
        world.add(OTHER)
        done = Handset(world.gateway.dialogues, msisdn=OTHER)  # (the same number would be offered the first back)
        await done.dial("*100#")
        assert (await done.answer("1")).startswith("END ")
        clock.advance(2 * IDLE)
        await world.gateway.dialogues.settle()
        await world.gateway.dialogues.sweep()
        rows = await journal(world)
        assert rows[handset.session_id][3:8] == ("timed_out", "selfcare:topup", 1, "timeout", "gateway")
        assert rows[done.session_id][3:8] == ("completed", "selfcare:balance", 1, "end", "gateway")
        assert "ussd_abandoned_dialogues_total{" not in await metrics(world)


class TestFailed:
    async def test_a_top_up_the_database_cannot_take_is_failed(self, world, tmp_path, clock):
        """The database held by someone else until the busy screen: the dialogue failed (and the journal's
        row still arrives once the database is free)."""
        gateway, server = await impatient_gateway(world, clock)
        world.add()
        [pin] = world.vouchers()
        release = hold_the_database(gateway)
        try:
            async with aiohttp.ClientSession() as client:
                status, body = await Phone(server, client).post("j-busy", "*123#", pin)
        finally:
            release()
        try:
            assert (status, body) == (200, "END Service busy. Please try again in a moment.")
            await gateway.dialogues.settle()
        finally:
            await server.close()
            gateway.close()
        assert (await journal(world))["j-busy"][3:8] == ("failed", "", 0, "busy", "gateway")

    async def test_an_action_that_breaks_is_failed_and_counted_so(self, world, monkeypatch):
        """A written action raising (not refusing): the "unavailable" END, the dialogue failed on that screen,
        the request counted ``failed``."""
        world.add()

        def broken(msisdn: str, language: str) -> str:
            raise RuntimeError("the disk is on fire")

        monkeypatch.setattr(world.gateway.services, "set_language", broken)
        screens = await world.phone.dial("*100#", "5", "1", session_id="j-broke")
        assert screens[-1].startswith("END ") and "unavailable" in screens[-1].lower(), screens
        assert (await journal(world))["j-broke"][3:8] == ("failed", "selfcare:language_en", 2, "failed", "gateway")
        assert 'ussd_requests_total{outcome="failed",service_code="*100#"} 1.0' in await metrics(world)
