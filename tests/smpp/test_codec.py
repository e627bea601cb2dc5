"""Encodings, concatenation and deliver_sm bodies, without a network."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.smpp import codec
from gateway.smpp import text as sms_text
from gateway.smpp.errors import SmppRemoteError
from tests.support.pdus import body, tlv

KHMER = "សូមអរគុណ "  # "thank you"


def reassemble(sms: sms_text.EncodedSms) -> str:
    data = b"".join(codec.split_udh(p)[1] if len(sms.parts) > 1 else p for p in sms.parts)
    return codec.decode_text(data, sms.data_coding)


class TestEncode:
    def test_short_gsm_text_is_one_part(self) -> None:
        """A text of 160 GSM characters goes as one unsplit SMS with data_coding 0."""
        sms = sms_text.encode_text("a" * 160, 7)
        assert (sms.data_coding, len(sms.parts), sms.esm_class) == (0, 1, 0)

    def test_long_gsm_text_is_concatenated(self) -> None:
        """161 to 254 octets become UDH parts of at most 153 characters, never one oversized part."""
        sms = sms_text.encode_text("b" * 200, 0x1234)
        assert sms.esm_class == 0x40
        assert [p[:6] for p in sms.parts] == [bytes((5, 0, 3, 0x34, 2, 1)), bytes((5, 0, 3, 0x34, 2, 2))]
        assert all(len(p) <= 159 for p in sms.parts)
        assert reassemble(sms) == "b" * 200

    def test_gsm_escape_is_not_split(self) -> None:
        """A two-septet character (€) never straddles two parts."""
        sms = sms_text.encode_text("x" * 152 + "€" + "y" * 10, 1)
        assert reassemble(sms) == "x" * 152 + "€" + "y" * 10

    def test_khmer_goes_as_ucs2(self) -> None:
        """Khmer text is sent as UCS-2, split at 67 characters a part."""
        sms = sms_text.encode_text(KHMER * 20, 3)
        assert sms.data_coding == 8
        assert len(sms.parts) == 3
        assert reassemble(sms) == KHMER * 20

    @given(st.text(max_size=700))
    @example("😀" * 80)
    def test_round_trip(self, text: str) -> None:
        """Whatever the text, its parts put back together read the same."""
        assert reassemble(sms_text.encode_text(text, 9)) == text


class TestDecode:
    @pytest.mark.parametrize(("data", "dc", "text"), [
        (b"BAL", 0, "BAL"),
        (b"\x00\x11", 0, "@_"),
        ("café".encode("latin-1"), 3, "café"),
        (KHMER.encode("utf-16-be"), 8, KHMER),
        (b"caf\xe9", 0, "café"),
    ])
    def test_by_data_coding(self, data: bytes, dc: int, text: str) -> None:
        """GSM 7-bit, Latin-1 and UCS-2 read as the subscriber wrote them."""
        assert codec.decode_text(data, dc) == text


class TestDeliverSmBody:
    def test_plain(self) -> None:
        """A plain MO gives its addresses and text."""
        sm = codec.parse_sm_body(body(b"BAL"))
        assert (sm.source, sm.destination, sm.payload, sm.segment) == ("85512345678", "888", b"BAL", None)

    def test_udh_8bit_reference(self) -> None:
        """A part with a UDH IEI 0x00 says where it belongs."""
        sm = codec.parse_sm_body(body(bytes((5, 0, 3, 9, 2, 1)) + b"TOP", esm=0x40))
        assert (sm.segment, sm.payload) == (codec.Segment(9, 2, 1), b"TOP")

    def test_udh_16bit_reference(self) -> None:
        """A part with a UDH IEI 0x08 (16-bit reference) is read too (aiosmpplib drops it)."""
        sm = codec.parse_sm_body(body(bytes((6, 8, 4, 0x12, 0x34, 3, 2)) + b"xy", esm=0x40))
        assert (sm.segment, sm.payload) == (codec.Segment(0x1234, 3, 2), b"xy")

    def test_sar_tlvs(self) -> None:
        """The sar_* optional parameters mark a part as well."""
        tlvs = tlv(0x020C, b"\x00\x07") + tlv(0x020E, b"\x02") + tlv(0x020F, b"\x02")
        assert codec.parse_sm_body(body(b"end", tlvs=tlvs)).segment == codec.Segment(7, 2, 2)

    def test_message_payload_replaces_short_message(self) -> None:
        """Text in message_payload is the message."""
        sm = codec.parse_sm_body(body(tlvs=tlv(0x0424, b"LANG KM")))
        assert sm.payload == b"LANG KM"

    def test_ussd_tlvs_are_kept_as_bytes(self) -> None:
        """ussd_service_op and its_session_info are octets, not strings."""
        sm = codec.parse_sm_body(body(b"x", tlvs=tlv(0x0501, b"\x81") + tlv(0x1383, b"\xff\x01")))
        assert sm.tlvs[0x0501] == b"\x81" and sm.tlvs[0x1383] == b"\xff\x01"

    def test_truncated_body_is_the_peers_error(self) -> None:
        """A truncated body raises our remote-error type, nothing else."""
        with pytest.raises(SmppRemoteError):
            codec.parse_sm_body(body(b"BAL")[:-2])

    @pytest.mark.parametrize("stray", [b"\x00", b"\x00\x00", b"\xff\xff\xff"])
    def test_stray_bytes_after_the_optional_parameters_are_ignored(self, stray: bytes) -> None:
        """One to three octets after the last TLV (too short to be one) do not cost the message."""
        sm = codec.parse_sm_body(body(b"BAL", tlvs=tlv(0x0501, b"\x81") + stray))
        assert sm.payload == b"BAL" and sm.tlvs == {0x0501: b"\x81"} and sm.trailing == len(stray)

    def test_a_tlv_running_past_the_end_is_refused(self) -> None:
        """A TLV whose value is cut short is a damaged PDU: refused, not half-read."""
        with pytest.raises(SmppRemoteError):
            codec.parse_sm_body(body(b"", tlvs=tlv(0x0424, b"LANG KM")[:-2]))

    @given(st.binary(max_size=120))
    def test_garbage_parses_or_raises_remote_error(self, data: bytes) -> None:
        """Any bytes parse or raise SmppRemoteError."""
        try:
            codec.parse_sm_body(data)
        except SmppRemoteError:
            pass

    def test_receipt_text(self) -> None:
        """A receipt's id and stat come from its text."""
        text = b"id:abc123 sub:001 dlvrd:001 submit date:2601010000 done date:2601010000 stat:DELIVRD err:000 Text:hi"
        sm = codec.parse_sm_body(body(text, esm=0x04))
        assert sm.is_receipt and codec.parse_receipt(sm) == codec.Receipt("abc123", "DELIVRD")

    def test_receipt_tlvs(self) -> None:
        """receipted_message_id and message_state win over the text."""
        tlvs = tlv(0x001E, b"m-9\x00") + tlv(0x0427, b"\x05")
        sm = codec.parse_sm_body(body(b"", esm=0x04, tlvs=tlvs))
        assert codec.parse_receipt(sm) == codec.Receipt("m-9", "UNDELIV")


