"""Keyword SMS to services: one batch of saved MO messages in, replies queued out.

Runs on a database lane (``Batcher.call``, off the event loop): the SMPP read loop only saves MO to the
inbox; this router answers them afterwards, in batches. For every inbox row
it parses the keyword, calls the service, renders the answer with the shared
texts (``menus.replies.Replies``: the same words as the USSD screens) in the
subscriber's language, and then, in ONE transaction for the whole batch,
queues the replies (kind ``reply``, from the short code written to) and marks
the rows handled. A crash in between leaves rows ``received``; they are
answered again on restart, and a top-up replays by its request key
``sms:<PDU digest>`` instead of crediting twice — so does a TOP the SMSC
delivered twice without the second copy being recognised as such.

Rate limits are decided by the caller on the event loop (the limiter is
shared with USSD and is not thread-safe) and passed in as ``refusals``: a
refused row is answered with the error text, or, when ``None``, marked
handled with no reply (a flood must not make us flood back).
``give_up`` ends a row the router failed on again and again: marked
``failed`` with the error, answered once with the "unavailable" text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.domain.channels import Channel
from gateway.domain.errors import GatewayError, InvalidMsisdn, UnknownSubscriber
from gateway.domain.msisdn import NumberPlan
from gateway.logs import get_logger
from gateway.services import sms_delivery
from gateway.services.api import Services
from gateway.services.model import (
    OutgoingSms,
    ReportLost,
    TopUp,
)
from gateway.services.sms_delivery import InboxMessage
from gateway.sms import keywords as kw
from menus.replies import ReplyTexts

log = get_logger("gateway.sms")


@dataclass(frozen=True)
class Answer:
    inbox_id: int
    reply: OutgoingSms | None
    status: str  # handled | failed
    error: str | None = None


class KeywordRouter:
    def __init__(self, *, services: Services, texts: ReplyTexts) -> None:
        self._services = services
        self._texts = texts
        self._profile = services.profile
        self._ctx = services.ctx
        self._db = services.ctx.store

    @property
    def number_plan(self) -> NumberPlan:
        return self._profile.number_plan

    def senders(self, inbox_ids: Sequence[int]) -> dict[int, str]:
        """Inbox id → normalised sender of the rows still to answer (on a database lane)."""
        rows = sms_delivery.inbox_messages(self._db, inbox_ids)
        found: dict[int, str] = {}
        for inbox_id in inbox_ids:
            row = rows.get(inbox_id)
            if row is None or row.status != "received":
                continue
            try:
                found[inbox_id] = self._profile.number_plan.normalise(row.source)
            except InvalidMsisdn:
                continue
        return found

    def handle(self, inbox_ids: Sequence[int],
               refusals: Mapping[int, GatewayError | None] | None = None) -> int:
        """Answer the given inbox rows (sync, on a database lane); returns how many replies were queued.

        ``refusals``: rows not to serve (rate-limited), with the error to
        answer, or None to leave unanswered.
        """
        rows = sms_delivery.inbox_messages(self._db, inbox_ids)
        refusals = refusals or {}
        answers: list[Answer] = []
        for inbox_id in inbox_ids:
            row = rows.get(inbox_id)
            if row is None or row.status != "received":
                continue
            if inbox_id in refusals:
                answers.append(self._refuse(row, refusals[inbox_id]))
            else:
                answers.append(self._answer(row))
        if not answers:
            return 0
        now = self._ctx.clock.now()
        return sms_delivery.answer_inbox(self._db, [a.reply for a in answers if a.reply is not None],
                                         [(a.inbox_id, a.status, a.error) for a in answers], now)

    def give_up(self, inbox_id: int, error: str) -> bool:
        """Mark a row the router keeps failing on ``failed`` and answer "unavailable" once.

        Returns False when the row was already answered (nothing to do).
        """
        row = sms_delivery.inbox_messages(self._db, [inbox_id]).get(inbox_id)
        if row is None or row.status != "received":
            return False
        reply = None
        try:
            msisdn = self._profile.number_plan.normalise(row.source)
        except InvalidMsisdn:
            msisdn = None
        if msisdn is not None:
            try:
                lang = self._language(msisdn)
            except Exception:  # noqa: BLE001 - the database may be what is failing
                lang = str(self._profile.default_language)
            reply = OutgoingSms(msisdn, self._texts.unavailable(lang), row.destination, "reply",
                                f"reply:{inbox_id}")
        sms_delivery.give_up_inbox(self._db, inbox_id, reply, error[:500], self._ctx.clock.now())
        log.error("sms_given_up", inbox_id=inbox_id, error=error[:200])
        return True

    def _refuse(self, row: InboxMessage, error: GatewayError | None) -> Answer:
        inbox_id, short_code = row.inbox_id, row.destination
        if error is None:
            return Answer(inbox_id, None, "handled", "rate limited (not answered)")
        msisdn = self._profile.number_plan.normalise(row.source)
        self._services.note_activity(msisdn)
        text = self._texts.error(error, self._language(msisdn))
        log.info("sms_handled", msisdn=msisdn, inbox_id=inbox_id, command="-", outcome=type(error).__name__)
        return Answer(inbox_id, OutgoingSms(msisdn, text, short_code, "reply", f"reply:{inbox_id}"),
                      "handled", type(error).__name__)

    def _answer(self, row: InboxMessage) -> Answer:
        inbox_id, short_code = row.inbox_id, row.destination
        try:
            msisdn = self._profile.number_plan.normalise(row.source)
        except InvalidMsisdn as exc:
            log.warning("sms_unanswerable", inbox_id=inbox_id, reason=str(exc))
            return Answer(inbox_id, None, "failed", "sender is not a subscriber number")
        self._services.note_activity(msisdn)  # an MO SMS is use of the line (004 3(B).12)
        if row.incomplete:
            # Parts of a long message never came: what did is not a command (a cut PIN is no wrong PIN).
            lang = self._language(msisdn)
            log.info("sms_handled", msisdn=msisdn, inbox_id=inbox_id, command="-", outcome="incomplete")
            return Answer(inbox_id, OutgoingSms(msisdn, self._texts.incomplete(lang), short_code, "reply",
                                                f"reply:{inbox_id}"), "handled", "incomplete")
        command = kw.parse(row.text, short_code, keywords_code=self._profile.codes.sms_keywords,
                           marketing_code=self._profile.codes.sms_marketing, stored=True,
                           offered=self._profile.care.offered, number_plan=self._profile.number_plan)
        try:
            text, lang = self._run(command, msisdn, f"sms:{row.digest or inbox_id}")
            outcome = "ok"
        except GatewayError as exc:
            lang = self._language(msisdn)
            text, outcome = self._texts.error(exc, lang), type(exc).__name__
        log.info("sms_handled", msisdn=msisdn, inbox_id=inbox_id, command=type(command).__name__,
                 outcome=outcome)
        return Answer(inbox_id, OutgoingSms(msisdn, text, short_code, "reply",
                                            f"reply:{inbox_id}"), "handled")

    def _language(self, msisdn: str) -> str:
        try:
            return self._services.subscriber_language(msisdn)
        except GatewayError:
            return str(self._profile.default_language)

    def _run(self, command: kw.Command, msisdn: str, request_key: str) -> tuple[str, str]:
        """The reply to ``command`` and the language it is in; ``request_key`` makes a TOP idempotent."""
        s, t = self._services, self._texts
        if isinstance(command, kw.Balance):  # the view carries the language: one read of the line, not two
            balance = s.check_balance(msisdn)
            return t.balance(balance, balance.language), balance.language
        lang = self._language(msisdn)
        match command:
            case kw.BillCommand():
                bill = s.check_bill(msisdn)
                return t.bill(bill, bill.language), bill.language
            case kw.TopUpCommand(pin=pin, target=target):
                to = self._profile.number_plan.normalise(target) if target else None
                result = s.top_up(TopUp(msisdn, pin, Channel.SMS, to, request_key=request_key))
                return t.topup(result, lang), lang
            case kw.LostCommand(msisdn=lost, id_number=id_number):
                lost_msisdn = self._profile.number_plan.normalise(lost)
                report = s.report_lost_sim(ReportLost(msisdn, lost_msisdn, id_number, Channel.SMS))
                return t.lost(report, lost_msisdn, lang), lang
            case kw.Language(language=new) if new in self._profile.languages:
                s.set_language(msisdn, new)
                return t.language_set(new), new
            case kw.Consent(opt_in=opt_in):
                view = s.set_marketing_consent(msisdn, opt_in, Channel.SMS)
                return t.consent_changed(view, lang), lang
            case kw.StatementCommand():
                return t.statement(s.ask_statement(msisdn, Channel.SMS), lang), lang
            case kw.DisputeCommand(reason=reason):
                return t.dispute(s.dispute_bill(msisdn, reason, Channel.SMS), lang), lang
            case kw.ComplaintCommand(text=text):
                return t.complaint(s.file_complaint(msisdn, text, Channel.SMS), lang), lang
            case kw.NumberChangeCommand():
                return t.number_change(s.ask_number_change(msisdn, Channel.SMS), lang), lang
            case _:
                if isinstance(command, kw.Unknown):
                    try:
                        return t.consent(s.marketing_consent(msisdn), lang), lang
                    except UnknownSubscriber:
                        pass
                return t.help(lang), lang
