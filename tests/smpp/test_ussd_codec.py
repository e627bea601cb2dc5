"""The USSD TLVs as integers, byte for byte, and each vendor's rule for naming a dialogue."""

from __future__ import annotations

import struct

import pytest
from aiosmpplib import OptionalParam, PhoneNumber, SubmitSm
from aiosmpplib.protocol import PduHeader
from aiosmpplib.state import SmppCommand, SmppCommandStatus
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import USSD_VENDORS
from gateway.smpp import codec
from gateway.smpp import text as sms_text
from gateway.smpp.errors import SmppRemoteError
from gateway.smpp.vendors import VENDORS, Step
from tests.support.pdus import body, submit, tlv

ME = "85512345678"


class TestIntegersOnTheWire:
    def test_aiosmpplib_alone_cannot_carry_them(self) -> None:
        """The premise: aiosmpplib types 0x0501 and 0x1383 as ASCII text, so 0x81 cannot be encoded
        and a session info of 0x0200 comes back as one octet."""
        with pytest.raises(UnicodeEncodeError):
            OptionalParam(codec.TLV_USSD_SERVICE_OP, "\x81").tlv  # noqa: B018
        pdu = submit(codec.UssdFields(2, 0x0200))
        parsed = SubmitSm.from_pdu(pdu, PduHeader(len(pdu), SmppCommand.SUBMIT_SM, SmppCommandStatus.ESME_ROK, 7))
        assert [p.value for p in parsed.optional_params if p.tag == codec.TLV_ITS_SESSION_INFO] == ["\x02"]

    @pytest.mark.parametrize(("fields", "octets"), [
        (codec.UssdFields(0x81), b"\x05\x01\x00\x01\x81"),
        (codec.UssdFields(0x00), b"\x05\x01\x00\x01\x00"),
        (codec.UssdFields(2, 0x8000), b"\x05\x01\x00\x01\x02" + b"\x13\x83\x00\x02\x80\x00"),
        (codec.UssdFields(17, 0x00FF, 0xFF00),
         b"\x05\x01\x00\x01\x11" + b"\x13\x83\x00\x02\x00\xff" + b"\x02\x04\x00\x02\xff\x00"),
    ])
    def test_submit_sm_ends_with_the_exact_tlv_octets(self, fields: codec.UssdFields, octets: bytes) -> None:
        """aiosmpplib's PDU with our IntParam: each TLV big-endian at its SMPP width, length field right."""
        pdu = submit(fields)
        assert pdu.endswith(b"hi" + octets)
        assert struct.unpack("!I", pdu[:4])[0] == len(pdu)

    @given(op=st.integers(0, 255), info=st.none() | st.integers(0, 0xFFFF),
           ref=st.none() | st.integers(0, 0xFFFF))
    def test_what_is_encoded_is_read_back(self, op: int, info: int | None, ref: int | None) -> None:
        """Every value of every TLV survives encode → parse_sm_body → ussd_fields, 0x00 and 0x80-0xFF too."""
        fields = codec.UssdFields(op, info, ref)
        assert codec.ussd_fields(codec.parse_sm_body(submit(fields)[16:]).tlvs) == fields

    def test_raw_octets_from_a_peer_read_as_integers(self) -> None:
        raw = body(b"1", tlvs=tlv(0x0501, b"\x12") + tlv(0x1383, b"\xfe\x00") + tlv(0x0204, b"\x00\x80"))
        assert codec.ussd_fields(codec.parse_sm_body(raw).tlvs) == codec.UssdFields(18, 0xFE00, 0x0080)

    def test_no_ussd_service_op_is_no_ussd(self) -> None:
        assert codec.ussd_fields(codec.parse_sm_body(body(b"BAL", tlvs=tlv(0x1383, b"\x01\x00"))).tlvs) is None

    @pytest.mark.parametrize(("raw", "reason"), [
        (tlv(0x0501, b"\x01\x00"), "ussd_service_op: 2 octets, SMPP 3.4 says 1"),
        (tlv(0x0501, b"\x01") + tlv(0x1383, b"\x01"), "its_session_info: 1 octets, SMPP 3.4 says 2"),
        (tlv(0x0501, b"\x01") + tlv(0x0204, b""), "user_message_reference: 0 octets, SMPP 3.4 says 2"),
    ])
    def test_a_tlv_of_the_wrong_width_is_refused_by_name(self, raw: bytes, reason: str) -> None:
        with pytest.raises(SmppRemoteError, match=reason):
            codec.ussd_fields(codec.parse_sm_body(body(b"x", tlvs=raw)).tlvs)

    @pytest.mark.parametrize(("value", "width"), [(256, 1), (-1, 2), (0x10000, 2), (True, 1), ("1", 1)])
    def test_a_value_that_does_not_fit_is_refused(self, value: object, width: int) -> None:
        with pytest.raises(ValueError, match="TLV 0x0501"):
            codec.IntParam(0x0501, value, width)


