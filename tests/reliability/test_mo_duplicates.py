"""MO redelivered by the SMSC: a real ``serve`` against the raw-socket fake SMSC of test_hostile_pdus.

A ``deliver_sm`` whose ``deliver_sm_resp`` was never written (the link dropped
while the MO was being saved) is sent again by the SMSC on the next bind. The
gateway is made slow to save by holding the database's write lock from this
test, so the drop lands between the arrival of the MO and its acknowledgement.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.support.audit import file_rows
from tests.support.raw_smsc import DELIVER_SM, DELIVER_SM_RESP, FakeSmsc, deliver_body, pdu, pump
from tests.support.seed import seed
from tests.support.servers import Server
from tests.support.waiting import wait_for

UNBIND, UNBIND_RESP = 0x00000006, 0x80000006


def _serve(tmp_path: Path, server_factory, smsc: FakeSmsc, **env: str) -> Server:  # type: ignore[no-untyped-def]
    server = server_factory(tmp_path, GATEWAY_SMPP_ENABLED="true", GATEWAY_SMPP_PORT=str(smsc.port),
                            GATEWAY_SMPP_RECONNECT_MIN="0.1", GATEWAY_SMPP_RECONNECT_MAX="0.3",
                            GATEWAY_SMPP_ENQUIRE_LINK_INTERVAL="2", **env)
    server.start()
    smsc.accept()
    return server


def _drop_while_saving(smsc: FakeSmsc, server: Server, body: bytes) -> None:
    """Send ``body`` as a deliver_sm and drop the link before the gateway can save (and acknowledge) it."""
    lock = sqlite3.connect(server.db, isolation_level=None, timeout=10)
    try:
        lock.execute("BEGIN IMMEDIATE")
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), body))
        assert smsc.sock is not None
        smsc.sock.close()
        smsc.sock = None
        wait_for(lambda: "smpp_link_lost" in server.log.read_text(), 10, "the gateway to see the drop")
        lock.execute("ROLLBACK")
    finally:
        lock.close()
    smsc.accept()


def _replies(server: Server, msisdn: str) -> list[str]:
    return [r[0] for r in file_rows(server.db, "SELECT text FROM sms_outbox WHERE kind = 'reply' AND destination = ? "
                                          "ORDER BY id", msisdn)]


def _answered(server: Server, smsc: FakeSmsc, msisdn: str, count: int) -> None:
    """Wait (answering the gateway's submits) until ``msisdn`` has ``count`` replies accepted by the SMSC."""
    def done() -> bool:
        pump(smsc)
        return len(file_rows(server.db, "SELECT 1 FROM sms_outbox WHERE kind = 'reply' AND destination = ? "
                                   "AND status = 'submitted'", msisdn)) >= count
    wait_for(done, 15, f"{count} replies to {msisdn}")


def test_a_redelivery_after_a_dropped_link_is_stored_marked_and_not_answered_again(
        tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
    """BAL received on a link that dropped before its resp: the SMSC's redelivery is row 2, marked, unanswered."""
    nb = seed(tmp_path / "gateway.db", subscribers=2).numbers
    smsc = FakeSmsc()
    try:
        server = _serve(tmp_path, server_factory, smsc)
        _drop_while_saving(smsc, server, deliver_body(nb[0], b"BAL"))
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[0], b"BAL")))  # the SMSC's redelivery
        assert smsc.expect(DELIVER_SM_RESP)[0][0] == 0
        # A later MO is answered after anything saved before it: once it is, the redelivery had its chance.
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[1], b"BAL")))
        _answered(server, smsc, nb[1], 1)
        inbox = [tuple(r) for r in file_rows(server.db, "SELECT id, source, text, status, redelivery_of FROM sms_inbox "
                                                   "ORDER BY id")]
        assert inbox == [(1, nb[0], "BAL", "handled", None), (2, nb[0], "BAL", "redelivered", 1),
                         (3, nb[1], "BAL", "handled", None)]
        assert len(_replies(server, nb[0])) == 1
        assert '"event": "sms_mo_redelivered"' in server.log.read_text()
        # Acknowledged rows are marked so, soon, without a next MO: a restart would not expect them again.
        pending = "SELECT count(*) FROM sms_inbox WHERE pending_ack IS NOT NULL"
        wait_for(lambda: file_rows(server.db, pending)[0][0] == 0, 10, "the acknowledged rows marked")
    finally:
        smsc.close()


