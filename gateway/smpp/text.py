"""SMS and USSD text as octets: the GSM 03.38 alphabet, the check, the long-SMS splitter.

aiosmpplib supplies the GSM 03.38 tables; GSM text goes out unpacked (one
septet an octet, data_coding 0), anything else (Khmer) as UCS-2 (data_coding
8). A long text is split into parts with a concatenation UDH (IEI 0x00,
8-bit reference), never crammed into one oversized ``short_message``, and
never between a GSM escape and its character or inside a surrogate pair.
The gateway's MT and the simulator's MO both split here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiosmpplib.codec import ESCAPE, GSM_BASIC_ENCODE_MAP, GSM_EXTENDED_ENCODE_MAP

DC_DEFAULT = 0
DC_LATIN1 = 3
DC_UCS2 = 8
ESM_UDHI = 0x40
#: Longest short_message (SMPP 3.4 §5.2.21).
MAX_SHORT_MESSAGE = 254
#: Octets of one SMS, and of text in each part of a concatenated one (after a 6-octet UDH), per
#: data_coding. GSM goes unpacked, one septet an octet, so its limits count septets.
LIMITS = {DC_DEFAULT: (160, 153), DC_LATIN1: (140, 134), DC_UCS2: (140, 134)}

#: GSM 03.38 as a ``str.translate`` table: each character to its septet (or escape + septet) as
#: latin-1 characters, so one C-level pass encodes a text.
_GSM_TABLE = {
    **{ord(ch): chr(ESCAPE) + chr(code) for ch, code in GSM_EXTENDED_ENCODE_MAP.items()},
    **{ord(ch): chr(code) for ch, code in GSM_BASIC_ENCODE_MAP.items()},
}
_GSM_CHARS = frozenset(GSM_BASIC_ENCODE_MAP) | frozenset(GSM_EXTENDED_ENCODE_MAP)


def is_gsm(text: str) -> bool:
    """Whether every character of ``text`` has a GSM 03.38 code (basic or extended)."""
    return _GSM_CHARS.issuperset(text)


def encode_gsm(text: str) -> bytes:
    """GSM 03.38 text as unpacked septets.

    Raises:
        UnicodeError: a character has no GSM code.
    """
    if not is_gsm(text):
        raise UnicodeEncodeError("gsm0338", text, 0, len(text), "a character has no GSM 03.38 code")
    return _septets(text)


def _septets(text: str) -> bytes:
    """``text``, every character of which has a GSM code, as unpacked septets."""
    return text.translate(_GSM_TABLE).encode("latin-1")


def preferred_coding(text: str) -> int:
    """GSM 7-bit when every character has a GSM code, UCS-2 otherwise (Khmer)."""
    return DC_DEFAULT if is_gsm(text) else DC_UCS2


def encode(text: str, data_coding: int) -> bytes:
    """``text`` in data_coding 0 (GSM, unpacked), 3 (latin-1) or 8 (UCS-2).

    Raises:
        ValueError: another data_coding. UnicodeError: the text has a character the coding lacks.
    """
    if data_coding == DC_DEFAULT:
        return encode_gsm(text)
    if data_coding == DC_UCS2:
        return text.encode("utf-16-be")
    if data_coding == DC_LATIN1:
        return text.encode("latin-1")
    raise ValueError(f"data_coding {data_coding} not supported (use 0, 3 or 8)")


def split(text: str, data_coding: int, reference: int) -> list[bytes]:
    """``text`` as one short_message, or as parts each prefixed by a concatenation UDH.

    ``reference`` (taken modulo 256) tells the phone which parts belong together.

    Raises:
        ValueError: more than 255 parts, or as ``encode``. UnicodeError: as ``encode``.
    """
    single, per_part = LIMITS[data_coding]
    whole = encode(text, data_coding)
    if len(whole) <= single:
        return [whole]
    units = [encode(ch, data_coding) for ch in text]  # an escape or a surrogate pair stays whole
    return _concatenate(units, per_part, reference)


def _concatenate(units: Sequence[bytes], per_part: int, reference: int) -> list[bytes]:
    chunks: list[bytes] = []
    current = bytearray()
    for unit in units:
        if len(current) + len(unit) > per_part:
            chunks.append(bytes(current))
            current = bytearray()
        current += unit
    if current:
        chunks.append(bytes(current))
    if len(chunks) > 255:
        raise ValueError("text too long for one concatenated SMS")
    ref = reference & 0xFF
    return [bytes((5, 0x00, 3, ref, len(chunks), i + 1)) + chunk for i, chunk in enumerate(chunks)]


@dataclass(frozen=True)
class EncodedSms:
    """The submit_sm payloads of one text: one entry per part (UDH included)."""

    data_coding: int
    parts: tuple[bytes, ...]

    @property
    def esm_class(self) -> int:
        return ESM_UDHI if len(self.parts) > 1 else 0


def encode_text(text: str, reference: int) -> EncodedSms:
    """An MT: GSM 7-bit (unpacked) when it can be, else UCS-2; split when long."""
    data_coding = preferred_coding(text)
    return EncodedSms(data_coding, tuple(split(text, data_coding, reference)))


def encode_ussd(text: str) -> tuple[int, bytes]:
    """A USSD screen as (data_coding, short_message): GSM 7-bit unpacked (0) when it can be, else UCS-2 (8).

    A USSD message is never concatenated: the menus keep a screen within
    ``http.screen_chars_*``, which fits one short_message.

    Raises:
        ValueError: the screen is longer than one short_message.
    """
    if is_gsm(text):  # (checked once: this runs for every screen)
        data_coding, data = DC_DEFAULT, _septets(text)
    else:
        data_coding, data = DC_UCS2, text.encode("utf-16-be")
    if len(data) > MAX_SHORT_MESSAGE:
        raise ValueError(f"USSD screen of {len(data)} octets, longer than one short_message")
    return data_coding, data
