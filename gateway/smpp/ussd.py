"""USSD over SMPP: a deliver_sm carrying ``ussd_service_op`` is a step of a dialogue, not an SMS.

``Session`` hands such a deliver_sm here (``UssdOverSmpp.deliver``) instead
of to the SMS hook; every other deliver_sm stays on the SMS side exactly as
before. Each one becomes a task, so a slow step never holds the link's reader:

- its TLVs (``codec.ussd_fields``) and the vendor's rule (``vendors``) say
  the step and the dialogue: a new dialogue (``short_message`` the dial
  string, ``*123*PIN#`` split by ``split_dial``), an answer, or a hang-up;
- a new dialogue or an answer goes to ``Dialogues.handle_latest`` (the path
  is kept on our side, in the session store: it survives a restart and is
  shared by the gateways of one database), a hang-up to
  ``Dialogues.close(..., Close.ABANDONED)``;
- the deliver_sm is acknowledged once the step is done, and the screen goes
  back at once, in the same write, on the bind the message came in on: a
  submit_sm with ``ussd_service_op`` 2 (USSR request, the dialogue goes on)
  or 17 (PSSR response, it ends), the vendor's session TLVs echoed, source
  and destination swapped, GSM 7-bit or UCS-2 like the SMS side. It is never
  queued in the outbox: a late USSD screen is worthless, the centre has
  given up on the dialogue by then.

A message that cannot be a step is refused in its deliver_sm_resp, never
left unanswered: malformed TLVs or an unknown ``ussd_service_op``
(``ESME_RINVOPTPARAMVAL``), the vendor's session TLV missing
(``ESME_RMISSINGOPTPARAM``), a sender that is not a number of the operator
(``ESME_RINVSRCADR``). A dial string that is not a code gets the "unknown
code" screen. The session id given to the dialogues is ``smpp:`` and a keyed
digest of the vendor's key: the dialogues log and store session ids, and the
key holds the subscriber's number.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiosmpplib import NPI, TON, PhoneNumber, SmppCommandStatus, SubmitSm
from prometheus_client import CollectorRegistry, Counter

from gateway.domain.errors import InvalidMsisdn
from gateway.domain.msisdn import NumberPlan
from gateway.domain.secrets import keyed_hash
from gateway.logs import get_logger
from gateway.smpp.codec import SmBody, UssdFields, decode_text, ussd_fields
from gateway.smpp.errors import SmppRemoteError
from gateway.smpp.text import DC_UCS2, encode_ussd
from gateway.smpp.vendors import VENDORS, Step, VendorRule
from gateway.ussd.request import BadRequest, Close, LatestRequest, split_dial
from menus.tree import Reply

log = get_logger("gateway.smpp")

S = SmppCommandStatus
#: Purpose of the keyed digest that names a dialogue (``gateway.domain.secrets.keyed_hash``).
SESSION_PURPOSE = "ussd-smpp-session"
#: Seconds a screen's submit_sm waits for its submit_sm_resp before it is forgotten.
RESPONSE_SECONDS = 60.0


class LatestDialogues(Protocol):
    """What USSD over SMPP needs of ``gateway.ussd.dialogue.Dialogues``."""

    async def handle_latest(self, request: LatestRequest, msisdn: str) -> Reply: ...

    async def close(self, session_id: str, msisdn: str, why: Close) -> object: ...


class Screens(Protocol):
    """The screens this adapter shows by itself (``menus.engine.Engine``)."""

    def unknown_code(self, language: str, code: str) -> Reply: ...

    def unavailable(self, language: str) -> Reply: ...


class Link(Protocol):
    """The bind a USSD message came in on (``gateway.smpp.session.Session``)."""

    open: bool

    def write(self, pdu: bytes) -> None: ...

    def next_seq(self) -> int: ...


Ack = Callable[[int], None]


@dataclass(frozen=True)
class UssdSmppMetrics:
    messages: Counter
    screens: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None) -> UssdSmppMetrics:
        reg = registry if registry is not None else CollectorRegistry()
        return cls(
            messages=Counter("selfcare_ussd_smpp_messages", "USSD deliver_sm by step "
                             "(new, resume, close) or refusal (refused)", ["step"], registry=reg),
            screens=Counter("selfcare_ussd_smpp_screens", "USSD screens submitted, by the centre's answer "
                            "(ok, error)", ["outcome"], registry=reg),
        )


class UssdOverSmpp:
    def __init__(self, *, dialogues: LatestDialogues, screens: Screens, number_plan: NumberPlan,
                 vendor: str, secret: str, language: str, registry: CollectorRegistry | None = None) -> None:
        self._dialogues = dialogues
        self._screens = screens
        self._plan = number_plan
        self.rule: VendorRule = VENDORS[vendor]
        self._secret = secret
        #: Language of the screens shown before the dialogues know the caller (the profile's default).
        self._language = language
        self._metrics = UssdSmppMetrics.create(registry)
        self._tasks: set[asyncio.Task[None]] = set()
        #: Screens submitted and not answered yet: sequence number → monotonic time sent.
        self._sent: dict[int, float] = {}

    def session_id(self, key: str) -> str:
        """``smpp:`` and a keyed digest of the vendor's key (the key holds the subscriber's number)."""
        return "smpp:" + keyed_hash(self._secret, SESSION_PURPOSE, f"{self.rule.name}\x00{key}")[:24]

    def deliver(self, sm: SmBody, ack: Ack, link: Link) -> None:
        """A deliver_sm carrying ``ussd_service_op``: handled in a task of its own."""
        task = asyncio.create_task(self._step(sm, ack, link))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def answered(self, sequence: int, status: int) -> bool:
        """A submit_sm_resp: True when it answered one of our screens."""
        if self._sent.pop(sequence, None) is None:
            return False
        self._metrics.screens.labels("ok" if status == 0 else "error").inc()
        if status != 0:
            log.warning("ussd_smpp_screen_refused", status=f"0x{status:08X}")
        return True

    async def drain(self, timeout: float) -> None:
        """Let the steps in progress finish (and send their screens) before the link goes."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), timeout)

    # --- one step -------------------------------------------------------------------------------

    async def _step(self, sm: SmBody, ack: Ack, link: Link) -> None:
        acked = False

        def once(status: int) -> None:
            nonlocal acked
            acked = True
            ack(status)

        try:
            await self._serve(sm, once, link)
        except Exception:  # noqa: BLE001 - never leave the centre without an answer; the trace for the operator
            log.exception("ussd_smpp_step_failed")
            if not acked:
                once(S.ESME_RX_T_APPN)

    async def _serve(self, sm: SmBody, ack: Ack, link: Link) -> None:
        try:
            fields = ussd_fields(sm.tlvs)
            assert fields is not None  # the session hands over only messages that carry the TLV
            inbound = self.rule.read(fields, sm.source, sm.destination)
        except SmppRemoteError as exc:
            missing = "missing" in str(exc)
            self._refuse(ack, S.ESME_RMISSINGOPTPARAM if missing else S.ESME_RINVOPTPARAMVAL, str(exc))
            return
        if inbound is None:
            self._refuse(ack, S.ESME_RINVOPTPARAMVAL, f"ussd_service_op {fields.service_op} has no meaning "
                                                        f"for ussd_vendor {self.rule.name}")
            return
        try:
            msisdn = self._plan.normalise(sm.source)
        except InvalidMsisdn:
            self._refuse(ack, S.ESME_RINVSRCADR, "source_addr is not a number of this operator")
            return
        self._metrics.messages.labels(inbound.step.value).inc()
        sid = self.session_id(inbound.key)
        if inbound.step is Step.CLOSE:
            try:
                await self._dialogues.close(sid, msisdn, Close.ABANDONED)
            finally:
                ack(S.ESME_ROK)  # the subscriber is gone either way: nothing for the centre to resend
            return
        try:
            reply = await self._dialogues.handle_latest(self._request(sid, sm, msisdn, inbound.step), msisdn)
        except BadRequest:
            reply = self._screens.unknown_code(self._language, self._text(sm)[:20])
        except Exception:  # noqa: BLE001 - the subscriber still gets a screen, the operator the trace
            log.exception("ussd_smpp_step_failed", session_id=sid)
            reply = self._screens.unavailable(self._language)
        ack(S.ESME_ROK)
        self._send(link, sm, self.rule.reply(fields, reply.end), reply)

    def _request(self, sid: str, sm: SmBody, msisdn: str, step: Step) -> LatestRequest:
        """Raises BadRequest: a new dialogue whose short_message is not a dial string."""
        text = self._text(sm)
        if step is Step.NEW:
            code, segments = split_dial(text, "short_message")
            return LatestRequest(sid, code, sm.source, True, segments, restart=True)
        # destination_addr may be the code or the centre's own address: the dialogue knows its code.
        return LatestRequest(sid, "", sm.source, False, (text,), restart=True)

    @staticmethod
    def _text(sm: SmBody) -> str:
        return decode_text(sm.payload, sm.data_coding).strip()

    def _refuse(self, ack: Ack, status: SmppCommandStatus, reason: str) -> None:
        self._metrics.messages.labels("refused").inc()
        log.warning("ussd_smpp_refused", status=status.name, reason=reason)
        ack(status)

    def _send(self, link: Link, sm: SmBody, fields: UssdFields, reply: Reply) -> None:
        try:
            dc, data = encode_ussd(reply.text)
        except ValueError as exc:
            log.error("ussd_smpp_screen_too_long", error=str(exc))
            reply = self._screens.unavailable(self._language)
            dc, data = encode_ussd(reply.text)
        if not link.open:
            log.warning("ussd_smpp_screen_lost", reason="the bind closed during the step")
            return
        message = SubmitSm(
            short_message=" ", source=PhoneNumber(sm.destination[:20], TON.UNKNOWN, NPI.UNKNOWN),
            destination=PhoneNumber(sm.source, TON.INTERNATIONAL, NPI.ISDN), service_type=sm.service_type[:5],
            esm_class=0, registered_delivery=0, encoding="ucs2" if dc == DC_UCS2 else None,
            auto_message_payload=False, optional_params=fields.params(),
        )
        message.set_encoded_message(data)
        message.sequence_num = link.next_seq()
        now = time.monotonic()
        if len(self._sent) > 4096:  # screens whose answer never came: forget them
            self._sent = {seq: at for seq, at in self._sent.items() if at > now - RESPONSE_SECONDS}
        self._sent[message.sequence_num] = now
        link.write(message.pdu())