def test_a_redelivered_top_up_answers_with_its_first_result(tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
    """A TOP redelivered too late to be recognised is answered again, with the first result, and credits once."""
    data = seed(tmp_path / "gateway.db", subscribers=1, vouchers=1)
    smsc = FakeSmsc()
    try:
        server = _serve(tmp_path, server_factory, smsc, GATEWAY_SMPP_MO_DEDUPE_WINDOW="0.001")
        top = deliver_body(data.numbers[0], f"TOP {data.pins[0]}".encode())
        _drop_while_saving(smsc, server, top)
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), top))
        assert smsc.expect(DELIVER_SM_RESP)[0][0] == 0
        _answered(server, smsc, data.numbers[0], 2)
        first, again = _replies(server, data.numbers[0])
        assert first.startswith("Top-up of $5.00 successful") and again == first
        assert file_rows(server.db, "SELECT count(*) FROM topups")[0][0] == 1
    finally:
        smsc.close()


def test_mo_before_an_unbind_are_acknowledged_before_the_unbind_resp(tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
    """deliver_sm then unbind in one segment: every deliver_sm_resp, then the unbind_resp, then the close."""
    data = seed(tmp_path / "gateway.db", subscribers=3, vouchers=3)
    smsc = FakeSmsc()
    try:
        server = _serve(tmp_path, server_factory, smsc)
        burst = [pdu(DELIVER_SM, smsc.next_seq(), deliver_body(n, f"TOP {p}".encode()))
                 for n, p in zip(data.numbers, data.pins, strict=True)]
        unbind_seq = smsc.next_seq()
        smsc.send(b"".join(burst) + pdu(UNBIND, unbind_seq))
        seen: list[tuple[int, int, int]] = []
        deadline = time.monotonic() + 10
        while not seen or seen[-1][0] != UNBIND_RESP:
            assert time.monotonic() < deadline, seen
            try:
                command, status, seq, _ = smsc.read()
            except TimeoutError:
                continue
            if command in (DELIVER_SM_RESP, UNBIND_RESP):
                seen.append((command, status, seq))
        assert seen == [(DELIVER_SM_RESP, 0, 1001), (DELIVER_SM_RESP, 0, 1002), (DELIVER_SM_RESP, 0, 1003),
                        (UNBIND_RESP, 0, unbind_seq)]
        smsc.accept()  # the gateway binds again and answers each top-up once
        for n in data.numbers:
            _answered(server, smsc, n, 1)
        assert file_rows(server.db, "SELECT count(*) FROM sms_inbox")[0][0] == 3
        assert file_rows(server.db, "SELECT count(*) FROM topups")[0][0] == 3
    finally:
        smsc.close()


def test_a_redelivery_of_an_mo_acknowledged_just_before_the_drop_is_not_answered_again(
        tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
    """The resp was written, but the SMSC dropped the link before reading it: its redelivery is marked, unanswered."""
    nb = seed(tmp_path / "gateway.db", subscribers=2).numbers
    smsc = FakeSmsc()
    try:
        server = _serve(tmp_path, server_factory, smsc)
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[0], b"BAL")))
        assert smsc.expect(DELIVER_SM_RESP)[0][0] == 0  # written by the gateway, never "read" by this SMSC
        assert smsc.sock is not None
        smsc.sock.close()
        smsc.sock = None
        wait_for(lambda: "smpp_link_lost" in server.log.read_text(), 10, "the gateway to see the drop")
        smsc.accept()
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[0], b"BAL")))  # the SMSC's redelivery
        assert smsc.expect(DELIVER_SM_RESP)[0][0] == 0
        smsc.send(pdu(DELIVER_SM, smsc.next_seq(), deliver_body(nb[1], b"BAL")))
        _answered(server, smsc, nb[1], 1)
        statuses = [tuple(r) for r in file_rows(server.db, "SELECT source, status, redelivery_of FROM sms_inbox "
                                                      "ORDER BY id")]
        assert statuses == [(nb[0], "handled", None), (nb[0], "redelivered", 1), (nb[1], "handled", None)]
        assert len(_replies(server, nb[0])) == 1
    finally:
        smsc.close()
