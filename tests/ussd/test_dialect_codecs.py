"""The JSON dialects' codecs, from the request and reply shapes of DESIGN.md ("USSD over HTTP")."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.ussd.dialects import JSON_DIALECTS, Closed, arkesel, hubtel, madapi, nalo
from gateway.ussd.request import BadRequest, Close, LatestRequest
from menus.tree import Reply

MORE = Reply("Main menu\n1 Balance\n2 Top-up", end=False)
DONE = Reply("Your balance is $6.00.", end=True)


def _hubtel(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {"Type": "Initiation", "Mobile": "85512345678", "SessionId": "a1b2",
                               "ServiceCode": "100", "Message": "*100#", "Operator": "smart",
                               "Sequence": 1, "ClientState": ""}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def _nalo(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {"USERID": "NALOTest", "MSISDN": "85512345678", "USERDATA": "*100#",
                               "MSGTYPE": True, "NETWORK": "SMART", "SESSIONID": "16590"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def _arkesel(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {"sessionID": "ark-77", "userID": "ARK01", "newSession": True,
                               "msisdn": "85512345678", "userData": "*100#", "network": "SMART"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def _madapi(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {"sessionId": "mtn-5", "messageType": 0, "msisdn": "85512345678",
                               "serviceCode": "*100#", "ussdString": "*100#"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


# --- Hubtel ---------------------------------------------------------------------------

class TestHubtel:
    def test_initiation_is_a_first_request_with_its_sequence(self):
        event = hubtel.parse(_hubtel()).event
        assert event == LatestRequest("hubtel:a1b2", "*100#", "85512345678", True, (), 1, "smart")

    def test_a_direct_dial_arrives_whole_in_message(self):
        event = hubtel.parse(_hubtel(Message="*123*4444555566#", ServiceCode="123")).event
        assert isinstance(event, LatestRequest)
        assert (event.service_code, event.first, event.answers) == ("*123#", True, ("4444555566",))

    @pytest.mark.parametrize("code", ["713", "*713#", "713#", "*713"])
    def test_service_code_with_or_without_star_and_hash(self, code):
        event = hubtel.parse(_hubtel(Type="Response", ServiceCode=code, Message="2", Sequence=2)).event
        assert isinstance(event, LatestRequest)
        assert (event.service_code, event.first, event.answers, event.sequence) == ("*713#", False, ("2",), 2)

    def test_a_shared_code_with_an_extension(self):
        """``711*2``: the code is *711#, the extension is the first segment, as on ``/ussd``."""
        event = hubtel.parse(_hubtel(ServiceCode="711*2", Message="*711*2#")).event
        assert isinstance(event, LatestRequest)
        assert (event.service_code, event.answers) == ("*711#", ("2",))
        later = hubtel.parse(_hubtel(Type="Response", ServiceCode="711*2", Message="1")).event
        assert isinstance(later, LatestRequest) and later.service_code == "*711#"

    def test_initiation_without_message_dials_the_service_code(self):
        event = hubtel.parse(_hubtel(Message="", ServiceCode="124")).event
        assert isinstance(event, LatestRequest) and (event.service_code, event.answers) == ("*124#", ())

    @pytest.mark.parametrize("kind", ["Response", "response", "RESPONSE"])
    def test_type_in_any_case(self, kind):
        event = hubtel.parse(_hubtel(Type=kind, Message="1", Sequence="3")).event
        assert isinstance(event, LatestRequest) and event.sequence == 3 and not event.first

    def test_numbers_as_numbers(self):
        event = hubtel.parse(_hubtel(Mobile=85512345678, SessionId=991, Sequence="1")).event
        assert isinstance(event, LatestRequest)
        assert (event.session_id, event.phone_number, event.sequence) == ("hubtel:991", "85512345678", 1)

    @pytest.mark.parametrize(("kind", "reason"), [("Release", Close.ABANDONED), ("Timeout", Close.TIMEOUT),
                                                  ("timeout", Close.TIMEOUT)])
    def test_release_and_timeout_close(self, kind, reason):
        parsed = hubtel.parse(_hubtel(Type=kind, Message=""))
        assert parsed.event == Closed("hubtel:a1b2", "85512345678", reason)
        assert hubtel.render(Reply("", end=True), parsed)["Type"] == "Release"

    def test_reply_to_continue_and_to_end(self):
        parsed = hubtel.parse(_hubtel(SessionId=42, ClientState="kept"))
        assert hubtel.render(MORE, parsed) == {
            "SessionId": 42, "Type": "Response", "Message": MORE.text, "Label": "Main menu",
            "DataType": "input", "FieldType": "text", "ClientState": "kept"}
        end = hubtel.render(DONE, parsed)
        assert (end["Type"], end["DataType"], end["Message"]) == ("Release", "display", DONE.text)

    @pytest.mark.parametrize(("fields", "field"), [
        ({"Type": None}, "Type"), ({"Type": "Bye"}, "Type"), ({"SessionId": None}, "SessionId"),
        ({"SessionId": ""}, "SessionId"), ({"Mobile": None}, "Mobile"), ({"Mobile": ["855"]}, "Mobile"),
        ({"Sequence": "two"}, "Sequence"), ({"Sequence": True}, "Sequence"), ({"Sequence": -1}, "Sequence"),
        ({"Message": "*#"}, "Message"), ({"Message": "hello"}, "Message"),
        ({"Message": "", "ServiceCode": ""}, "Message"), ({"Message": "", "ServiceCode": "abc"}, "ServiceCode"),
        ({"Type": "Response", "Message": None}, "Message"),
        ({"Type": "Response", "ServiceCode": "7**1"}, "ServiceCode"),
        ({"ClientState": {"a": 1}}, "ClientState"), ({"Message": "*1" * 200 + "#"}, "Message"),
    ])
    def test_bad_input_names_the_field(self, fields, field):
        with pytest.raises(BadRequest, match=f"^{field}: "):
            hubtel.parse(_hubtel(**fields))


