"""The per-connection SMPP state machine, fed bytes directly (no sockets)."""

from __future__ import annotations

import struct

from aiosmpplib import BindTransceiver, BindTransmitter, EnquireLink, PhoneNumber, SubmitSm

from simulator.session import (
    BindRefused,
    Bound,
    Closed,
    ProtocolError,
    SmppSession,
    State,
    SubmitReceived,
)

ACCOUNTS = {"selfcare": "secret"}


def statuses(data: bytes) -> list[tuple[int, int]]:
    """(command_id, command_status) of every PDU in ``data``."""
    out, offset = [], 0
    while offset < len(data):
        length, command, status, _ = struct.unpack_from("!IIII", data, offset)
        out.append((command, status))
        offset += length
    return out


def bound_session() -> SmppSession:
    session = SmppSession(ACCOUNTS)
    session.receive_data(BindTransceiver(sequence_num=1, system_id="selfcare", password="secret").pdu())
    session.data_to_send()
    return session


class TestBind:
    def test_good_credentials_bind(self) -> None:
        """A bind with a configured account is accepted and the session is bound."""
        session = SmppSession(ACCOUNTS)
        events = session.receive_data(BindTransmitter(sequence_num=1, system_id="selfcare", password="secret").pdu())
        assert events == [Bound(State.BOUND_TX, "selfcare", "")]
        assert statuses(session.data_to_send()) == [(0x80000002, 0)]

    def test_wrong_password_and_unknown_system_id_are_told_apart(self) -> None:
        """A wrong password gets ESME_RINVPASWD, an unknown system id ESME_RINVSYSID."""
        session = SmppSession(ACCOUNTS)
        events = session.receive_data(BindTransceiver(sequence_num=1, system_id="selfcare", password="nope").pdu())
        assert isinstance(events[0], BindRefused)
        assert statuses(session.data_to_send()) == [(0x80000009, 0x0E)]
        session.receive_data(BindTransceiver(sequence_num=2, system_id="who", password="x").pdu())
        assert statuses(session.data_to_send()) == [(0x80000009, 0x0F)]

    def test_second_bind_is_refused_as_already_bound(self) -> None:
        """Binding again on a bound session gets ESME_RALYBND and keeps the first bind."""
        session = bound_session()
        session.receive_data(BindTransceiver(sequence_num=2, system_id="selfcare", password="secret").pdu())
        assert statuses(session.data_to_send()) == [(0x80000009, 0x05)]
        assert session.state is State.BOUND_TRX


class TestFraming:
    def test_pdu_split_across_reads_is_reassembled(self) -> None:
        """A submit_sm that arrives one byte at a time is still decoded once."""
        session = bound_session()
        data = SubmitSm(sequence_num=5, short_message="hi", destination=PhoneNumber("1")).pdu()
        events = []
        for i in range(len(data)):
            events += session.receive_data(data[i : i + 1])
        assert [type(e) for e in events] == [SubmitReceived]

    def test_submit_before_bind_is_refused_with_invalid_bind_status(self) -> None:
        """submit_sm on an unbound session gets submit_sm_resp ESME_RINVBNDSTS."""
        session = SmppSession(ACCOUNTS)
        events = session.receive_data(SubmitSm(sequence_num=3, short_message="x", destination=PhoneNumber("1")).pdu())
        assert isinstance(events[0], ProtocolError)
        assert statuses(session.data_to_send()) == [(0x80000004, 0x04)]

    def test_unknown_command_gets_generic_nack_and_session_goes_on(self) -> None:
        """An unknown command id is answered with generic_nack ESME_RINVCMDID; enquire_link still works."""
        session = bound_session()
        session.receive_data(struct.pack("!IIII", 16, 0x00000777, 0, 9) + EnquireLink(sequence_num=10).pdu())
        assert statuses(session.data_to_send()) == [(0x80000000, 0x03), (0x80000015, 0)]

    def test_absurd_length_closes_after_a_nack(self) -> None:
        """A command_length no PDU can have gets generic_nack ESME_RINVCMDLEN and a close."""
        session = bound_session()
        events = session.receive_data(struct.pack("!IIII", 0xFFFFFFF0, 4, 0, 1))
        assert isinstance(events[-1], Closed)
        assert statuses(session.data_to_send()) == [(0x80000000, 0x02)]
        assert session.receive_data(b"more") == []
