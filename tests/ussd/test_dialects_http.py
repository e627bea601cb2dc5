"""Every aggregator dialect over real HTTP on 127.0.0.1: whole dialogues, resends, closes, bad and unauthorised
requests.

One gateway serves all five dialects (``[http] dialects``); each test runs
once per dialect (and the dialogues once per backend). Replies are read back
as ``CON …`` / ``END …`` (``screen_of``), so every dialect meets the very
screens ``POST /ussd`` is held to in test_selfcare_http.py.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import structlog

from gateway.config import HTTP_DIALECTS, ConfigError, OperatorSettings
from gateway.domain.money import parse_amount
from gateway.logs import configure_logging
from gateway.ussd.dialects import JSON_DIALECTS
from gateway.ussd.web import DIALECTS
from tests.support.backends import BACKENDS, database_url
from tests.support.ussd import ME, OTHER, DialectPhone, World, dialect_request, make_settings, screen_of, serving

LATEST = sorted(JSON_DIALECTS)  # the dialects that send only the latest answer


@pytest.fixture(params=BACKENDS)
async def gw(request: pytest.FixtureRequest, tmp_path: Path, clock):
    """One gateway with every dialect mounted, once on each backend."""
    settings = make_settings(tmp_path / "gw.db", database_url(request), dialects=HTTP_DIALECTS)
    async with serving(settings, clock, tmp_path) as world:
        yield world


@pytest.fixture(params=["sqlite"])
async def gw_sqlite(request: pytest.FixtureRequest, tmp_path: Path, clock):
    """The same on SQLite alone: for refusals that never reach the database."""
    settings = make_settings(tmp_path / "gw.db", "", dialects=HTTP_DIALECTS)
    async with serving(settings, clock, tmp_path) as world:
        yield world


def phone(world: World, dialect: str, **headers: str) -> DialectPhone:
    return DialectPhone(dialect, world.phone.server, world.phone.client, headers)


def topups(world: World) -> int:
    return int(world.sql("SELECT COUNT(*) FROM topups")[0][0])


def test_the_settings_name_the_dialects_served():
    """``[http] dialects`` is checked against the names of the codecs mounted here."""
    assert DIALECTS == HTTP_DIALECTS


@pytest.mark.parametrize("dialect", HTTP_DIALECTS)
class TestDialogues:
    async def test_balance_at_once_and_from_the_menu_in_english_and_khmer(self, gw, dialect):
        gw.add()
        gw.add(OTHER, language="km")
        p = phone(gw, dialect)
        assert await p.dial("*124#") == ["END Main balance: $6.00, valid until 01/12/2026."]
        screens = await p.dial("*100#", "1", msisdn=OTHER)
        assert screens[0].startswith("CON សេវាអតិថិជន Smart")
        assert screens[-1].startswith("END សមតុល្យចម្បង៖ $6.00")
        assert len(screens) == 2

    async def test_direct_dial_top_up_and_its_resend_credit_once(self, gw, dialect):
        """``*123*PIN#`` whole on the first request tops up; the same request again gets the same screen."""
        gw.add()
        [pin] = gw.vouchers()
        p = phone(gw, dialect)
        first = await p.step("dd1", f"*123*{pin}#")
        assert first == "END Top-up of $5.00 successful. Balance: $11.00, valid until 01/12/2026."
        assert await p.step("dd1", f"*123*{pin}#") == first
        assert topups(gw) == 1
        assert (await p.dial("*124#"))[0].startswith("END Main balance: $11.00")

    async def test_menu_top_up_and_a_resent_pin_credit_once(self, gw, dialect):
        gw.add()
        [pin] = gw.vouchers()
        p = phone(gw, dialect)
        screens = await p.dial("*100#", "2", "1", pin, session_id="mt1")
        assert screens[2] == "CON Enter the card PIN:\n0 Back"
        assert screens[3] == "END Top-up of $5.00 successful. Balance: $11.00, valid until 01/12/2026."
        assert await p.step("mt1", "*100#", "2", "1", pin) == screens[3]  # the aggregator resends
        assert topups(gw) == 1

    async def test_gift_top_up_of_another_number(self, gw, dialect):
        gw.add()
        gw.add(OTHER)
        pins = gw.vouchers(2)
        p = phone(gw, dialect)
        screens = await p.dial("*100#", "2", "2", "098765432", pins[0])
        assert screens[-1] == "END Top-up of $5.00 sent to 098765432."
        assert await p.dial(f"*123*{pins[1]}*098765432#") == ["END Top-up of $5.00 sent to 098765432."]
        view = gw.gateway.services.check_balance(OTHER)
        assert view.main.minor == parse_amount("16.00", gw.gateway.profile.currency).minor

    async def test_lost_sim_from_another_phone(self, gw, dialect):
        gw.add(ME, id_number="N123456")
        gw.add(OTHER)
        p = phone(gw, dialect)
        screens = await p.dial("*100#", "3", "012345678", "N123456", "1", msisdn=OTHER)
        assert screens[3] == "CON Block the SIM of 012345678 now?\n1 Yes\n2 No\n0 Back"
        assert screens[-1].startswith("END SIM of 012345678 blocked at ") and "Reference: LS-" in screens[-1]
        assert (await p.dial("*124#"))[-1].startswith("END This SIM is reported lost.")

    async def test_marketing_consent_stop_and_restart(self, gw, dialect):
        gw.add()
        p = phone(gw, dialect)
        screens = await p.dial("*100#", "4", "1")
        assert screens[2].startswith("END You will no longer receive marketing messages.")
        screens = await p.dial("*100#", "4", "2")
        assert screens[1].startswith("CON You do not receive Smart offers.")
        assert screens[2].startswith("END You will receive Smart offers again.")
        assert await p.dial("*1204#") == [
            "END You will no longer receive marketing messages. To get them again, send START to 1204."]

    async def test_wrong_choice_back_and_home(self, gw, dialect):
        gw.add()
        screens = await phone(gw, dialect).dial("*100#", "7", "2", "2", "0", "00")
        assert screens[1].startswith("CON Invalid choice.\nSmart self-care")
        assert screens[3].startswith("CON Enter the number to top up")
        assert screens[4].startswith("CON Top up\n1 My number")
        assert screens[5].startswith("CON Smart self-care")