# --- Nalo ------------------------------------------------------------------------------

class TestNalo:
    def test_first_request_carries_the_dial_string(self):
        event = nalo.parse(_nalo(USERDATA="*123*4444555566#")).event
        assert event == LatestRequest("nalo:16590", "*123#", "85512345678", True, ("4444555566",), None, "SMART")

    @pytest.mark.parametrize("dial", ["*100#", "100", "*100", "100#"])
    def test_dial_with_or_without_star_and_hash(self, dial):
        event = nalo.parse(_nalo(USERDATA=dial)).event
        assert isinstance(event, LatestRequest) and (event.service_code, event.answers) == ("*100#", ())

    @pytest.mark.parametrize("msgtype", [False, "false", "FALSE", 0, "0"])
    def test_later_requests_carry_the_latest_answer(self, msgtype):
        event = nalo.parse(_nalo(MSGTYPE=msgtype, USERDATA="2")).event
        assert event == LatestRequest("nalo:16590", "", "85512345678", False, ("2",), None, "SMART")

    @pytest.mark.parametrize("msgtype", [True, "true", 1, "1"])
    def test_msgtype_true_in_its_spellings(self, msgtype):
        event = nalo.parse(_nalo(MSGTYPE=msgtype)).event
        assert isinstance(event, LatestRequest) and event.first

    def test_an_empty_answer_is_an_answer(self):
        event = nalo.parse(_nalo(MSGTYPE=False, USERDATA="")).event
        assert isinstance(event, LatestRequest) and event.answers == ("",)

    def test_reply_echoes_userid_and_msisdn(self):
        parsed = nalo.parse(_nalo(MSISDN=85512345678, SESSIONID=16590))
        assert nalo.render(MORE, parsed) == {"USERID": "NALOTest", "MSISDN": 85512345678, "MSG": MORE.text,
                                             "MSGTYPE": True}
        assert nalo.render(DONE, parsed)["MSGTYPE"] is False

    @pytest.mark.parametrize(("fields", "field"), [
        ({"USERID": None}, "USERID"), ({"MSISDN": None}, "MSISDN"), ({"SESSIONID": ""}, "SESSIONID"),
        ({"MSGTYPE": None}, "MSGTYPE"), ({"MSGTYPE": "yes"}, "MSGTYPE"), ({"MSGTYPE": 2}, "MSGTYPE"),
        ({"USERDATA": None}, "USERDATA"), ({"USERDATA": ""}, "USERDATA"), ({"USERDATA": "*abc#"}, "USERDATA"),
        ({"MSGTYPE": False, "USERDATA": 1.5}, "USERDATA"), ({"NETWORK": []}, "NETWORK"),
    ])
    def test_bad_input_names_the_field(self, fields, field):
        with pytest.raises(BadRequest, match=f"^{field}: "):
            nalo.parse(_nalo(**fields))


