"""The simulator as a USSD centre: dialogues with the bound gateway over SMPP.

``dial`` sends a deliver_sm (``ussd_service_op`` 1, PSSR indication, the
dial string in ``short_message``) to a bound receiver and waits for the
gateway's submit_sm with this dialogue's TLVs: ``ussd_service_op`` 2 (USSR
request: a screen awaiting an answer) or 17 (PSSR response: the last
screen). ``answer`` sends the next deliver_sm (18, USSR confirm), ``abort``
the vendor's hang-up. A USSD screen is not an SMS: it is not kept with the
MT of ``GET /mt``.

The centre's side of each vendor is written here from the vendors'
conventions, not borrowed from the gateway's rules (``gateway.smpp.vendors``),
so that a test of one against the other can fail:

| vendor    | the centre numbers a dialogue by                    | and hangs up with                  |
| --------- | --------------------------------------------------- | ---------------------------------- |
| `generic` | `its_session_info` octet 1; octet 2 steps (seq << 1) | bit 0 of `its_session_info`        |
| `sixdee`  | a dialog id in `its_session_info` bits 15..1        | `ussd_service_op` 0x81             |
| `mica`    | `user_message_reference`                            | `ussd_service_op` 0x81             |
| `msisdn`  | nothing: the subscriber's number                    | `ussd_service_op` 0x81             |

A phone holds one USSD dialogue: dialling again while one is open ends that
one first, without a word to the gateway (the network lost it: the
gateway's dialogue stays as it was, and may be offered back on the new
dial); ``abort`` is the subscriber hanging up, which the gateway is told.
A screen must come within ``ussd_timeout`` seconds (``NoAnswer``); a gateway
that refuses the deliver_sm, or whose bind closes first, ends the dialogue too
(``GatewayFailed``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiosmpplib import NPI, TON, DeliverSm, PhoneNumber, SmppCommandStatus

from gateway.smpp.codec import UssdFields
from gateway.smpp.text import encode_ussd
from simulator.session import SmppSession


class Link(Protocol):
    """A bound ESME connection as the centre uses it (``simulator.server.SmppConnection``)."""

    @property
    def session(self) -> SmppSession: ...

    def flush(self) -> None:
        """Write what the session queued, now."""

    def flush_later(self) -> None:
        """Write what the session queued once, later in this loop turn (with everything else queued)."""


class Switch(Protocol):
    """The simulator as the centre uses it (``simulator.server.Simulator``): the bound connections."""

    @property
    def connections(self) -> Sequence[Link]: ...

    def receiver(self, destination: str) -> Link | None:
        """The bound connection that receives messages to ``destination``."""


PSSR_INDICATION, USSR_REQUEST, PSSR_RESPONSE, USSR_CONFIRM = 1, 2, 17, 18
USER_ABORT = 0x81
#: service_type of every USSD deliver_sm, as most USSD centres send it.
SERVICE_TYPE = "USSD"


class UssdError(Exception):
    """A USSD request the centre cannot carry out; ``status`` is the control API's answer."""

    status = 400


class NoGateway(UssdError):
    status = 503


class UnknownDialogue(UssdError):
    status = 404


class DialogueOver(UssdError):
    status = 409


class NoAnswer(UssdError):
    status = 504


class GatewayFailed(UssdError):
    status = 502


@dataclass(frozen=True)
class Screen:
    text: str
    end: bool


@dataclass
class Dialogue:
    id: str
    msisdn: str
    #: The code dialled, as ``destination_addr`` carries it (``*123#``).
    code: str
    #: Session number, dialog id or message reference, by vendor (0 for ``msisdn``).
    number: int
    #: ``generic``: the sequence number the centre steps in octet 2 of ``its_session_info``.
    sequence: int = 0
    conn: Link | None = None
    waiting: asyncio.Future[Screen] | None = None
    ended: bool = False
    screens: list[Screen] = field(default_factory=list)
    #: The TLVs of the gateway's last submit_sm for this dialogue (tests look at them).
    last_reply: UssdFields | None = None


@dataclass(frozen=True)
class CentreVendor:
    """How a vendor's centre numbers dialogues and hangs up (see the module docstring)."""

    name: str
    #: "session_number", "dialog_id", "message_reference" or "none".
    numbering: str
    #: The numbers it gives dialogues, in turn: ``first`` to ``top``.
    first: int
    top: int
    #: Hang up with this ``ussd_service_op``; None: with the end bit of ``its_session_info``.
    abort_op: int | None

    def fields(self, d: Dialogue, op: int, end: bool = False) -> UssdFields:
        if self.numbering == "session_number":
            return UssdFields(op, d.number << 8 | (d.sequence & 0x7F) << 1 | end)
        if self.numbering == "dialog_id":
            return UssdFields(op, d.number << 1 | end)
        if self.numbering == "message_reference":
            return UssdFields(op, user_message_reference=d.number)
        return UssdFields(op)

    def hang_up(self, d: Dialogue) -> UssdFields:
        if self.abort_op is None:
            return self.fields(d, USSR_CONFIRM, end=True)
        return self.fields(d, self.abort_op)

    def key(self, msisdn: str, fields: UssdFields) -> tuple[str, int] | None:
        """Which dialogue a submit_sm to ``msisdn`` belongs to; None when its TLVs cannot say."""
        if self.numbering == "session_number":
            return None if fields.session_info is None else (msisdn, fields.session_info >> 8)
        if self.numbering == "dialog_id":
            return None if fields.session_info is None else (msisdn, fields.session_info >> 1)
        if self.numbering == "message_reference":
            ref = fields.user_message_reference
            return None if ref is None else (msisdn, ref)
        return (msisdn, 0)