@pytest.mark.parametrize("dialect", HTTP_DIALECTS)
@pytest.mark.parametrize("language", ["en", "ne"])
async def test_smart_np_in_english_and_nepali(tmp_path, clock, dialect, language):
    """The smart-np profile over every dialect: the balance at once and a top-up from the menu."""
    settings = dataclasses.replace(make_settings(tmp_path / "gw.db", dialects=HTTP_DIALECTS),
                                   operator=OperatorSettings(profile="smart-np"))
    async with serving(settings, clock, tmp_path) as world:
        number = "9779801234567"
        world.add(number, balance="500", language=language)
        [pin] = world.vouchers(amount="100")
        p = phone(world, dialect)
        [balance] = await p.dial("*124#", msisdn=number)
        screens = await p.dial("*100#", "2", "1", pin, msisdn=number)
    devanagari = any("\u0900" <= ch <= "\u097f" for ch in balance + screens[0] + screens[-1])
    assert devanagari == (language == "ne")
    assert balance.startswith("END ") and "500.00" in balance
    assert screens[-1].startswith("END ") and "600.00" in screens[-1]


@pytest.mark.parametrize("dialect", LATEST)
async def test_each_reply_carries_the_dialects_fields(gw_sqlite, dialect):
    """The reply is JSON in the dialect's shape, echoing what it must (DESIGN.md's table)."""
    gw_sqlite.add()
    p = phone(gw_sqlite, dialect)
    body = dialect_request(dialect, "shape1", ME, "*100#", ())
    status, text = await p.send(body)
    assert status == 200
    reply = json.loads(text)
    expected = {
        "hubtel": {"SessionId": "shape1", "Type": "Response", "DataType": "input", "FieldType": "text",
                   "ClientState": "", "Label": "Smart self-care"},
        "nalo": {"USERID": "SELFCARE", "MSISDN": ME, "MSGTYPE": True},
        "arkesel": {"sessionID": "shape1", "userID": "SELFCARE", "msisdn": ME, "continueSession": True},
        "madapi": {"statusCode": "0000", "transactionId": "shape1"},
    }[dialect]
    assert {k: reply[k] for k in expected} == expected
    if dialect == "madapi":
        assert reply["data"]["serviceCode"] == "*100#" and reply["data"]["msisdn"] == ME
    assert screen_of(dialect, reply).startswith("CON Smart self-care\n1 Balance")