#: One data_coding of every SMPP 3.4 §5.2.19 group (and GSM 03.38 for 0x10-0xFF), with the
#: alphabet its user data is in.
GROUPS = [
    (0x00, "gsm"), (0x01, "ascii"), (0x02, "octets"), (0x03, "latin-1"), (0x04, "octets"),
    (0x05, "shift_jis"), (0x06, "iso8859-5"), (0x07, "iso8859-8"), (0x08, "ucs2"),
    (0x09, "octets"), (0x0A, "iso2022_jp"), (0x0B, "octets"), (0x0C, "octets"), (0x0D, "octets"),
    (0x0E, "euc_kr"), (0x0F, "octets"),
    (0x10, "gsm"), (0x11, "gsm"), (0x13, "gsm"),            # general group, class 0..3, GSM 7-bit
    (0x14, "octets"), (0x15, "octets"),                     # general group, 8-bit data
    (0x18, "ucs2"), (0x19, "ucs2"), (0x1A, "ucs2"), (0x1B, "ucs2"),  # general group, UCS2 with a class
    (0x0C | 0x10, "octets"),                                # general group, reserved alphabet
    (0x20, "octets"), (0x28, "octets"), (0x39, "octets"),   # compressed: the octets as they came
    (0x40, "gsm"), (0x48, "ucs2"), (0x59, "ucs2"),          # automatic deletion group (01xx)
    (0x80, "octets"), (0xB8, "octets"),                     # reserved groups 1000..1011
    (0xC0, "gsm"), (0xC8, "gsm"), (0xD3, "gsm"),            # message waiting, discard / store, GSM 7-bit
    (0xE0, "ucs2"), (0xEB, "ucs2"),                         # message waiting, store, UCS2
    (0xF0, "gsm"), (0xF3, "gsm"), (0xF4, "octets"), (0xF7, "octets"),  # data coding / message class
]

SAMPLES = {
    "gsm": (b"BAL\x00\x11", "BAL@_"),
    "ascii": (b"BAL", "BAL"),
    "octets": (b"BAL\xe9", "BAL\xe9"),
    "latin-1": (b"caf\xe9", "café"),
    "shift_jis": ("日本".encode("shift_jis"), "日本"),
    "iso8859-5": ("БАЛ".encode("iso8859-5"), "БАЛ"),
    "iso8859-8": ("שלום".encode("iso8859-8"), "שלום"),
    "ucs2": (KHMER.encode("utf-16-be"), KHMER),
    "iso2022_jp": ("日本".encode("iso2022_jp"), "日本"),
    "euc_kr": ("한국".encode("euc_kr"), "한국"),
}


class TestDataCodingGroups:
    @pytest.mark.parametrize(("dc", "alphabet"), GROUPS, ids=[f"0x{dc:02X}" for dc, _ in GROUPS])
    def test_every_group_reads_in_its_alphabet(self, dc: int, alphabet: str) -> None:
        """Each data_coding is read in the alphabet SMPP 3.4 §5.2.19 gives it (UCS-2 with a class is not Latin-1)."""
        data, text = SAMPLES[alphabet]
        assert codec.decode_text(data, dc) == text

    def test_ucs2_with_a_message_class_reads_bal(self) -> None:
        """0x18 and 0x19 (UCS-2, class 0 / 1) carrying "BAL" read as "BAL", the keyword."""
        assert codec.decode_text("BAL".encode("utf-16-be"), 0x18) == "BAL"
        assert codec.decode_text("BAL".encode("utf-16-be"), 0x19) == "BAL"

    @pytest.mark.parametrize("dc", range(256))
    def test_no_data_coding_fails(self, dc: int) -> None:
        """Every one of the 256 values gives some text, whatever the octets."""
        assert isinstance(codec.decode_text(bytes(range(256)), dc), str)
