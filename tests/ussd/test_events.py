"""``POST /ussd/events``: Africa's Talking's end-of-session reports, stored once, refused with a reason."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.backends import leaks
from tests.support.ussd import GOOD_REPORT as GOOD
from tests.support.ussd import ME, World, another_gateway, hold_the_database, impatient_gateway, report


def stored(world: World) -> list:
    return world.sql("SELECT session_id, service_code, msisdn, network_code, status, answers, duration_ms, hops, "
                     "app_ended, error_message, cost FROM ussd_reports ORDER BY session_id")


class TestStored:
    async def test_a_report_is_stored_once_and_its_resend_is_answered_200_too(self, world):
        """The fields land normalised (the number in E.164 digits, counts as numbers); a resend adds nothing."""
        assert await report(world) == (200, "ok\n")
        assert await report(world, status="Success") == (200, "ok\n")  # a resend (even a changed one) is kept once
        assert [tuple(r) for r in stored(world)] == [
            ("ATUid_ev1", "*100#", ME, "45606", "Incomplete", 2, 15320, 3, 0, None, "USD 0.0100")]

    async def test_optional_fields_may_be_left_out_and_the_status_is_read_in_any_case(self, world):
        """Only sessionId, serviceCode, phoneNumber and status are needed; 'FAILED' is Failed."""
        status, _ = await report(world, sessionId="ATUid_ev2", phoneNumber="012345678", status="FAILED",
                                 networkCode=None, input=None, durationInMillis=None, hopsCount=None,
                                 lastAppResponse="END Thank you", errorMessage="Connection timed out", cost=None)
        assert status == 200
        assert [tuple(r) for r in stored(world)] == [
            ("ATUid_ev2", "*100#", ME, None, "Failed", 0, None, None, 1, "Connection timed out", None)]


class TestRefused:
    async def test_a_report_the_database_cannot_take_is_a_503_and_is_stored_when_sent_again(self, world, clock):
        """The database held elsewhere: 503 with the reason, nothing stored; sent again later: stored."""
        gateway, server = await impatient_gateway(world, clock)
        try:
            async with aiohttp.ClientSession() as client:
                url = server.make_url("/ussd/events")
                release = hold_the_database(gateway)
                try:
                    async with client.post(url, data=GOOD) as r:
                        busy = r.status, await r.text()
                finally:
                    release()
                async with client.post(url, data=GOOD) as r:
                    again = r.status
        finally:
            await server.close()
            gateway.close()
        assert busy == (503, "database busy or unavailable: not stored, send it again\n")
        assert again == 200 and [r[0] for r in stored(world)] == ["ATUid_ev1"]

    @pytest.mark.parametrize(("fields", "reason"), [
        ({"sessionId": None}, "sessionId: missing"),
        ({"sessionId": " "}, "sessionId: empty"),
        ({"status": None}, "status: missing"),
        ({"status": "Done"}, "status: expected Success, Incomplete or Failed"),
        ({"durationInMillis": "15.3s"}, "durationInMillis: expected a whole number of milliseconds"),
        ({"durationInMillis": "-5"}, "durationInMillis: expected a whole number of milliseconds"),
        ({"hopsCount": "three"}, "hopsCount: expected a whole number"),
        ({"phoneNumber": "+4420123"}, "phoneNumber: not a phone number of this operator"),
        ({"phoneNumber": None}, "phoneNumber: missing"),
        ({"serviceCode": "menu"}, "serviceCode: expected a code like *100#"),
        ({"input": "1" * 300}, "input: malformed"),
    ])
    async def test_each_bad_field_is_a_400_naming_it_and_nothing_is_stored(self, world, fields, reason):
        """A report the gateway cannot read is refused with the field and why, and leaves no row."""
        assert await report(world, **fields) == (400, reason + "\n")
        assert stored(world) == []

    async def test_callers_that_may_not_call_ussd_may_not_report_either(self, tmp_path, clock):
        """The access checks of /ussd: a wrong or missing token is 403 and stores nothing."""
        gateway, server = await another_gateway(tmp_path, clock, allowed_networks=(), token="s3cret")
        try:
            async with aiohttp.ClientSession() as client:
                url = server.make_url("/ussd/events")
                async with client.post(url, data=GOOD) as r:
                    assert r.status == 403
                async with client.post(url, data=GOOD, headers={"Authorization": "Bearer wrong"}) as r:
                    assert r.status == 403
                assert gateway.services.ussd_report(None).unmatched == []
                async with client.post(url, data=GOOD, headers={"Authorization": "Bearer s3cret"}) as r:
                    assert (r.status, await r.text()) == (200, "ok\n")
                assert [(u.service_code, u.status, u.reports) for u in gateway.services.ussd_report(None).unmatched] \
                    == [("*100#", "Incomplete", 1)]
        finally:
            await server.close()
            gateway.close()


async def test_a_pin_in_the_reports_input_reaches_no_table(world):
    """A top-up dialled with its PIN, then the report whose ``input`` holds that PIN (and whose error
    message repeats it): no table holds it."""
    world.add()
    [pin] = world.vouchers()
    _, screen = await world.phone.post("ATUid_pin", "*123#", pin)  # *123*PIN# as aggregators send it
    assert screen.startswith("END Top-up of $5.00 successful")
    status, _ = await report(world, sessionId="ATUid_pin", serviceCode="*123#", status="Success", input=pin,
                             lastAppResponse=f"END {screen}", errorMessage=f"input was {pin}")
    assert status == 200
    assert world.sql("SELECT answers FROM ussd_reports")[0][0] == 1
    await world.gateway.dialogues.settle()  # the journal's row is written behind the reply
    assert world.sql("SELECT outcome FROM ussd_journal WHERE session_id = 'ATUid_pin'")[0][0] == "completed"
    assert leaks(world.gateway.store, [pin]) == []