# --- Arkesel ---------------------------------------------------------------------------

class TestArkesel:
    def test_new_session_carries_the_dial_string(self):
        event = arkesel.parse(_arkesel(userData="*123*4444555566*85598765432#")).event
        assert event == LatestRequest("arkesel:ark-77", "*123#", "85512345678", True,
                                      ("4444555566", "85598765432"), None, "SMART")

    def test_later_requests_carry_the_latest_answer(self):
        event = arkesel.parse(_arkesel(newSession="false", userData=3, msisdn=85512345678)).event
        assert event == LatestRequest("arkesel:ark-77", "", "85512345678", False, ("3",), None, "SMART")

    def test_reply_echoes_session_user_and_number(self):
        parsed = arkesel.parse(_arkesel(sessionID=77))
        assert arkesel.render(MORE, parsed) == {"sessionID": 77, "userID": "ARK01", "msisdn": "85512345678",
                                                "message": MORE.text, "continueSession": True}
        assert arkesel.render(DONE, parsed)["continueSession"] is False

    @pytest.mark.parametrize(("fields", "field"), [
        ({"sessionID": None}, "sessionID"), ({"userID": None}, "userID"), ({"msisdn": ""}, "msisdn"),
        ({"newSession": None}, "newSession"), ({"newSession": "maybe"}, "newSession"),
        ({"userData": None}, "userData"), ({"userData": "#"}, "userData"), ({"network": 1.0}, "network"),
    ])
    def test_bad_input_names_the_field(self, fields, field):
        with pytest.raises(BadRequest, match=f"^{field}: "):
            arkesel.parse(_arkesel(**fields))


# --- MADAPI ----------------------------------------------------------------------------