@pytest.mark.parametrize("dialect", LATEST)
async def test_no_pin_or_id_number_in_the_rows_or_the_logs(gw, dialect):
    """A PIN dialled whole (``*123*PIN#``) or typed, an ID number typed: kept sealed, never in clear."""
    gw.add()
    gw.add(OTHER, id_number="KH-445566")
    direct, typed = gw.vouchers(2)
    p = phone(gw, dialect)
    stream = io.StringIO()
    configure_logging("debug", "json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        assert (await p.dial(f"*123*{direct}#"))[-1].startswith("END Top-up of $5.00 successful")
        assert (await p.dial("*100#", "2", "1", typed))[-1].startswith("END Top-up of $5.00 successful")
        assert "blocked" in (await p.dial("*100#", "3", "098765432", "KH-445566", "1"))[-1]
        await gw.gateway.dialogues.settle()
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    kept = " ".join(str(v) for r in gw.sql("SELECT * FROM ussd_sessions") for v in r)
    kept += " ".join(str(r[0]) for r in gw.sql("SELECT request_key FROM topups"))
    logged = stream.getvalue()
    assert gw.sql("SELECT COUNT(*) FROM ussd_sessions")[0][0] >= 3 and "ussd_turn" in logged
    for secret in (direct, typed, "445566"):
        assert secret not in kept and secret not in logged


async def test_hubtel_resend_of_a_step_in_the_middle_is_not_a_second_answer(gw):
    """The same Sequence again gets the same screen, and the path does not take the answer twice."""
    gw.add()
    p = phone(gw, "hubtel")
    await p.step("hm1", "*100#")
    top_up = await p.step("hm1", "*100#", "2")
    assert top_up.startswith("CON Top up\n1 My number")
    assert await p.step("hm1", "*100#", "2") == top_up  # Sequence 2 once more
    assert await p.step("hm1", "*100#", "2", "1") == "CON Enter the card PIN:\n0 Back"


OFFERS = {"en": "CON Continue where you left off?\n1 Continue\n2 Start again",
          "km": "CON បន្តពីកន្លែងដែលអ្នកបានឈប់?\n1 បន្ត\n2 ចាប់ផ្ដើមម្ដងទៀត"}
#: How each dialect loses a dialogue: the network's timeout where it says so, else silence.
TIMEOUTS = {"hubtel": {"Type": "Timeout"}, "madapi": {"messageType": 5}}


@pytest.mark.parametrize("dialect", LATEST)
@pytest.mark.parametrize("language", ["en", "km"])
async def test_a_dialogue_cut_off_is_offered_back(gw, dialect, language):
    """Cut off on the top-up menu, dialled again: Continue goes back there; then the top-up, once."""
    gw.add(language=language)
    [pin] = gw.vouchers()
    p = phone(gw, dialect)
    await p.step("cut1", "*100#")
    top_up = await p.step("cut1", "*100#", "2")
    if dialect in TIMEOUTS:
        status, _ = await p.send({**dialect_request(dialect, "cut1", ME, "*100#", ("2",)), "Message": "",
                                  "ussdString": "", **TIMEOUTS[dialect]})
        assert status == 200
    await gw.gateway.dialogues.settle()
    gw.clock.advance(timedelta(seconds=40))
    assert await p.step("cut2", "*100#") == OFFERS[language]
    assert await p.step("cut2", "*100#", "1") == top_up
    assert (await p.step("cut2", "*100#", "1", "1")).startswith("CON ")
    assert (await p.step("cut2", "*100#", "1", "1", pin)).startswith("END ")
    assert gw.gateway.services.check_balance(ME).main.minor == 1100


# --- closes ------------------------------------------------------------------------------

CLOSES = [("hubtel", {"Type": "Release"}), ("hubtel", {"Type": "Timeout"}), ("madapi", {"messageType": 2}),
          ("madapi", {"messageType": "4"}), ("madapi", {"messageType": 5})]


@pytest.mark.parametrize(("dialect", "close"), CLOSES)
async def test_a_close_ends_the_dialogue(gw, dialect, close):
    """Release, Timeout, MADAPI end/cancel/timeout: the dialect's end-of-session reply, then no more dialogue."""
    gw.add()
    p = phone(gw, dialect)
    await p.dial("*100#", "2", session_id="c1")
    status, text = await p.send({**dialect_request(dialect, "c1", ME, "*100#", ("2",)), "Message": "",
                                 "ussdString": "", **close})
    assert status == 200
    reply = json.loads(text)
    assert screen_of(dialect, reply) == "END "
    after = await p.step("c1", "*100#", "2", "1")
    assert after == "END Your session has expired. Please dial *100# again."


# --- refusals ---------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", LATEST)
class TestRefusals:
    async def test_bad_bodies_get_400_with_a_reason(self, gw_sqlite, dialect):
        p = phone(gw_sqlite, dialect)
        url = p.server.make_url(p.path)
        good = dialect_request(dialect, "b1", ME, "*124#", ())
        cases = [
            (b"{not json", "body: not JSON"),
            (b"\xff\xfe\x00", "body: not JSON"),
            (b"[" * 2000 + b"]" * 2000, "body: not JSON"),
            (b'["a list"]', "body: expected a JSON object"),
            (b"", "body: not JSON"),
        ]
        field = {"hubtel": "SessionId", "nalo": "SESSIONID", "arkesel": "sessionID", "madapi": "sessionId"}[dialect]
        phone_field = JSON_DIALECTS[dialect].PHONE
        cases += [
            (json.dumps({k: v for k, v in good.items() if k != field}).encode(), f"{field}: missing"),
            (json.dumps({**good, field: [1]}).encode(), f"{field}: expected a string"),
            (json.dumps({**good, phone_field: "12ab"}).encode(), f"{phone_field}: not a phone number"),
        ]
        for data, reason in cases:
            async with p.client.post(url, data=data, headers={"Content-Type": "application/json"}) as r:
                assert (r.status, (await r.text())[:len(reason)]) == (400, reason), data[:40]
        async with p.client.post(url, data=b"x" * 5000) as r:
            assert r.status == 413
        assert gw_sqlite.sql("SELECT COUNT(*) FROM ussd_sessions")[0][0] == 0

    async def test_wrong_network_or_token_gets_403(self, tmp_path, clock, dialect):
        body = dialect_request(dialect, "t1", ME, "*124#", ())
        for n, (http, headers) in enumerate((({"allowed_networks": ("10.0.0.0/8",)}, {}),
                                             ({"allowed_networks": (), "token": "s3cret"}, {}),
                                             ({"allowed_networks": (), "token": "s3cret"},
                                              {"Authorization": "Bearer wrong"}))):
            settings = make_settings(tmp_path / f"gw{n}.db", dialects=(dialect,), **http)
            async with serving(settings, clock, tmp_path) as world:
                world.add()
                status, text = await phone(world, dialect, **headers).send(body)
                assert (status, text) == (403, "forbidden\n")
                if "token" in http:  # the right token passes
                    status, text = await phone(world, dialect, Authorization="Bearer s3cret").send(body)
                    assert status == 200, text
                    assert screen_of(dialect, json.loads(text)).startswith("END Main balance: $6.00")

    async def test_a_dialect_not_listed_is_not_served(self, tmp_path, clock, dialect):
        others = tuple(d for d in HTTP_DIALECTS if d != dialect)
        async with serving(make_settings(tmp_path / "gw.db", dialects=others), clock, tmp_path) as world:
            world.add()
            status, _ = await phone(world, dialect).send(dialect_request(dialect, "n1", ME, "*124#", ()))
            assert status == 404
            assert (await phone(world, others[0]).dial("*124#"))[0].startswith("END Main balance")


async def test_post_ussd_speaks_the_configured_dialect(tmp_path, clock):
    """``[http] dialect = "hubtel"``: ``POST /ussd`` takes Hubtel's JSON and answers in it."""
    async with serving(make_settings(tmp_path / "gw.db", dialect="hubtel"), clock, tmp_path) as world:
        world.add()
        body = dialect_request("hubtel", "h1", ME, "*124#", ())
        async with world.phone.client.post(world.phone.server.make_url("/ussd"), json=body) as r:
            assert r.status == 200
            assert screen_of("hubtel", await r.json()).startswith("END Main balance: $6.00")


async def test_metrics_count_requests_by_dialect(gw_sqlite):
    gw_sqlite.add()
    for dialect in ("hubtel", "madapi"):
        await phone(gw_sqlite, dialect).dial("*124#")
    await phone(gw_sqlite, "nalo").send({"USERID": "x"})
    await phone(gw_sqlite, "nalo").dial("*100#", "4")  # Nalo names no code after the first request
    async with gw_sqlite.phone.client.get(gw_sqlite.phone.server.make_url("/metrics")) as r:
        text = await r.text()
    assert 'ussd_dialect_requests_total{dialect="hubtel",outcome="ok"} 1.0' in text
    assert 'ussd_dialect_requests_total{dialect="madapi",outcome="ok"} 1.0' in text
    assert 'ussd_dialect_requests_total{dialect="nalo",outcome="bad_request"} 1.0' in text
    assert 'ussd_requests_total{outcome="end",service_code="*124#"} 2.0' in text
    assert 'ussd_requests_total{outcome="continue",service_code="*100#"} 2.0' in text


async def test_settings_built_in_code_are_checked_too(tmp_path, clock):
    """``load_settings`` refuses an unknown dialect (tests/config); settings made in code meet the same check."""
    with pytest.raises(ConfigError, match=r"^http\.dialects: unknown dialect 'vodacom'"):
        async with serving(make_settings(tmp_path / "gw.db", dialects=("hubtel", "vodacom")), clock, tmp_path):
            pass