class TestSplitTlvs:
    def test_the_ussd_tlvs_come_out_and_aiosmpplib_reads_the_rest(self) -> None:
        """split_tlvs takes the integer TLVs out, fixes command_length, and leaves a PDU aiosmpplib decodes."""
        pdu = submit(codec.UssdFields(2, 0x8100, 0x80FF), text=b"menu")
        rest, taken = codec.split_tlvs(pdu, codec.USSD_TLVS)
        assert taken == {0x0501: b"\x02", 0x1383: b"\x81\x00", 0x0204: b"\x80\xff"}
        assert struct.unpack("!I", rest[:4])[0] == len(rest) == len(pdu) - 5 - 6 - 6
        parsed = SubmitSm.from_pdu(rest, PduHeader(len(rest), SmppCommand.SUBMIT_SM, SmppCommandStatus.ESME_ROK, 7))
        assert (parsed.short_message, parsed.optional_params) == ("menu", [])

    def test_other_tlvs_stay_in_place(self) -> None:
        raw = struct.pack("!IIII", 0, 4, 0, 1) + body(b"x", tlvs=tlv(0x0501, b"\x02") + tlv(0x020C, b"\x00\x07"))
        rest, taken = codec.split_tlvs(raw, codec.USSD_TLVS)
        assert taken == {0x0501: b"\x02"}
        assert rest.endswith(tlv(0x020C, b"\x00\x07"))

    def test_a_pdu_without_them_is_returned_as_it_is(self) -> None:
        plain = SubmitSm(short_message="BAL", source=PhoneNumber(ME), destination=PhoneNumber("888"))
        plain.sequence_num = 3
        pdu = plain.pdu()
        assert codec.split_tlvs(pdu, codec.USSD_TLVS) == (pdu, {})

    def test_a_truncated_tlv_is_refused(self) -> None:
        raw = struct.pack("!IIII", 0, 4, 0, 1) + body(b"x") + b"\x05\x01\x00\x02\x01"
        with pytest.raises(SmppRemoteError, match="truncated"):
            codec.split_tlvs(raw, codec.USSD_TLVS)


class TestEncodeUssd:
    def test_gsm_text_goes_unpacked_in_one_short_message(self) -> None:
        assert sms_text.encode_ussd("a" * 182) == (0, b"a" * 182)
        assert sms_text.encode_ussd("$1") == (0, b"\x021")

    def test_khmer_goes_as_ucs2(self) -> None:
        dc, data = sms_text.encode_ussd("ក" * 80)
        assert (dc, len(data)) == (8, 160)

    def test_a_screen_over_one_short_message_is_refused(self) -> None:
        with pytest.raises(ValueError, match="255 octets"):
            sms_text.encode_ussd("a" * 255)