class TestMadapi:
    @pytest.mark.parametrize("kind", [0, "0"])
    def test_begin_carries_the_dial_string(self, kind):
        event = madapi.parse(_madapi(messageType=kind, ussdString="*123*4444555566#", serviceCode="123")).event
        assert event == LatestRequest("madapi:mtn-5", "*123#", "85512345678", True, ("4444555566",))

    def test_begin_without_ussd_string_dials_the_service_code(self):
        event = madapi.parse(_madapi(ussdString="", serviceCode="124")).event
        assert isinstance(event, LatestRequest) and (event.service_code, event.answers) == ("*124#", ())

    @pytest.mark.parametrize("kind", [1, "1"])
    def test_continue_carries_the_latest_answer(self, kind):
        event = madapi.parse(_madapi(messageType=kind, ussdString="1", serviceCode="100")).event
        assert event == LatestRequest("madapi:mtn-5", "*100#", "85512345678", False, ("1",))

    @pytest.mark.parametrize(("kind", "reason"), [(2, Close.ABANDONED), ("4", Close.ABANDONED),
                                                  (4, Close.ABANDONED), (5, Close.TIMEOUT), ("5", Close.TIMEOUT)])
    def test_end_cancel_and_timeout_close(self, kind, reason):
        parsed = madapi.parse(_madapi(messageType=kind, ussdString=""))
        assert parsed.event == Closed("madapi:mtn-5", "85512345678", reason)
        data = madapi.render(Reply("", end=True), parsed)["data"]
        assert isinstance(data, dict) and (data["messageType"], data["userInputRequired"]) == (2, False)

    def test_reply_shape(self):
        parsed = madapi.parse(_madapi(transactionId="tx-9"))
        assert madapi.render(MORE, parsed) == {
            "statusCode": "0000", "statusMessage": "Success", "transactionId": "tx-9",
            "data": {"inboundResponse": MORE.text, "userInputRequired": True, "messageType": 1,
                     "serviceCode": "*100#", "msisdn": "85512345678"}}
        done = madapi.render(DONE, madapi.parse(_madapi()))
        assert done["transactionId"] == "mtn-5"  # no transactionId sent: the session's
        assert done["data"] == {"inboundResponse": DONE.text, "userInputRequired": False, "messageType": 2,
                                "serviceCode": "*100#", "msisdn": "85512345678"}

    @pytest.mark.parametrize(("fields", "field"), [
        ({"sessionId": None}, "sessionId"), ({"messageType": None}, "messageType"),
        ({"messageType": 3}, "messageType"), ({"messageType": "begin"}, "messageType"),
        ({"messageType": 1.0}, "messageType"), ({"msisdn": None}, "msisdn"),
        ({"ussdString": "*x#"}, "ussdString"), ({"ussdString": "", "serviceCode": None}, "ussdString"),
        ({"messageType": 1, "ussdString": None}, "ussdString"),
        ({"messageType": 1, "serviceCode": "**"}, "serviceCode"),
        ({"transactionId": False}, "transactionId"),
    ])
    def test_bad_input_names_the_field(self, fields, field):
        with pytest.raises(BadRequest, match=f"^{field}: "):
            madapi.parse(_madapi(**fields))


# --- all of them ---------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(JSON_DIALECTS))
def test_read_reply_reads_what_render_wrote(name):
    """The inverse the test harness and the load generator read replies with."""
    codec = JSON_DIALECTS[name]
    body = {"hubtel": _hubtel(), "nalo": _nalo(), "arkesel": _arkesel(), "madapi": _madapi()}[name]
    parsed = codec.parse(body)
    for reply in (MORE, DONE, Reply("", end=True)):
        assert codec.read_reply(json.loads(json.dumps(codec.render(reply, parsed)))) == (reply.text, reply.end)


@pytest.mark.parametrize("name", sorted(JSON_DIALECTS))
@pytest.mark.parametrize("body", [{}, {"x": 1}, {"Type": None, "sessionId": {}, "USERID": [], "sessionID": 1.5}])
def test_any_wrong_body_is_a_bad_request_naming_a_field(name, body):
    """Never a KeyError or a TypeError (a 500): each codec reads its fields through the checked readers."""
    with pytest.raises(BadRequest, match=r"^\w+: "):
        JSON_DIALECTS[name].parse(body)


_FIELDS = ["Type", "Mobile", "SessionId", "ServiceCode", "Message", "Operator", "Sequence", "ClientState",
           "USERID", "MSISDN", "USERDATA", "MSGTYPE", "NETWORK", "SESSIONID", "sessionID", "userID",
           "newSession", "msisdn", "userData", "network", "sessionId", "messageType", "serviceCode",
           "ussdString", "transactionId"]
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=False),
                    st.sampled_from(["", "0", "1", "2", "4", "5", "true", "Initiation", "Response", "Release",
                                     "Timeout", "*123*1#", "100", "85512345678", "x" * 300]),
                    st.text(max_size=8), st.lists(st.integers(), max_size=2))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine is not a failure
@given(st.sampled_from(sorted(JSON_DIALECTS)), st.dictionaries(st.sampled_from(_FIELDS), _VALUES))
def test_any_json_object_parses_or_is_a_bad_request(name, body):
    codec = JSON_DIALECTS[name]
    try:
        parsed = codec.parse(body)
    except BadRequest:
        return
    json.dumps(codec.render(MORE, parsed))  # and the reply is JSON
    assert isinstance(parsed.event, (LatestRequest, Closed))