CENTRE_VENDORS = {
    "generic": CentreVendor("generic", "session_number", 0, 0xFF, None),
    "sixdee": CentreVendor("sixdee", "dialog_id", 1, 0x7FFF, USER_ABORT),
    "mica": CentreVendor("mica", "message_reference", 1, 0xFFFF, USER_ABORT),
    "msisdn": CentreVendor("msisdn", "none", 0, 0, USER_ABORT),
}


class UssdCentre:
    """The dialogues the simulator holds with the gateway, and the SMPP traffic that carries them."""

    def __init__(self, sim: Switch, vendor: str, timeout: float) -> None:
        self._sim = sim
        self.vendor = CENTRE_VENDORS[vendor]
        self.timeout = timeout
        self.dialogues: dict[str, Dialogue] = {}
        self._by_key: dict[tuple[str, int], Dialogue] = {}
        #: The open dialogue of each phone (a phone holds one).
        self._phones: dict[str, Dialogue] = {}
        self._ids = itertools.count(1)
        self._numbers = itertools.count(1)
        #: deliver_sm sent and not answered yet: (connection id, sequence) → dialogue.
        self._sent: dict[tuple[int, int], Dialogue] = {}
        #: A benchmark load driving dialogues (``simulator.load.UssdSteps``), if any.
        self.on_screen: Any = None

    # --- the control API's three calls --------------------------------------------------------

    async def dial(self, msisdn: str, dial: str) -> tuple[Dialogue, Screen]:
        """Open a dialogue with ``dial`` (``*123*PIN#``) and wait for the first screen."""
        d = self.open(msisdn, dial)
        return d, await self.wait(d)

    async def answer(self, dialogue_id: str, text: str) -> tuple[Dialogue, Screen]:
        d = self.get(dialogue_id)
        if d.ended:
            raise DialogueOver(f"dialogue {d.id} has ended")
        if d.waiting is not None:
            raise DialogueOver(f"dialogue {d.id} is waiting for the gateway's screen")
        self.send(d, self.vendor.fields(d, USSR_CONFIRM), text)
        return d, await self.wait(d)

    def abort(self, dialogue_id: str) -> Dialogue:
        """The subscriber hangs up: the vendor's abort goes to the gateway, the dialogue ends."""
        d = self.get(dialogue_id)
        if d.ended:
            raise DialogueOver(f"dialogue {d.id} has ended")
        self._hang_up(d)
        return d

    def number_from(self, start: int) -> None:
        """Give the next dialogues numbers from ``start`` on (wrapping at the vendor's top): a test
        picks values whose octets reach 0x80 or are 0x00."""
        self._numbers = itertools.count(start - self.vendor.first)

    def get(self, dialogue_id: str) -> Dialogue:
        d = self.dialogues.get(dialogue_id)
        if d is None:
            raise UnknownDialogue(f"no dialogue {dialogue_id!r}")
        return d

    # --- sending --------------------------------------------------------------------------------

    def open(self, msisdn: str, dial: str, *, flush: bool = True) -> Dialogue:
        """Send the PSSR indication of a new dialogue (the caller then ``wait``s for its screen)."""
        code = "*" + dial.strip("*#").split("*")[0] + "#"
        live = self._phones.get(msisdn)
        if live is not None and not live.ended:
            self._end(live)  # one dialogue per phone: the network lost the open one
        d = Dialogue(f"u{next(self._ids)}", msisdn, code, self._number(msisdn))
        self.send(d, self.vendor.fields(d, PSSR_INDICATION), dial, flush=flush)
        self.dialogues[d.id] = d
        self._by_key[(msisdn, d.number)] = d
        self._phones[msisdn] = d
        return d

    def answer_nowait(self, d: Dialogue, text: str) -> None:
        """Send an answer without waiting for its screen (a load counts screens in ``on_screen``)."""
        self.send(d, self.vendor.fields(d, USSR_CONFIRM), text, flush=False)

    async def wait(self, d: Dialogue) -> Screen:
        assert d.waiting is not None
        try:
            return await asyncio.wait_for(d.waiting, self.timeout)
        except TimeoutError:
            self._end(d)
            raise NoAnswer(f"the gateway sent no screen within {self.timeout:g} s") from None

    def send(self, d: Dialogue, fields: UssdFields, text: str, *, flush: bool = True) -> None:
        """One deliver_sm of ``d`` to the bind the gateway receives on (the dialogue's own while it lasts)."""
        conn = d.conn if d.conn is not None and d.conn in self._sim.connections else None
        conn = conn or self._sim.receiver(d.code)
        if conn is None:
            self._end(d)
            raise NoGateway("no gateway is bound to receive")
        dc, data = encode_ussd(text)
        pdu = DeliverSm(
            short_message=text or " ", source=PhoneNumber(d.msisdn, TON.INTERNATIONAL, NPI.ISDN),
            destination=PhoneNumber(d.code), service_type=SERVICE_TYPE, esm_class=0,
            registered_delivery=0, encoding="ucs2" if dc == 8 else None, optional_params=fields.params(),
        )
        if data:
            pdu.set_encoded_message(data)
        d.conn = conn
        d.sequence += 1
        if fields.service_op != self.vendor.abort_op and not (fields.session_info or 0) & 1:
            d.waiting = asyncio.get_running_loop().create_future()
        self._sent[(id(conn), conn.session.send_deliver(pdu))] = d
        if flush:
            conn.flush()
        else:
            conn.flush_later()

    def _hang_up(self, d: Dialogue) -> None:
        try:
            self.send(d, self.vendor.hang_up(d), "")
        except NoGateway:
            pass  # nobody to tell
        self._end(d)

    def _number(self, msisdn: str) -> int:
        """The next number in turn that no open dialogue of ``msisdn`` holds (one phone holds one)."""
        first, span = self.vendor.first, self.vendor.top - self.vendor.first + 1
        while True:
            number = first + next(self._numbers) % span
            if (msisdn, number) not in self._by_key:
                return number

    def _end(self, d: Dialogue, error: UssdError | None = None) -> None:
        d.ended = True
        if d.waiting is not None and not d.waiting.done():
            d.waiting.set_exception(error or DialogueOver(f"dialogue {d.id} ended before the gateway's screen"))
            d.waiting.exception()  # its waiter, if any, raises it; none: no "never retrieved" noise
        d.waiting = None
        if self._by_key.get((d.msisdn, d.number)) is d:
            del self._by_key[(d.msisdn, d.number)]
        if self._phones.get(d.msisdn) is d:
            del self._phones[d.msisdn]

    # --- what the gateway sends ---------------------------------------------------------------------

    def on_submit(self, conn: Link, destination: str, fields: UssdFields, data_coding: int,
                  text: str) -> SmppCommandStatus:
        """A submit_sm carrying ``ussd_service_op``: the screen of the dialogue its TLVs name."""
        key = self.vendor.key(destination, fields)
        d = self._by_key.get(key) if key is not None else None
        if d is None or d.waiting is None:
            return SmppCommandStatus.ESME_RINVDSTADR  # no dialogue with that subscriber awaits a screen
        if fields.service_op not in (USSR_REQUEST, PSSR_RESPONSE):
            return SmppCommandStatus.ESME_RINVOPTPARAMVAL
        screen = Screen(text, fields.service_op == PSSR_RESPONSE)
        d.screens.append(screen)
        d.last_reply = fields
        future, d.waiting = d.waiting, None
        if screen.end:
            self._end(d)
        if not future.done():
            future.set_result(screen)
        if self.on_screen is not None:
            self.on_screen(d, screen)
        return SmppCommandStatus.ESME_ROK

    def on_deliver_resp(self, conn: Link, sequence: int, status: int) -> bool:
        """A deliver_sm_resp; True when it answered one of ours. A refusal ends the dialogue."""
        d = self._sent.pop((id(conn), sequence), None)
        if d is None:
            return False
        if status != 0 and not d.ended:
            try:
                name = SmppCommandStatus(status).name
            except ValueError:
                name = f"0x{status:08X}"
            self._end(d, GatewayFailed(f"the gateway refused the message: {name}"))
        return True

    def lost(self, conn: Link) -> None:
        """A bind closed: its dialogues awaiting a screen will not get it."""
        for key in [k for k in self._sent if k[0] == id(conn)]:
            del self._sent[key]
        for d in self.dialogues.values():
            if d.conn is conn and d.waiting is not None:
                self._end(d, GatewayFailed("the gateway's bind closed before it sent the screen"))

    def forget_ended(self, keep: int = 10_000) -> None:
        """Drop the oldest dialogues beyond ``keep`` that have ended (a load must not grow the process)."""
        dialogues = self.dialogues
        while len(dialogues) > keep:
            oldest = next(iter(dialogues))
            if not dialogues[oldest].ended:
                return
            del dialogues[oldest]