class TestVendorRules:
    def test_the_rules_are_the_vendors_the_config_accepts(self) -> None:
        assert set(VENDORS) == set(USSD_VENDORS)

    def test_generic_keys_on_octet_1_whatever_the_sequence_in_octet_2(self) -> None:
        """SMPP 3.4: octet 1 the session number, octet 2 a sequence (bits 7..1) and the end bit (bit 0)."""
        rule = VENDORS["generic"]
        dial = rule.read(codec.UssdFields(1, 0x2A00), ME, "*123#")
        answer = rule.read(codec.UssdFields(18, 0x2A06), ME, "*123#")
        hang_up = rule.read(codec.UssdFields(18, 0x2A07), ME, "*123#")
        assert dial is not None and answer is not None and hang_up is not None
        assert (dial.step, answer.step, hang_up.step) == (Step.NEW, Step.RESUME, Step.CLOSE)
        assert dial.key == answer.key == hang_up.key == f"{ME}/42"
        other = rule.read(codec.UssdFields(18, 0x2B06), ME, "*123#")
        assert other is not None and other.key == f"{ME}/43"

    def test_sixdee_keys_on_the_upper_15_bits_and_aborts_with_0x81_or_the_end_bit(self) -> None:
        rule = VENDORS["sixdee"]
        answer = rule.read(codec.UssdFields(18, 0x8100), ME, "123")
        abort = rule.read(codec.UssdFields(0x81, 0x8100), ME, "123")
        ended = rule.read(codec.UssdFields(18, 0x8101), ME, "123")
        assert answer is not None and abort is not None and ended is not None
        assert answer.key == abort.key == ended.key == f"{ME}/{0x4080}"
        assert (answer.step, abort.step, ended.step) == (Step.RESUME, Step.CLOSE, Step.CLOSE)
        neighbour = rule.read(codec.UssdFields(18, 0x8102), ME, "123")
        assert neighbour is not None and neighbour.key == f"{ME}/{0x4081}"

    def test_mica_keys_on_the_message_reference_and_the_number(self) -> None:
        rule = VENDORS["mica"]
        mine = rule.read(codec.UssdFields(18, None, 0x8000), ME, "123")
        theirs = rule.read(codec.UssdFields(18, None, 0x8000), "85598765432", "123")
        abort = rule.read(codec.UssdFields(0x81, None, 0x8000), ME, "123")
        assert mine is not None and theirs is not None and abort is not None
        assert (mine.key, theirs.key) == (f"{ME}/32768", "85598765432/32768")
        assert abort.step is Step.CLOSE
        with pytest.raises(SmppRemoteError, match="user_message_reference missing"):
            rule.read(codec.UssdFields(18, 0x0100), ME, "123")

    def test_msisdn_keys_on_the_service_code_however_it_is_written(self) -> None:
        rule = VENDORS["msisdn"]
        keys = {r.key for r in (rule.read(codec.UssdFields(1), ME, d) for d in ("*123#", "123", "*123*4#")) if r}
        assert keys == {f"{ME}/123"}
        other = rule.read(codec.UssdFields(1), ME, "*124#")
        assert other is not None and other.key == f"{ME}/124"
        abort = rule.read(codec.UssdFields(0x81), ME, "123")
        assert abort is not None and abort.step is Step.CLOSE

    @pytest.mark.parametrize("vendor", ["generic", "sixdee"])
    def test_a_missing_session_info_is_refused(self, vendor: str) -> None:
        with pytest.raises(SmppRemoteError, match=f"its_session_info missing \\(ussd_vendor {vendor}\\)"):
            VENDORS[vendor].read(codec.UssdFields(1), ME, "123")

    def test_an_op_no_rule_knows_has_no_meaning(self) -> None:
        assert VENDORS["generic"].read(codec.UssdFields(0x20, 0x0100), ME, "123") is None
        assert VENDORS["generic"].read(codec.UssdFields(0x81, 0x0100), ME, "123") is None  # not a generic abort

    def test_the_reply_carries_the_same_tlvs_with_the_end_bit_on_the_last_screen(self) -> None:
        rule = VENDORS["sixdee"]
        assert rule.reply(codec.UssdFields(18, 0x8100, 0x80), end=False) == codec.UssdFields(2, 0x8100, 0x80)
        assert rule.reply(codec.UssdFields(18, 0x8100, 0x80), end=True) == codec.UssdFields(17, 0x8101, 0x80)
        assert rule.reply(codec.UssdFields(1, None, 0x1234), end=True) == codec.UssdFields(17, None, 0x1234)
