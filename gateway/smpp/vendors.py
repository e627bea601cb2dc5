"""USSD centres over SMPP: what each vendor's TLVs mean (sans-I/O, one rule per vendor).

SMPP 3.4 leaves a USSD dialogue to the TLVs: ``ussd_service_op`` says what a
message is (1 PSSR indication: the subscriber dialled; 18 USSR confirm: an
answer; our 2 USSR request: a screen awaiting input; our 17 PSSR response:
the last screen), and each vendor names the dialogue its own way:

| vendor    | the dialogue is                                   | the subscriber hung up       |
| --------- | ------------------------------------------------- | ---------------------------- |
| `generic` | MSISDN + octet 1 of `its_session_info`            | bit 0 of `its_session_info`  |
| `sixdee`  | MSISDN + upper 15 bits of `its_session_info`      | op 0x81, or bit 0            |
| `mica`    | MSISDN + `user_message_reference`                 | op 0x81                      |
| `msisdn`  | MSISDN + service code (`destination_addr`)        | op 0x81                      |

``generic`` follows SMPP 3.4 §5.3.2.43: octet 1 is the session number, octet
2 a sequence number (bits 7..1) that a USSD centre may step on every message
and the end-of-session bit (bit 0), so only octet 1 names the dialogue. 6D
(``sixdee``) keeps a dialog id in the upper 15 bits and the end bit below it;
Mica keys on ``user_message_reference``; 0x81 is the abort code of 6D and
Mica (vumi's ``sixdee``/``mica`` processors, the public reference), taken by
the ``msisdn`` rule too. The number is part of every key: two subscribers
never share a dialogue, and a centre that numbers dialogues per link or per
subscriber stays apart. Our reply carries the same TLVs back, its
``its_session_info`` with bit 0 set on the last screen.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.smpp.codec import UssdFields
from gateway.smpp.errors import SmppRemoteError

PSSR_INDICATION = 1
USSR_REQUEST = 2
PSSR_RESPONSE = 17
USSR_CONFIRM = 18
#: The "user abort" ``ussd_service_op`` of 6D and Mica centres.
USER_ABORT = 0x81
#: Bit 0 of ``its_session_info``: the last message of a dialogue.
END_OF_SESSION = 0x0001


class Step(enum.Enum):
    """What an inbound USSD message does to its dialogue (vumi's vocabulary)."""

    NEW = "new"  # the subscriber dialled: short_message is the dial string
    RESUME = "resume"  # an answer to our last screen
    CLOSE = "close"  # the subscriber hung up (or the network ended the dialogue)


class Key(enum.Enum):
    """Which field names a dialogue, beside the subscriber's number."""

    SESSION_NUMBER = "its_session_info octet 1"
    DIALOG_ID = "its_session_info upper 15 bits"
    MESSAGE_REFERENCE = "user_message_reference"
    SERVICE_CODE = "destination_addr"


@dataclass(frozen=True)
class Inbound:
    """One USSD deliver_sm as the dialogues see it."""

    step: Step
    #: The dialogue's key (``smpp:`` + this is the session id given to the dialogues).
    key: str


@dataclass(frozen=True)
class VendorRule:
    name: str
    key: Key
    #: ``ussd_service_op`` values by which the centre says the subscriber hung up.
    aborts: frozenset[int]
    #: The centre sets bit 0 of ``its_session_info`` when it ends the dialogue.
    end_bit: bool

    def read(self, fields: UssdFields, source: str, destination: str) -> Inbound | None:
        """The step and key of a deliver_sm; None for a ``ussd_service_op`` no rule gives a meaning.

        Raises:
            SmppRemoteError: the TLV that names the dialogue is missing.
        """
        key = f"{source}/{self._dialogue(fields, destination)}"
        op = fields.service_op
        if op in self.aborts or (self.end_bit and fields.session_info is not None
                                 and fields.session_info & END_OF_SESSION):
            return Inbound(Step.CLOSE, key)
        if op == PSSR_INDICATION:
            return Inbound(Step.NEW, key)
        if op == USSR_CONFIRM:
            return Inbound(Step.RESUME, key)
        return None

    def _dialogue(self, fields: UssdFields, destination: str) -> str:
        if self.key is Key.SERVICE_CODE:  # "123", "*123#" or "*123*PIN#": the code is the first segment
            return destination.strip().lstrip("*").rstrip("#").split("*")[0] or destination
        if self.key is Key.MESSAGE_REFERENCE:
            if fields.user_message_reference is None:
                raise SmppRemoteError(f"user_message_reference missing (ussd_vendor {self.name})")
            return str(fields.user_message_reference)
        if fields.session_info is None:
            raise SmppRemoteError(f"its_session_info missing (ussd_vendor {self.name})")
        if self.key is Key.SESSION_NUMBER:
            return str(fields.session_info >> 8)
        return str(fields.session_info >> 1)

    @staticmethod
    def reply(fields: UssdFields, end: bool) -> UssdFields:
        """The TLVs of our answer to a message that carried ``fields``: USSR request or PSSR response,
        the same session info (bit 0 set on the last screen) and message reference."""
        info = fields.session_info
        if info is not None:
            info = info | END_OF_SESSION if end else info & ~END_OF_SESSION
        return UssdFields(PSSR_RESPONSE if end else USSR_REQUEST, info, fields.user_message_reference)


VENDORS: dict[str, VendorRule] = {
    "generic": VendorRule("generic", Key.SESSION_NUMBER, frozenset(), end_bit=True),
    "sixdee": VendorRule("sixdee", Key.DIALOG_ID, frozenset({USER_ABORT}), end_bit=True),
    "mica": VendorRule("mica", Key.MESSAGE_REFERENCE, frozenset({USER_ABORT}), end_bit=False),
    "msisdn": VendorRule("msisdn", Key.SERVICE_CODE, frozenset({USER_ABORT}), end_bit=False),
}
