"""PDU framing and text coding for the SMSC side, on top of aiosmpplib's codec.

aiosmpplib is written for the ESME side, so its PDU classes encode what an
ESME sends and decode what an SMSC sends back. Its classes are symmetric
enough to serve the SMSC too (``BindTransceiver.from_pdu`` parses a bind,
``DeliverSm.pdu()`` encodes an MO), so this module only adds what is missing:

- framing with a raw header parse: ``SmppMessage.parse_header`` raises on a
  command id or status it has no enum member for, and a server must answer
  those with ``generic_nack`` instead of dying;
- ``decode_request``: ``from_pdu`` plus the one known quirk fix (below);
- ``decode_submit``: the USSD TLVs of a submit_sm read as integers by the
  gateway's codec and taken out before ``from_pdu``, which reads them as
  ASCII text (and fails on an octet of 0x80 or more);
- long MO text split into concatenated parts by the gateway's splitter
  (``gateway.smpp.text``), because ``aiosmpplib.utils.split_sms_udh`` treats
  every non-GSM encoding as UCS-2 and returns a length-prefixed single part
  but UDH-prefixed multi parts.

aiosmpplib quirk: for a UDH with the 16-bit reference IE (0x08) ``from_pdu``
reads the reference as 4 bytes, so ``sar_msg_ref_num`` comes out as
``ref << 16 | total << 8 | seq``. ``concat_info`` undoes that.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from aiosmpplib import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SmppDataCoding,
    SmppMessage,
    SubmitSm,
    Unbind,
    UnbindResp,
)
from aiosmpplib.protocol import DeliverSmResp, PduHeader
from aiosmpplib.state import SAR_MSG_REF_NUM, SAR_SEGMENT_SEQNUM, SAR_TOTAL_SEGMENTS

from gateway.smpp import text as text_coding
from gateway.smpp.codec import HEADER, USSD_TLVS, UssdFields, split_tlvs, ussd_fields
from gateway.smpp.errors import SmppRemoteError

DC_GSM: Final = 0
DC_LATIN1: Final = 3
DC_UCS2: Final = 8
_ENCODINGS: Final = {DC_GSM: "gsm0338", DC_LATIN1: "latin_1", DC_UCS2: "ucs2"}

#: Request PDUs the simulator decodes, by command id.
REQUEST_TYPES: Final[dict[int, type[SmppMessage]]] = {
    SmppCommand.BIND_TRANSMITTER: BindTransmitter,
    SmppCommand.BIND_RECEIVER: BindReceiver,
    SmppCommand.BIND_TRANSCEIVER: BindTransceiver,
    SmppCommand.SUBMIT_SM: SubmitSm,
    SmppCommand.ENQUIRE_LINK: EnquireLink,
    SmppCommand.UNBIND: Unbind,
    SmppCommand.DELIVER_SM_RESP: DeliverSmResp,
    SmppCommand.ENQUIRE_LINK_RESP: EnquireLinkResp,
    SmppCommand.UNBIND_RESP: UnbindResp,
    SmppCommand.GENERIC_NACK: GenericNack,
}


class MalformedPdu(Exception):
    """The peer sent a PDU whose body does not decode (RemoteProtocolError)."""


@dataclass(frozen=True)
class RawHeader:
    """A PDU header as integers: any command id, even one SMPP 3.4 lacks."""

    length: int
    command_id: int
    status: int
    sequence: int


def parse_raw_header(data: bytes | bytearray | memoryview, offset: int = 0) -> RawHeader:
    return RawHeader(*HEADER.unpack_from(data, offset))


def decode_request(pdu: bytes, header: RawHeader) -> SmppMessage:
    """Decode one PDU of a type in ``REQUEST_TYPES`` with aiosmpplib.

    Raises:
        MalformedPdu: the body does not fit the command (truncated, missing
            NUL, unknown TON/NPI or data_coding, undecodable text).
    """
    cls = REQUEST_TYPES[header.command_id]
    try:
        status = SmppCommandStatus(header.status)
    except ValueError:
        status = SmppCommandStatus.ESME_RUNKNOWNERR
    parsed = PduHeader(header.length, SmppCommand(header.command_id), status, header.sequence)
    try:
        return cls.from_pdu(pdu, parsed, default_encoding="gsm0338")
    except (ValueError, struct.error, UnicodeError, LookupError, IndexError, KeyError) as exc:
        raise MalformedPdu(f"{SmppCommand(header.command_id).name.lower()}: {exc}") from None


def decode_submit(pdu: bytes, header: RawHeader) -> tuple[SmppMessage, UssdFields | None]:
    """A submit_sm and its USSD TLVs (None: an SMS).

    Raises:
        MalformedPdu: as ``decode_request``, or a USSD TLV of the wrong length.
    """
    try:
        rest, taken = split_tlvs(pdu, USSD_TLVS)
        fields = ussd_fields(taken)
    except SmppRemoteError as exc:
        raise MalformedPdu(f"submit_sm: {exc}") from None
    return decode_request(rest, RawHeader(len(rest), header.command_id, header.status, header.sequence)), fields


def generic_nack(sequence: int, status: SmppCommandStatus) -> bytes:
    data: bytes = GenericNack(sequence_num=sequence, command_status=status).pdu()
    return data


@dataclass(frozen=True)
class ConcatInfo:
    """Where one part of a multipart message belongs."""

    reference: int
    total: int
    index: int


def concat_info(message: SubmitSm) -> ConcatInfo | None:
    """The multipart reference of a submit_sm (UDH or sar_* TLVs), if any."""
    ref = total = index = None
    for param in message.optional_params or ():
        if param.tag == SAR_MSG_REF_NUM:
            ref = int(param.value)
        elif param.tag == SAR_TOTAL_SEGMENTS:
            total = int(param.value)
        elif param.tag == SAR_SEGMENT_SEQNUM:
            index = int(param.value)
    if ref is None or total is None or index is None or total < 2:
        return None
    if message.esm_class & 0x40 and ref > 0xFF:
        ref >>= 16  # 16-bit reference IE misread as 4 bytes (see module docstring)
    return ConcatInfo(ref, total, index)


def data_coding_of(message: SubmitSm) -> int:
    """The data_coding the message arrived with (aiosmpplib keeps a codec name)."""
    return SmppDataCoding[message.encoding].value if message.encoding else DC_GSM


def choose_data_coding(text: str) -> int:
    """GSM 7-bit when every character has a GSM code, UCS-2 otherwise (Khmer)."""
    return text_coding.preferred_coding(text)


def encode_text(text: str, data_coding: int) -> bytes:
    """Raises ValueError for an unsupported data_coding, UnicodeError for text it cannot carry."""
    return text_coding.encode(text, data_coding)


def deliver_parts(
    source: str, destination: str, text: str, data_coding: int, reference: int
) -> list[DeliverSm]:
    """MO text as one or more deliver_sm (esm_class 0x40 and a UDH when long)."""
    parts = text_coding.split(text, data_coding, reference)
    encoding = _ENCODINGS[data_coding]
    out = []
    for part in parts:
        pdu = DeliverSm(
            short_message=text or " ",
            source=PhoneNumber(source),
            destination=PhoneNumber(destination),
            esm_class=0x40 if len(parts) > 1 else 0,
            registered_delivery=0,
            encoding=None if data_coding == DC_GSM else encoding,
        )
        pdu.set_encoded_message(part if part else b"")
        out.append(pdu)
    return out
