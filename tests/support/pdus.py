"""Raw SMPP for codec tests: a deliver_sm body and a TLV built byte by byte, and a USSD submit_sm as
aiosmpplib writes it."""

from __future__ import annotations

import struct

from aiosmpplib import PhoneNumber, SubmitSm

from gateway.smpp import codec

#: The subscriber of the USSD PDUs.
ME = "85512345678"


def body(short_message: bytes = b"", *, esm: int = 0, dc: int = 0, tlvs: bytes = b"",
         src: str = "85512345678", dst: str = "888") -> bytes:
    return (b"\x00" + bytes((1, 1)) + src.encode() + b"\x00" + bytes((0, 0)) + dst.encode()
            + b"\x00" + bytes((esm, 0, 0)) + b"\x00\x00" + bytes((0, 0, dc, 0, len(short_message)))
            + short_message + tlvs)


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack("!HH", tag, len(value)) + value


def submit(fields: codec.UssdFields, text: bytes = b"hi") -> bytes:
    message = SubmitSm(short_message=" ", source=PhoneNumber("124"), destination=PhoneNumber(ME),
                       optional_params=fields.params())
    message.set_encoded_message(text)
    message.sequence_num = 7
    pdu: bytes = message.pdu()
    return pdu
