"""SMPP bodies on the wire: inbound deliver_sm bodies, receipts, the USSD TLVs, decoding by data_coding.

Sans-I/O: bytes in, values out. Outbound text (the GSM alphabet, UCS-2, the
long-SMS splitter) is ``gateway.smpp.text``; the rest is here because
aiosmpplib gets it wrong:

- inbound bodies are parsed here (``parse_sm_body``): UDH with IEI 0x00 *and*
  0x08, the ``sar_*`` TLVs, ``message_payload`` in place of
  ``short_message``, and every TLV kept as raw bytes (aiosmpplib decodes
  ``ussd_service_op`` and ``its_session_info`` as text and fails on them);
  up to three stray octets after the last TLV are ignored, not refused;
- every data_coding of SMPP 3.4 §5.2.19 is read in its alphabet (``alphabet``);
- the USSD TLVs are integers both ways (``IntParam``, ``ussd_fields``):
  aiosmpplib types ``ussd_service_op`` (0x0501) and ``its_session_info``
  (0x1383) as ASCII text, so an octet of 0x80 or more cannot be encoded or
  read and a trailing 0x00 is stripped (session info 0x0200 reads as 0x02).
  ``user_message_reference`` (0x0204) it gets right; it is read the same way
  here, from the raw octets, so all three take one path.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from aiosmpplib import OptionalParam
from aiosmpplib.codec import GSM7BitCodec

from gateway.smpp.errors import SmppRemoteError
from gateway.smpp.text import ESM_UDHI

ESM_RECEIPT_MASK = 0x3C
ESM_RECEIPT = 0x04

TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_USER_MESSAGE_REFERENCE = 0x0204
TLV_USSD_SERVICE_OP = 0x0501
TLV_ITS_SESSION_INFO = 0x1383
#: A PDU header: command_length, command_id, command_status, sequence_number (SMPP 3.4 §3.2).
HEADER = struct.Struct("!IIII")
HEADER_LENGTH = HEADER.size
#: Longest PDU taken from a peer (a 64 KiB message_payload plus fields): a longer length in a
#: header ends the link before its body is read, so a hostile or broken peer cannot make us
#: buffer what it announces.
MAX_PDU_LENGTH = 70_000
#: The integer TLVs of USSD over SMPP and their width in octets (SMPP 3.4 §5.3.2).
USSD_TLVS = {TLV_USSD_SERVICE_OP: 1, TLV_ITS_SESSION_INFO: 2, TLV_USER_MESSAGE_REFERENCE: 2}
_TLV_NAMES = {TLV_USSD_SERVICE_OP: "ussd_service_op", TLV_ITS_SESSION_INFO: "its_session_info",
              TLV_USER_MESSAGE_REFERENCE: "user_message_reference"}
_GSM = GSM7BitCodec()
#: Alphabets of the explicit SMPP 3.4 values 0x00-0x0F (§5.2.19): a Python codec, "gsm"
#: (GSM 03.38, one septet an octet) or "octets" (binary or no codec: see ``alphabet``).
_EXPLICIT = ("gsm", "ascii", "octets", "latin-1", "octets", "shift_jis", "iso8859-5", "iso8859-8",
             "utf-16-be", "octets", "iso2022_jp", "octets", "octets", "octets", "euc_kr", "octets")
#: Bits 3..2 of the general data coding group: GSM 7-bit, 8-bit data, UCS2, reserved.
_GENERAL = ("gsm", "octets", "utf-16-be", "octets")


def alphabet(data_coding: int) -> str:
    """The alphabet user data with this data_coding is written in.

    0x00-0x0F are SMPP's explicit values (JIS X 0208 read as Shift-JIS, KS C
    5601 as EUC-KR, the way handsets send them). Above, the GSM 03.38 groups:
    00xx and 01xx general (bit 5 compressed, bits 3..2 the alphabet), 1100
    and 1101 message waiting in GSM 7-bit, 1110 in UCS2, 1111 by bit 2 (GSM
    7-bit or 8-bit). "octets" (8-bit data, pictograms, JIS X 0212, compressed
    text, reserved values) reads each octet as the Latin-1 character of the
    same number: nothing is lost and an ASCII keyword still reads as one.
    """
    data_coding &= 0xFF
    group = data_coding >> 4
    if data_coding < 0x10:
        return _EXPLICIT[data_coding]
    if group < 0x8:
        return "octets" if data_coding & 0x20 else _GENERAL[(data_coding >> 2) & 0x3]
    if group in (0xC, 0xD):
        return "gsm"
    if group == 0xE:
        return "utf-16-be"
    if group == 0xF:
        return "octets" if data_coding & 0x04 else "gsm"
    return "octets"  # 1000..1011: reserved


def decode_text(data: bytes, data_coding: int) -> str:
    """Text of an inbound message by its data_coding; undecodable octets become '?' or U+FFFD."""
    name = alphabet(data_coding)
    if name == "gsm":
        try:
            return str(_GSM.decode(data, "strict")[0])
        except UnicodeDecodeError:
            return data.decode("latin-1")  # SMSCs whose default alphabet is Latin-1
    if name == "octets":
        return data.decode("latin-1")
    return data.decode(name, errors="replace")


@dataclass(frozen=True)
class Segment:
    """Where one part sits in a concatenated message."""

    reference: int
    total: int
    seq: int


@dataclass(frozen=True)
class SmBody:
    """The fields of a deliver_sm (or submit_sm) body we use; TLVs as raw bytes."""

    service_type: str
    source: str
    destination: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    payload: bytes  # user data without UDH (message_payload when present)
    segment: Segment | None
    tlvs: dict[int, bytes] = field(default_factory=dict)
    #: Octets after the last optional parameter, too few to be one; ignored.
    trailing: int = 0

    @property
    def is_receipt(self) -> bool:
        return self.esm_class & ESM_RECEIPT_MASK == ESM_RECEIPT


def _cstring(body: bytes, at: int) -> tuple[str, int]:
    end = body.index(b"\x00", at)
    return body[at:end].decode("latin-1"), end + 1


def _mandatory(body: bytes) -> tuple[str, str, str, int, int, int, bytes, int]:
    """The mandatory fields of a submit_sm or deliver_sm body and the offset of its first TLV.

    Raises IndexError, ValueError or SmppRemoteError on a truncated body.
    """
    service_type, at = _cstring(body, 0)
    at += 2
    source, at = _cstring(body, at)
    at += 2
    destination, at = _cstring(body, at)
    esm_class = body[at]
    at += 3
    _, at = _cstring(body, at)  # schedule_delivery_time
    _, at = _cstring(body, at)  # validity_period
    registered_delivery = body[at]
    data_coding = body[at + 2]
    sm_length = body[at + 4]
    at += 5
    short_message = body[at:at + sm_length]
    if len(short_message) != sm_length:
        raise SmppRemoteError("short_message truncated")
    return (service_type, source, destination, esm_class, registered_delivery, data_coding,
            short_message, at + sm_length)


def parse_sm_body(body: bytes) -> SmBody:
    """Parse a deliver_sm body (the PDU after its 16-octet header).

    Raises:
        SmppRemoteError: the body is truncated or malformed.
    """
    try:
        (service_type, source, destination, esm_class, registered_delivery, data_coding,
         short_message, at) = _mandatory(body)
        tlvs: dict[int, bytes] = {}
        while at + 4 <= len(body):
            tag, length = struct.unpack_from("!HH", body, at)
            tlvs[tag] = body[at + 4:at + 4 + length]
            at += 4 + length
        if at > len(body):
            raise SmppRemoteError("optional parameters truncated")
        trailing = len(body) - at  # under 4 octets: no TLV, padding some SMSCs add
    except (IndexError, ValueError, struct.error) as exc:
        raise SmppRemoteError(f"malformed deliver_sm body: {exc}") from None
    payload = tlvs.get(TLV_MESSAGE_PAYLOAD, short_message)
    segment = None
    if esm_class & ESM_UDHI and payload:
        segment, payload = split_udh(payload)
    elif TLV_SAR_MSG_REF_NUM in tlvs:
        segment = Segment(
            int.from_bytes(tlvs[TLV_SAR_MSG_REF_NUM], "big"),
            int.from_bytes(tlvs.get(TLV_SAR_TOTAL_SEGMENTS, b"\x01"), "big"),
            int.from_bytes(tlvs.get(TLV_SAR_SEGMENT_SEQNUM, b"\x01"), "big"),
        )
    if segment is not None and (segment.total < 1 or not 1 <= segment.seq <= segment.total):
        raise SmppRemoteError(f"bad segment numbering {segment}")
    if segment is not None and segment.total == 1:
        segment = None
    return SmBody(service_type, source, destination, esm_class, data_coding,
                  registered_delivery, payload, segment, tlvs, trailing)


def split_tlvs(pdu: bytes, tags: Collection[int]) -> tuple[bytes, dict[int, bytes]]:
    """A whole submit_sm or deliver_sm PDU without the TLVs ``tags``, and their raw values.

    For a decoder that cannot read those TLVs (aiosmpplib's ``from_pdu`` and
    the USSD integers): the PDU it gets has them removed and its
    ``command_length`` set to match; nothing else changes.

    Raises:
        SmppRemoteError: the body is truncated or malformed.
    """
    body = pdu[16:]
    try:
        at = _mandatory(body)[-1]
        kept = [body[:at]]
        taken: dict[int, bytes] = {}
        while at + 4 <= len(body):
            tag, length = struct.unpack_from("!HH", body, at)
            end = at + 4 + length
            if end > len(body):
                raise SmppRemoteError("optional parameters truncated")
            if tag in tags:
                taken[tag] = body[at + 4:end]
            else:
                kept.append(body[at:end])
            at = end
        kept.append(body[at:])
    except (IndexError, ValueError, struct.error) as exc:
        raise SmppRemoteError(f"malformed body: {exc}") from None
    if not taken:
        return pdu, taken
    rest = b"".join(kept)
    return struct.pack("!I", 16 + len(rest)) + pdu[4:16] + rest, taken


def split_udh(data: bytes) -> tuple[Segment | None, bytes]:
    """Split a UDH off user data; returns the concatenation info (IEI 0x00 or 0x08), if any.

    Raises:
        SmppRemoteError: the UDH length runs past the data.
    """
    if not data:
        raise SmppRemoteError("UDHI set on empty user data")
    udh_len = data[0]
    if udh_len + 1 > len(data):
        raise SmppRemoteError("UDH longer than the message")
    udh, rest = data[1:udh_len + 1], data[udh_len + 1:]
    segment = None
    at = 0
    while at + 2 <= len(udh):
        iei, length = udh[at], udh[at + 1]
        value = udh[at + 2:at + 2 + length]
        if iei == 0x00 and length == 3 and len(value) == 3:
            segment = Segment(value[0], value[1], value[2])
        elif iei == 0x08 and length == 4 and len(value) == 4:
            segment = Segment(int.from_bytes(value[:2], "big"), value[2], value[3])
        at += 2 + length
    return segment, rest


@dataclass(frozen=True)
class Receipt:
    message_id: str
    stat: str  # DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, ACCEPTD, ENROUTE, UNKNOWN


_MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
                   6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}


def parse_receipt(body: SmBody) -> Receipt | None:
    """The message id and final state of a delivery receipt (text or TLVs)."""
    text = body.payload.decode("latin-1")
    fields: dict[str, str] = {}
    for token in text.split(" "):
        key, sep, value = token.partition(":")
        if sep and key.lower() in ("id", "stat"):
            fields[key.lower()] = value
    message_id = fields.get("id", "")
    if TLV_RECEIPTED_MESSAGE_ID in body.tlvs:
        message_id = body.tlvs[TLV_RECEIPTED_MESSAGE_ID].rstrip(b"\x00").decode("latin-1")
    stat = fields.get("stat", "").upper()
    state = body.tlvs.get(TLV_MESSAGE_STATE)
    if state:
        stat = _MESSAGE_STATES.get(state[0], stat)
    if not message_id:
        return None
    return Receipt(message_id, stat or "UNKNOWN")


# --- USSD over SMPP: the integer TLVs -----------------------------------------------------------


@dataclass
class IntParam(OptionalParam):  # type: ignore[misc]  # aiosmpplib has no type information
    """An integer optional parameter of a fixed width, encoded here.

    aiosmpplib builds a PDU's optional parameters from each one's ``tlv``;
    this subclass is where it is extended: the value is packed as an
    unsigned big-endian integer of ``width`` octets, whatever type
    aiosmpplib's own table gives the tag (text for 0x0501 and 0x1383).
    """

    width: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise ValueError(f"TLV 0x{self.tag:04x}: an integer value, got {self.value!r}")
        if not 0 <= self.tag <= 0xFFFF or self.width not in (1, 2, 4):
            raise ValueError(f"TLV 0x{self.tag:04x}: tag or width {self.width} out of range")
        if not 0 <= self.value < 1 << (8 * self.width):
            raise ValueError(f"TLV 0x{self.tag:04x}: {self.value} does not fit {self.width} octet(s)")

    @property
    def length(self) -> int:
        return self.width

    @property
    def tlv(self) -> bytes:
        return struct.pack("!HH", self.tag, self.width) + int(self.value).to_bytes(self.width, "big")


@dataclass(frozen=True)
class UssdFields:
    """The USSD TLVs of one deliver_sm or submit_sm, as integers (None: absent)."""

    service_op: int
    session_info: int | None = None
    user_message_reference: int | None = None

    def params(self) -> list[IntParam]:
        """These fields as optional parameters for an aiosmpplib PDU."""
        out = [IntParam(TLV_USSD_SERVICE_OP, self.service_op, 1)]
        if self.session_info is not None:
            out.append(IntParam(TLV_ITS_SESSION_INFO, self.session_info, 2))
        if self.user_message_reference is not None:
            out.append(IntParam(TLV_USER_MESSAGE_REFERENCE, self.user_message_reference, 2))
        return out


def _integer(tlvs: Mapping[int, bytes], tag: int) -> int | None:
    raw = tlvs.get(tag)
    if raw is None:
        return None
    if len(raw) != USSD_TLVS[tag]:
        raise SmppRemoteError(f"{_TLV_NAMES[tag]}: {len(raw)} octets, SMPP 3.4 says {USSD_TLVS[tag]}")
    return int.from_bytes(raw, "big")


def ussd_fields(tlvs: Mapping[int, bytes]) -> UssdFields | None:
    """The USSD TLVs among raw ``tlvs`` (``SmBody.tlvs``, ``split_tlvs``); None without ``ussd_service_op``.

    Raises:
        SmppRemoteError: one of them has the wrong length.
    """
    op = _integer(tlvs, TLV_USSD_SERVICE_OP)
    if op is None:
        return None
    return UssdFields(op, _integer(tlvs, TLV_ITS_SESSION_INFO), _integer(tlvs, TLV_USER_MESSAGE_REFERENCE))
