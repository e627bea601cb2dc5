"""One bound SMPP connection: a reader, a windowed sender and a keep-alive.

Built on aiosmpplib's PDU classes (bind, enquire_link, unbind, submit_sm and
the responses) but not on its ``ESME`` loop, which sends one PDU at a time
with no window, awaits the hook inside the read loop and loses what it had
dequeued when the link drops. Here:

- the sender keeps up to ``window`` submit_sm awaiting a response, paced by
  ``send_rate`` and a short pause after ESME_RTHROTTLED/ESME_RMSGQFUL;
- the reader never awaits the store: MO and receipts go to the hook, which
  acknowledges them after they are saved; an SMSC ``unbind`` is answered
  only after what came before it is saved and acknowledged;
- MO whose deliver_sm_resp was not written when the link ended, or was
  written so shortly before (``ACK_IN_FLIGHT``) that the SMSC may not have
  read it, are told to the hook (``Unacknowledged``): the SMSC may deliver
  them again. A link that ended with an unbind handshake has no such doubt;
- when the session ends, every message claimed but not accepted goes back to
  the outbox queue (``release``), to be sent on the next bind;
- with ``[smpp] ussd`` a deliver_sm carrying ``ussd_service_op`` goes to the
  USSD adapter (``gateway.smpp.ussd``), which answers it on this link; its
  screens' submit_sm_resp go back to it, not to the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from aiosmpplib import (
    NPI,
    TON,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SubmitSm,
    Unbind,
    UnbindResp,
)

from gateway.domain.pacing import TokenBucket
from gateway.logs import get_logger
from gateway.services import sms_delivery
from gateway.smpp.broker import OutboxBroker
from gateway.smpp.codec import (
    HEADER,
    HEADER_LENGTH,
    MAX_PDU_LENGTH,
    TLV_USSD_SERVICE_OP,
    parse_receipt,
    parse_sm_body,
)
from gateway.smpp.correlator import Correlator, Flight
from gateway.smpp.errors import SmppRemoteError, status_name
from gateway.smpp.hook import StoreHook
from gateway.smpp.metrics import SmsMetrics
from gateway.smpp.text import DC_UCS2, encode_text
from gateway.smpp.throttle import ThrottleBackoff, send_burst
from gateway.smpp.ussd import UssdOverSmpp

log = get_logger("gateway.smpp")

#: Seconds before a link ended during which a written deliver_sm_resp may still have been
#: unread (in the network or the SMSC's input buffer when it dropped the link): its MO may be
#: delivered again. Short, so that a subscriber's real repeat is rarely taken for a copy.
ACK_IN_FLIGHT = 2.0
THROTTLED = frozenset({SmppCommandStatus.ESME_RTHROTTLED, SmppCommandStatus.ESME_RMSGQFUL})
#: Refusals that will not change by trying again.
PERMANENT = frozenset(int(s) for s in (
    SmppCommandStatus.ESME_RINVMSGLEN, SmppCommandStatus.ESME_RINVSRCADR,
    SmppCommandStatus.ESME_RINVDSTADR, SmppCommandStatus.ESME_RINVESMCLASS,
    SmppCommandStatus.ESME_RINVSERTYP, SmppCommandStatus.ESME_RINVNUMDESTS,
    SmppCommandStatus.ESME_RINVDESTFLAG, SmppCommandStatus.ESME_RINVREGDLVFLG,
    SmppCommandStatus.ESME_RINVSRCTON, SmppCommandStatus.ESME_RINVSRCNPI,
    SmppCommandStatus.ESME_RINVDSTTON, SmppCommandStatus.ESME_RINVDSTNPI,
    SmppCommandStatus.ESME_RX_P_APPN, SmppCommandStatus.ESME_RINVOPTPARSTREAM,
))


async def read_pdu(reader: asyncio.StreamReader) -> tuple[int, int, int, bytes]:
    """The next PDU on the link as (command id, status, sequence, body); every read goes through here.

    Raises:
        SmppRemoteError: its length is under 16 or over ``MAX_PDU_LENGTH`` (nothing past the header is read).
        asyncio.IncompleteReadError: the link closed mid-PDU.
    """
    length, command, status, seq = HEADER.unpack(await reader.readexactly(HEADER_LENGTH))
    if not HEADER_LENGTH <= length <= MAX_PDU_LENGTH:
        raise SmppRemoteError(f"PDU length {length} out of range")
    body = await reader.readexactly(length - HEADER_LENGTH) if length > HEADER_LENGTH else b""
    return command, status, seq, body


class Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 hook: StoreHook, broker: OutboxBroker,
                 window: int, rate: float, response_timeout: float, enquire_interval: float,
                 retry_at: Callable[[sms_delivery.OutboxRow, bool], datetime],
                 max_attempts: int, seq: itertools.count[int],
                 metrics: SmsMetrics | None = None, smsc: str = "",
                 ussd: UssdOverSmpp | None = None) -> None:
        self._reader, self._writer = reader, writer
        #: USSD over SMPP (``[smpp] ussd``): where deliver_sm carrying ``ussd_service_op`` go.
        self._ussd = ussd
        #: The SMSC's identity (``client.smsc_identity``): its message ids mean something there only.
        self._smsc = smsc
        self._metrics = metrics or SmsMetrics.create(None)
        self._hook = hook
        self._broker = broker
        self._claiming: asyncio.Future[list[sms_delivery.OutboxRow]] | None = None
        self._window = asyncio.Semaphore(window)
        #: submit_sm written and answered on this link (the ESME sizes the next link's window by them).
        self.submits_sent = 0
        self.submits_answered = 0
        self._bucket = TokenBucket(rate, send_burst(rate), time.monotonic())
        self._backoff = ThrottleBackoff()
        self._timeout = response_timeout
        self._interval = enquire_interval
        self._retry_at = retry_at
        self._max_attempts = max_attempts
        self._seq = seq
        self.correlator = Correlator()
        self._out: list[bytes] = []
        #: MO saved or being saved whose deliver_sm_resp is not written yet (token → digest).
        self._unacked: dict[int, str] = {}
        #: MO whose deliver_sm_resp was written lately, as (monotonic time written, digest).
        self._recent_acks: deque[tuple[float, str]] = deque()
        #: The link ended with an unbind handshake: every resp written before it was read.
        self._unbind_done = False
        self._tokens = itertools.count()
        #: Tokens whose deliver_sm_resp waits in ``_out``.
        self._acking: list[int] = []
        self._unsent: deque[sms_delivery.OutboxRow] = deque()
        self._enquire_pending = False
        self._unbound = asyncio.Event()
        self.open = True
        self.accepting = True

    # --- writing -----------------------------------------------------------

    def write(self, pdu: bytes) -> None:
        """Queue ``pdu``; everything written in one loop turn leaves in one send."""
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(pdu)

    def _flush(self) -> None:
        out, self._out = self._out, []
        acking, self._acking = self._acking, []
        if self.open and not self._writer.is_closing():
            self._writer.write(b"".join(out))
            if acking:
                now = time.monotonic()
                recent = self._recent_acks
                for token in acking:
                    digest = self._unacked.pop(token, None)
                    if digest is not None:
                        recent.append((now, digest))
                while recent and recent[0][0] < now - ACK_IN_FLIGHT:
                    recent.popleft()

    def next_seq(self) -> int:
        return next(self._seq) % 0x7FFFFFFF + 1

    async def sender(self) -> None:
        """Claim due rows and submit them, ``window`` at a time, at ``send_rate``."""
        while True:
            if not self.accepting:
                await asyncio.Future()  # parked until the session ends
            while not self._unsent:
                self._claiming = asyncio.ensure_future(self._broker.claim())
                rows = await asyncio.shield(self._claiming)
                self._claiming = None
                self._unsent.extend(rows)
                if not rows:
                    await self._broker.wait()
            row = self._unsent.popleft()
            if self._broker.lapsed(row):
                # Held past its lease (this process was stalled): another process may be sending it.
                log.warning("sms_claim_lapsed", outbox_id=row.id)
                continue
            try:
                encoded = encode_text(row.text, row.id)
            except (ValueError, UnicodeError) as exc:
                self._hook.record(sms_delivery.SendFailed(row.id, f"cannot encode: {exc}", None, claim=row.claim))
                continue
            flight = self.correlator.start(row, len(encoded.parts))
            for index, part in enumerate(encoded.parts):
                await self._window.acquire()
                await self._pace()
                message = SubmitSm(
                    short_message=" ", source=PhoneNumber(row.source, TON.UNKNOWN, NPI.UNKNOWN),
                    destination=PhoneNumber(row.destination, TON.INTERNATIONAL, NPI.ISDN),
                    esm_class=encoded.esm_class, registered_delivery=1,
                    encoding="ucs2" if encoded.data_coding == DC_UCS2 else None,
                    auto_message_payload=False,
                )
                message.set_encoded_message(part)
                message.sequence_num = self.next_seq()
                self.correlator.sent(message.sequence_num, flight, index, time.monotonic())
                self.write(message.pdu())
                self.submits_sent += 1
            if self._writer.transport.get_write_buffer_size() > 65536:
                await self._writer.drain()

    async def _pace(self) -> None:
        while True:
            now = time.monotonic()
            wait = self._backoff.wait(now) or self._bucket.take(now)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    # --- reading -----------------------------------------------------------

    async def reader(self) -> None:
        while True:
            command, status, seq, body = await read_pdu(self._reader)
            if command in (SmppCommand.SUBMIT_SM_RESP, SmppCommand.GENERIC_NACK):
                self._on_submit_resp(seq, status, body)
            elif command == SmppCommand.DELIVER_SM:
                self._on_deliver(seq, body)
            elif command == SmppCommand.ENQUIRE_LINK:
                self.write(EnquireLinkResp(sequence_num=seq).pdu())
            elif command == SmppCommand.ENQUIRE_LINK_RESP:
                self._enquire_pending = False
            elif command == SmppCommand.UNBIND:
                # Acknowledge what came before the unbind first: after it there is no link to do it on.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hook.flush(), self._timeout)
                self.write(UnbindResp(sequence_num=seq).pdu())
                self._flush()
                await self._writer.drain()
                self._unbind_done = True
                log.info("smpp_unbind_by_smsc")
                return
            elif command == SmppCommand.UNBIND_RESP:
                self._unbound.set()
                self._unbind_done = True
                return
            elif not command & 0x80000000:
                self.write(GenericNack(sequence_num=seq,
                                       command_status=SmppCommandStatus.ESME_RINVCMDID).pdu())

    def _on_submit_resp(self, seq: int, status: int, body: bytes) -> None:
        if self._ussd is not None and self._ussd.answered(seq, status):
            return  # a USSD screen's, sent outside the window
        message_id = body.rstrip(b"\x00").decode("latin-1")
        try:
            flight = self.correlator.answer(seq, status, message_id, status_name(status))
        except KeyError:
            return  # answered after we gave up on it (timeout): already re-queued
        self.submits_answered += 1
        self._window.release()
        if status == 0:
            self._backoff.accepted()
            self._metrics.mt_submitted.labels("ok").inc()
        elif status in THROTTLED:
            self._backoff.throttled(time.monotonic())
            self._metrics.mt_submitted.labels("throttled").inc()
        else:
            self._metrics.mt_submitted.labels("error").inc()
        if flight is not None:
            self._finish(flight)

    def _finish(self, flight: Flight) -> None:
        row = flight.row
        if flight.refusal is None:
            self._hook.record(sms_delivery.Submitted(row.id, tuple(flight.message_ids), self._smsc, claim=row.claim))
            return
        status, reason = flight.refusal
        throttled = status in THROTTLED
        if status in PERMANENT or (not throttled and row.attempts + 1 >= self._max_attempts):
            self._hook.record(sms_delivery.SendFailed(row.id, reason, None, claim=row.claim))
        else:
            self._hook.record(sms_delivery.SendFailed(
                row.id, reason, self._retry_at(row, throttled), count_attempt=not throttled, claim=row.claim))

    def _on_deliver(self, seq: int, body: bytes) -> None:
        token: int | None = None

        def ack(status: int = 0) -> None:
            resp = DeliverSmResp(sequence_num=seq)
            resp.command_status = SmppCommandStatus(status)
            self.write(resp.pdu())
            if token is not None:
                self._acking.append(token)

        try:
            sm = parse_sm_body(body)
        except SmppRemoteError as exc:
            log.warning("smpp_bad_deliver_sm", error=str(exc))
            ack(SmppCommandStatus.ESME_RX_P_APPN)
            return
        if sm.trailing:
            log.debug("smpp_deliver_sm_trailing_octets", octets=sm.trailing)
        if sm.is_receipt:
            receipt = parse_receipt(sm)
            if receipt is None:
                ack()
                return
            self._metrics.receipts.labels(
                sms_delivery.FINAL_STATES.get(receipt.stat, receipt.stat.lower() or "unknown")).inc()
            self._hook.record(sms_delivery.DeliveryReport(receipt.message_id, receipt.stat, self._smsc), ack)
            return
        if self._ussd is not None and TLV_USSD_SERVICE_OP in sm.tlvs:
            self._ussd.deliver(sm, ack, self)
            return
        seg = sm.segment
        digest = self._hook.identity(sm.source, sm.destination, sm.data_coding, sm.esm_class,
                                     seg.reference if seg else "", seg.seq if seg else "", sm.payload)
        token = next(self._tokens)
        self._unacked[token] = digest
        self._hook.record(sms_delivery.InboundSms(
            sm.source, sm.destination, sm.payload, sm.data_coding, digest,
            seg.reference if seg else None, seg.total if seg else 1, seg.seq if seg else 1,
        ), ack)

    # --- keep-alive, timeouts, end -------------------------------------------

    async def keeper(self) -> None:
        """enquire_link every interval; a missing answer or overdue submits end the session."""
        tick = min(1.0, self._interval)
        since = 0.0
        while True:
            await asyncio.sleep(tick)
            since += tick
            for seq in self.correlator.overdue(time.monotonic(), self._timeout):
                flight = self.correlator.answer(seq, SmppCommandStatus.ESME_RSYSERR, "",
                                                "no response")
                self._window.release()
                self._metrics.mt_submitted.labels("error").inc()
                if flight is not None:
                    self._finish(flight)
            if since >= self._interval:
                since = 0.0
                if self._enquire_pending:
                    raise SmppRemoteError("no answer to enquire_link")
                self._enquire_pending = True
                self.write(EnquireLink(sequence_num=self.next_seq()).pdu())

    def end(self) -> None:
        """Close the link (the reader then ends the session)."""
        self._writer.close()

    def stop_sending(self) -> None:
        """Submit nothing new (what is claimed stays for ``release``)."""
        self.accepting = False

    async def unbind(self, timeout: float) -> None:
        self.write(Unbind(sequence_num=self.next_seq()).pdu())
        try:
            await asyncio.wait_for(self._unbound.wait(), timeout)
        except TimeoutError:
            pass

    async def release(self) -> int:
        """Give back everything claimed but not accepted; returns how many messages.

        MO not acknowledged on this link are recorded as ``Unacknowledged``
        (after the MO themselves, so their rows exist when it is applied).
        """
        self.open = False
        doubtful = list(self._unacked.values())
        if not self._unbind_done:
            since = time.monotonic() - ACK_IN_FLIGHT
            doubtful.extend(digest for at, digest in self._recent_acks if at >= since)
        if doubtful:
            self._hook.record(sms_delivery.Unacknowledged(tuple(doubtful)))
        self._unacked.clear()
        self._recent_acks.clear()
        if self._claiming is not None:
            self._unsent.extend(await self._claiming)
            self._claiming = None
        released = 0
        for flight in self.correlator.drain():
            self._hook.record(sms_delivery.SendFailed(
                flight.row.id, "link lost before the SMSC answered",
                self._retry_at(flight.row, True), count_attempt=False, claim=flight.row.claim))
            released += 1
        while self._unsent:
            row = self._unsent.popleft()
            self._hook.record(sms_delivery.SendFailed(row.id, "not sent before the link closed",
                                                   self._retry_at(row, True), count_attempt=False,
                                                   claim=row.claim))
            released += 1
        return released
