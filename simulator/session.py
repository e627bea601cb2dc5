"""One ESME connection as the SMSC sees it: a sans-I/O state machine.

Feed it the bytes read from the socket (``receive_data``); it returns events
for the shell to act on and keeps the bytes to write (``data_to_send``). It
never awaits, reads a clock or draws a random number: throttling, injected
errors and delays are the shell's policy, applied through ``answer_submit``.

The rule: a command is served only in the states listed for it below;
anything else gets its response with ``ESME_RINVBNDSTS`` (or ``ESME_RALYBND``
for a second bind). Unknown command ids and bodies that do not decode get a
``generic_nack`` and the session lives on; a ``command_length`` that cannot be
a PDU gets a ``generic_nack`` and the connection is closed (``Closed``),
because the byte stream can no longer be framed.

Transitions::

    OPEN  --bind_transmitter-->  BOUND_TX
    OPEN  --bind_receiver----->  BOUND_RX
    OPEN  --bind_transceiver-->  BOUND_TRX
    BOUND_* --unbind---------->  CLOSED   (unbind_resp sent, then close)
    any   --garbage length---->  CLOSED
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from aiosmpplib import (
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitterResp,
    DeliverSm,
    EnquireLinkResp,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
)

from gateway.smpp.codec import HEADER_LENGTH, MAX_PDU_LENGTH, UssdFields
from simulator.codec import (
    REQUEST_TYPES,
    MalformedPdu,
    RawHeader,
    decode_request,
    decode_submit,
    generic_nack,
    parse_raw_header,
)

S = SmppCommandStatus


class State(enum.Enum):
    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    CLOSED = "closed"


_BOUND: Final = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})
_BIND_STATE: Final = {
    SmppCommand.BIND_TRANSMITTER: State.BOUND_TX,
    SmppCommand.BIND_RECEIVER: State.BOUND_RX,
    SmppCommand.BIND_TRANSCEIVER: State.BOUND_TRX,
}
_BIND_RESP: Final = {
    SmppCommand.BIND_TRANSMITTER: BindTransmitterResp,
    SmppCommand.BIND_RECEIVER: BindReceiverResp,
    SmppCommand.BIND_TRANSCEIVER: BindTransceiverResp,
}
#: Commands served per state (see the module docstring).
ALLOWED: Final[dict[int, frozenset[State]]] = {
    SmppCommand.SUBMIT_SM: frozenset({State.BOUND_TX, State.BOUND_TRX}),
    SmppCommand.UNBIND: _BOUND,
    SmppCommand.DELIVER_SM_RESP: frozenset({State.BOUND_RX, State.BOUND_TRX}),
}
_REFUSAL: Final[dict[int, type[SubmitSmResp] | type[UnbindResp]]] = {
    SmppCommand.SUBMIT_SM: SubmitSmResp,
    SmppCommand.UNBIND: UnbindResp,
}


# Events ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    mode: State
    system_id: str
    address_range: str


@dataclass(frozen=True)
class BindRefused:
    system_id: str
    status: SmppCommandStatus


@dataclass(frozen=True)
class SubmitReceived:
    """The shell must call ``answer_submit(sequence, ...)`` for it, now or later."""

    sequence: int
    message: SubmitSm
    #: Its USSD TLVs (``ussd_service_op`` and the session's), as integers; None for an SMS.
    ussd: UssdFields | None = None


@dataclass(frozen=True)
class DeliverAnswered:
    sequence: int
    status: int


@dataclass(frozen=True)
class ProtocolError:
    """A PDU was refused with generic_nack; the session continues."""

    reason: str


@dataclass(frozen=True)
class Closed:
    """Close the connection once ``data_to_send`` is written."""

    reason: str


Event = Bound | BindRefused | SubmitReceived | DeliverAnswered | ProtocolError | Closed


class SmppSession:
    """Per-connection SMPP 3.4 SMSC state machine.

    Args:
        accounts: ``system_id -> password`` of every ESME allowed to bind.
        smsc_system_id: what bind responses name this SMSC as.
    """

    def __init__(self, accounts: Mapping[str, str], smsc_system_id: str = "SMSCSIM") -> None:
        self.state = State.OPEN
        self.system_id = ""
        self.address_range = ""
        self.pdus_received = 0
        self._accounts = accounts
        self._smsc_id = smsc_system_id
        self._buffer = bytearray()
        self._out: list[bytes] = []
        self._next_sequence = 1

    @property
    def can_receive(self) -> bool:
        return self.state in (State.BOUND_RX, State.BOUND_TRX)

    def data_to_send(self) -> bytes:
        """Everything queued since the last call, as one write."""
        data = b"".join(self._out)
        self._out.clear()
        return data

    def receive_data(self, data: bytes) -> list[Event]:
        """Frame and handle every complete PDU in ``data`` (plus what was buffered)."""
        if self.state is State.CLOSED:
            return []
        buf = self._buffer
        buf += data
        events: list[Event] = []
        offset = 0
        while len(buf) - offset >= HEADER_LENGTH:
            header = parse_raw_header(buf, offset)
            if not HEADER_LENGTH <= header.length <= MAX_PDU_LENGTH:
                self._out.append(generic_nack(header.sequence, S.ESME_RINVCMDLEN))
                self.state = State.CLOSED
                events.append(Closed(f"command_length {header.length} is not a PDU"))
                break
            if len(buf) - offset < header.length:
                break
            pdu = bytes(buf[offset : offset + header.length])
            offset += header.length
            self.pdus_received += 1
            event = self._handle(pdu, header)
            if event is not None:
                events.append(event)
                if isinstance(event, Closed):
                    break
        del buf[:offset]
        return events

    def answer_submit(
        self, sequence: int, status: SmppCommandStatus, message_id: str = "", *, queue: bool = True
    ) -> bytes:
        """The submit_sm_resp for a ``SubmitReceived``, queued unless ``queue`` is false.

        A shell that delays responses passes ``queue=False`` and writes the
        returned bytes itself when the delay is over.
        """
        data: bytes = SubmitSmResp(
            sequence_num=sequence, command_status=status, message_id=message_id
        ).pdu()
        if queue:
            self._out.append(data)
        return data

    def send_deliver(self, message: DeliverSm) -> int:
        """Queue a deliver_sm (MO or receipt); returns its sequence number."""
        sequence = self._next_sequence
        self._next_sequence = sequence + 1 if sequence < 0x7FFFFFFF else 1
        message.sequence_num = sequence
        self._out.append(message.pdu())
        return sequence

    def _handle(self, pdu: bytes, header: RawHeader) -> Event | None:
        command = header.command_id
        if command not in REQUEST_TYPES:
            self._out.append(generic_nack(header.sequence, S.ESME_RINVCMDID))
            return ProtocolError(f"unsupported command id 0x{command:08x}")
        allowed = ALLOWED.get(command)
        if allowed is not None and self.state not in allowed:
            self._refuse(command, header.sequence, S.ESME_RINVBNDSTS)
            return ProtocolError(f"{SmppCommand(command).name.lower()} in state {self.state.value}")
        ussd = None
        try:
            if command == SmppCommand.SUBMIT_SM:
                message, ussd = decode_submit(pdu, header)
            else:
                message = decode_request(pdu, header)
        except MalformedPdu as exc:
            self._out.append(generic_nack(header.sequence, S.ESME_RINVCMDLEN))
            return ProtocolError(str(exc))
        if command == SmppCommand.SUBMIT_SM:
            assert isinstance(message, SubmitSm)
            return SubmitReceived(header.sequence, message, ussd)
        if command == SmppCommand.DELIVER_SM_RESP:
            return DeliverAnswered(header.sequence, header.status)
        if command in _BIND_STATE:
            assert isinstance(message, BindTransceiver)
            return self._bind(command, message)
        if command == SmppCommand.ENQUIRE_LINK:
            self._out.append(EnquireLinkResp(sequence_num=header.sequence).pdu())
            return None
        if command == SmppCommand.UNBIND:
            self._out.append(UnbindResp(sequence_num=header.sequence).pdu())
            self.state = State.CLOSED
            return Closed("unbind")
        return None  # responses to our requests that need no action

    def _bind(self, command: int, bind: BindTransceiver) -> Event:
        if self.state in _BOUND:
            status = S.ESME_RALYBND
        elif bind.system_id not in self._accounts:
            status = S.ESME_RINVSYSID
        elif self._accounts[bind.system_id] != bind.password:
            status = S.ESME_RINVPASWD
        else:
            status = S.ESME_ROK
        resp = _BIND_RESP[SmppCommand(command)](
            sequence_num=bind.sequence_num, command_status=status, system_id=self._smsc_id,
            sc_interface_version=0x34 if status is S.ESME_ROK else None,
        )
        if status is not S.ESME_ROK:
            # SMPP 3.4 4.1.2: no body on an error response (smpp34 ignores one with a body).
            self._out.append(SmppMessage.pdu(resp))
            return BindRefused(bind.system_id, status)
        self._out.append(resp.pdu())
        self.state = _BIND_STATE[SmppCommand(command)]
        self.system_id = bind.system_id
        self.address_range = bind.address_range
        return Bound(self.state, bind.system_id, bind.address_range)

    def _refuse(self, command: int, sequence: int, status: SmppCommandStatus) -> None:
        resp = _REFUSAL.get(command)
        if resp is not None:  # a response PDU in the wrong state is just dropped
            self._out.append(resp(sequence_num=sequence, command_status=status).pdu())
