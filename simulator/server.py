"""The SMSC simulator's asyncio shell: sockets, timers and routing around ``SmppSession``.

``Simulator`` owns everything shared between connections (accounts, MT store,
MO queue, receipts due); ``SmppConnection`` is a thin ``asyncio.Protocol``
that feeds bytes to its session and writes what comes back in one call per
read, so a pipelining client costs one write per TCP segment, not per PDU.
Nothing here logs per PDU: binds, unbinds and closes only.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from aiosmpplib import SmppCommandStatus

from gateway.logs import get_logger
from simulator.codec import concat_info, data_coding_of, deliver_parts
from simulator.faults import SubmitFaults, receipt_pdu, wants_receipt
from simulator.session import (
    BindRefused,
    Bound,
    Closed,
    DeliverAnswered,
    Event,
    SmppSession,
    SubmitReceived,
)
from simulator.settings import SimulatorSettings
from simulator.store import MoMessage, MoQueue, MtPart, MtStore
from simulator.ussd import UssdCentre

log = get_logger("simulator")
OK = SmppCommandStatus.ESME_ROK


class Load(Protocol):
    """A benchmark load running inside the simulator (``simulator.load``): told of every MT accepted."""

    def on_mt(self, destination: str) -> None: ...

    def report(self) -> dict[str, Any]: ...


class SmppConnection(asyncio.Protocol):
    """One TCP connection from an ESME."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.session = SmppSession(sim.accounts, sim.settings.smsc_system_id)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.bound_at = 0.0
        self.bucket = sim.faults.new_bucket(sim.loop.time())
        self.in_flight = 0  # submit_sm answered but not yet written
        self.unacked: dict[int, MoMessage] = {}
        self.submitted = 0
        self.delivered = 0
        self.unbound = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else ""
        self.sim.connections.append(self)

    def data_received(self, data: bytes) -> None:
        closing = False
        for event in self.session.receive_data(data):
            closing |= self.sim.handle(self, event)
        self.flush()
        drop = self.sim.settings.drop_after
        if drop and self.session.pdus_received >= drop and self.transport is not None:
            log.info("smpp_dropped", reason="drop_after", pdus=self.session.pdus_received)
            self.transport.abort()
        elif closing and self.transport is not None:
            self.transport.close()

    def flush(self) -> None:
        data = self.session.data_to_send()
        if self.sim.delay == 0:
            self.in_flight = 0
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def flush_later(self) -> None:
        """Write what is queued once, later in this loop turn, with every other connection's."""
        self.sim.flush_later(self)

    def write_later(self, data: bytes) -> None:
        self.in_flight -= 1
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.sim.lost(self)

    def describe(self) -> dict[str, Any]:
        return {
            "system_id": self.session.system_id,
            "mode": self.session.state.value,
            "address_range": self.session.address_range,
            "peer": self.peer,
            "bound_seconds": round(self.sim.loop.time() - self.bound_at, 3),
            "submitted": self.submitted,
            "delivered": self.delivered,
        }


class Simulator:
    """Shared state of all connections and the routing rules between them."""

    def __init__(
        self, settings: SimulatorSettings, accounts: Mapping[str, str],
        *, rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.accounts = dict(accounts)
        self.loop = asyncio.get_running_loop()
        self.faults = SubmitFaults(settings, rng or random.Random())
        self.delay = settings.response_delay
        self.mt = MtStore(settings.max_stored_mt)
        self.mo = MoQueue()
        self.connections: list[SmppConnection] = []
        self._message_ids = itertools.count(1)
        self._mo_ref = itertools.count(1)
        # Receipts due: constant delay, so FIFO order is due order (no heap needed).
        self._receipts: deque[tuple[float, SmppConnection, Any]] = deque()
        self._waiting_receipts: dict[str, deque[Any]] = {}
        self._receipt_timer: asyncio.TimerHandle | None = None
        #: What tests and operators check after a fault: MO ids the ESME answered
        #: with ESME_ROK (every part), clean unbinds and connections lost without one.
        self.mo_acked: set[int] = set()
        self._mo_parts_left: dict[int, int] = {}
        self.unbinds = 0
        self.drops = 0
        #: A benchmark load running inside the simulator (``simulator.load``), if any.
        self.load: Load | None = None
        self._to_flush: set[SmppConnection] = set()
        self._flush_scheduled = False
        #: The USSD centre: dialogues over SMPP with the bound gateway (``POST /ussd/dial``).
        self.ussd = UssdCentre(self, settings.ussd_vendor, settings.ussd_timeout)

    # -- events from sessions -------------------------------------------------

    def handle(self, conn: SmppConnection, event: Event) -> bool:
        """Act on one session event; True when the connection must close."""
        if isinstance(event, SubmitReceived):
            self._submit(conn, event)
        elif isinstance(event, DeliverAnswered):
            mo = conn.unacked.pop(event.sequence, None)
            if mo is None:
                self.ussd.on_deliver_resp(conn, event.sequence, event.status)
            else:
                conn.delivered += 1
                if event.status == OK:
                    left = self._mo_parts_left.get(mo.id, 1) - 1
                    self._mo_parts_left[mo.id] = left
                    if left <= 0:
                        self._mo_parts_left.pop(mo.id, None)
                        self.mo_acked.add(mo.id)
        elif isinstance(event, Bound):
            conn.bound_at = self.loop.time()
            log.info("smpp_bound", system_id=event.system_id, mode=event.mode.value, peer=conn.peer)
            if conn.session.can_receive:
                self._flush_waiting(conn)
        elif isinstance(event, BindRefused):
            log.info("smpp_bind_refused", system_id=event.system_id, status=event.status.name)
            # Like most SMSCs, hang up after a failed bind so a looping ESME cannot
            # hold a socket; a second bind on a bound session keeps the first one.
            return event.status is not SmppCommandStatus.ESME_RALYBND
        elif isinstance(event, Closed):
            log.info("smpp_closing", system_id=conn.session.system_id, reason=event.reason)
            if event.reason == "unbind":
                self.unbinds += 1
                conn.unbound = True
            return True
        return False

    def _submit(self, conn: SmppConnection, event: SubmitReceived) -> None:
        now = self.loop.time()
        msg = event.message
        if event.ussd is not None:  # a USSD screen, not an SMS: the centre's, not the MT store's
            conn.in_flight += 1
            status = self.ussd.on_submit(conn, msg.destination.number, event.ussd, data_coding_of(msg),
                                         msg.short_message or msg.message_payload)
            self._answer(conn, event.sequence, status, f"{next(self._message_ids):010x}" if status == OK else "")
            return
        refusal = self.faults.refuse(conn.bucket, conn.in_flight, now)
        conn.in_flight += 1
        if refusal is not None:
            self._answer(conn, event.sequence, refusal, "")
            return
        message_id = f"{next(self._message_ids):010x}"
        part = MtPart(
            message_id=message_id,
            source=msg.source.number,
            destination=msg.destination.number,
            text=msg.short_message or msg.message_payload,
            data_coding=data_coding_of(msg),
            esm_class=msg.esm_class,
            registered_delivery=msg.registered_delivery,
            system_id=conn.session.system_id,
            concat=concat_info(msg),
        )
        self.mt.add(part)
        conn.submitted += 1
        self._answer(conn, event.sequence, OK, message_id)
        if self.load is not None:
            self.load.on_mt(part.destination)
        if msg.registered_delivery & 0x03:
            self._schedule_receipt(conn, part, time.time())

    def _answer(self, conn: SmppConnection, sequence: int, status: SmppCommandStatus, mid: str) -> None:
        if self.delay == 0:
            conn.session.answer_submit(sequence, status, mid)
        else:
            data = conn.session.answer_submit(sequence, status, mid, queue=False)
            self.loop.call_later(self.delay, conn.write_later, data)

    # -- delivery receipts ----------------------------------------------------

    def _schedule_receipt(self, conn: SmppConnection, part: MtPart, submitted: float) -> None:
        outcome = self.faults.outcome()
        if not wants_receipt(part.registered_delivery, outcome):
            return
        due = self.loop.time() + self.settings.receipt_delay
        self._receipts.append((due, conn, (part, outcome, submitted)))
        if self._receipt_timer is None:
            self._receipt_timer = self.loop.call_at(due, self._send_receipts)

    def _send_receipts(self) -> None:
        self._receipt_timer = None
        now = self.loop.time()
        touched: set[SmppConnection] = set()
        while self._receipts and self._receipts[0][0] <= now:
            _, origin, (part, outcome, submitted) = self._receipts.popleft()
            pdu = receipt_pdu(
                part.message_id, outcome, part.source, part.destination,
                submitted, time.time(), part.text,
            )
            target = self._receipt_target(origin, part.system_id)
            if target is None:
                self._waiting_receipts.setdefault(part.system_id, deque()).append(pdu)
            else:
                target.session.send_deliver(pdu)
                touched.add(target)
        for conn in touched:
            conn.flush()
        if self._receipts:
            self._receipt_timer = self.loop.call_at(self._receipts[0][0], self._send_receipts)

    def _receipt_target(self, origin: SmppConnection, system_id: str) -> SmppConnection | None:
        if origin.session.can_receive and origin in self.connections:
            return origin
        for conn in self.connections:
            if conn.session.can_receive and conn.session.system_id == system_id:
                return conn
        return None

    # -- mobile originated ----------------------------------------------------

    def inject_mo(self, source: str, destination: str, text: str, data_coding: int,
                  *, flush: bool = True) -> MoMessage:
        """Queue an MO and hand it to a receiver now if one is bound.

        ``flush=False`` leaves the deliver_sm queued on its connection (the
        caller then calls ``flush_soon``): many MO leave in one write.
        """
        mo = self.mo.new(source, destination, text, data_coding)
        self._route(mo, flush)
        return mo

    def flush_soon(self) -> None:
        """Write what ``inject_mo(flush=False)`` queued, once, later in this loop turn."""
        if self._to_flush and not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush_queued)

    def flush_later(self, conn: SmppConnection) -> None:
        """Write what is queued on ``conn`` once, later in this loop turn (with everything else queued)."""
        self._to_flush.add(conn)
        self.flush_soon()

    def _flush_queued(self) -> None:
        self._flush_scheduled = False
        touched, self._to_flush = self._to_flush, set()
        for conn in touched:
            conn.flush()

    def _route(self, mo: MoMessage, flush: bool = True) -> None:
        target = self._mo_target(mo.destination)
        if target is None:
            self.mo.waiting.append(mo)
        else:
            self._deliver_mo(target, mo)
            if flush:
                target.flush()
            else:
                self._to_flush.add(target)

    def receiver(self, destination: str) -> SmppConnection | None:
        """The bound connection that receives messages to ``destination`` (its address_range first)."""
        return self._mo_target(destination)

    def _mo_target(self, destination: str) -> SmppConnection | None:
        first = None
        for conn in self.connections:
            if not conn.session.can_receive:
                continue
            if first is None:
                first = conn
            pattern = conn.session.address_range
            if pattern and _matches(pattern, destination):
                return conn
        return first

    def _deliver_mo(self, conn: SmppConnection, mo: MoMessage) -> None:
        parts = deliver_parts(mo.source, mo.destination, mo.text, mo.data_coding, next(self._mo_ref))
        self._mo_parts_left[mo.id] = len(parts)
        for pdu in parts:
            conn.unacked[conn.session.send_deliver(pdu)] = mo

    def _flush_waiting(self, conn: SmppConnection) -> None:
        for pdu in self._waiting_receipts.pop(conn.session.system_id, ()):
            conn.session.send_deliver(pdu)
        keep: deque[MoMessage] = deque()
        while self.mo.waiting:
            mo = self.mo.waiting.popleft()
            if self._mo_target(mo.destination) is conn:
                self._deliver_mo(conn, mo)
            else:
                keep.append(mo)
        self.mo.waiting = keep

    def lost(self, conn: SmppConnection) -> None:
        """Forget the connection; MO it never acknowledged waits for the next bind."""
        if conn in self.connections:
            self.connections.remove(conn)
        self.ussd.lost(conn)
        if conn.session.system_id:
            log.info("smpp_unbound", system_id=conn.session.system_id, peer=conn.peer)
            if not conn.unbound:
                self.drops += 1
        seen: set[int] = set()
        for mo in conn.unacked.values():
            if mo.id not in seen:
                seen.add(mo.id)
                self._route(mo)
        conn.unacked.clear()

    def stats(self) -> dict[str, Any]:
        """MO acknowledged (ids), clean unbinds and dropped bound connections so far."""
        return {"mo_acked": sorted(self.mo_acked), "unbinds": self.unbinds, "drops": self.drops,
                "mo_waiting": len(self.mo.waiting)}

    def binds(self) -> list[dict[str, Any]]:
        return [c.describe() for c in self.connections if c.session.system_id]

    def close(self) -> None:
        if self._receipt_timer is not None:
            self._receipt_timer.cancel()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()


def _matches(pattern: str, address: str) -> bool:
    """address_range as a regular expression (as most SMSCs read it), else a prefix."""
    try:
        return re.fullmatch(pattern, address) is not None
    except re.error:
        return address.startswith(pattern)
