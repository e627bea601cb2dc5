"""Rendering the services' answers: one set of texts for USSD and SMS.

Money is shown with the currency symbol, dates and times in the operator's
time zone (``23/12/2026``, ``17:05 23/12/2026``), numbers the way subscribers
write them (``012345678``). ``Replies`` is also the ``Notices`` port of the
services: the confirmation and reminder SMS use the same texts.
"""

from __future__ import annotations

from typing import Protocol

from gateway.domain.lifecycle import LineState
from menus.ports import (
    BalanceView,
    BillView,
    ComplaintResult,
    ConsentView,
    DisputeResolved,
    DisputeResult,
    LostReportResult,
    NumberChangeResult,
    StatementLine,
    StatementResult,
    TopUpResult,
)
from menus.refusals import Refusals


class ReplyTexts(Protocol):
    """What a channel needs to answer a subscriber; ``Replies`` is the one implementation.

    The USSD engine and the SMS router both take this port, so they say the
    same thing, and tests may pass a small fake.
    """

    def balance(self, view: BalanceView, language: str) -> str: ...

    def bill(self, view: BillView, language: str) -> str: ...

    def topup(self, result: TopUpResult, language: str) -> str: ...

    def lost(self, result: LostReportResult, msisdn: str, language: str) -> str: ...

    def consent(self, view: ConsentView, language: str) -> str: ...

    def consent_changed(self, view: ConsentView, language: str) -> str: ...

    def language_set(self, language: str) -> str: ...

    def error(self, exc: Exception, language: str) -> str: ...

    def help(self, language: str) -> str: ...

    def busy(self, language: str) -> str: ...

    def unavailable(self, language: str) -> str: ...

    def incomplete(self, language: str) -> str: ...

    def statement(self, result: StatementResult, language: str) -> str: ...

    def dispute(self, result: DisputeResult, language: str) -> str: ...

    def complaint(self, result: ComplaintResult, language: str) -> str: ...

    def number_change(self, result: NumberChangeResult, language: str) -> str: ...


class Replies(Refusals):
    """Every answer a subscriber reads: the services' results (USSD screens, SMS replies) and the SMS
    the services queue (``Notices``); a refusal reads as ``Refusals.error`` says."""

    # --- results -------------------------------------------------------------

    def balance(self, view: BalanceView, language: str) -> str:
        lines = []
        if view.postpaid is not None:
            # 004: the balance code of a postpaid line shows its bill, dues against the deposit, unbilled usage.
            if view.main:
                lines.append(self._t("balance_postpaid", language, amount=view.main.display()))
            lines.append(self.bill(view.postpaid, language))
            return "\n".join(lines)
        if view.type != "prepaid":
            lines.append(self._t("balance_postpaid", language, amount=view.main.display()))
        elif view.main and view.state is LineState.ACTIVE:
            lines.append(self._t("balance_main", language, amount=view.main.display(),
                                 date=self.date(view.main_expires_at)))
        else:
            lines.append(self._t("balance_main_expired", language, amount=view.main.display()))
        if view.promo:
            lines.append(self._t("balance_promo", language, amount=view.promo.display(),
                                 date=self.date(view.promo_expires_at)))
        if view.restorable:
            lines.append(self._t("balance_restorable", language, amount=view.restorable.display(),
                                 date=self.date(view.restorable_until)))
        if view.state is LineState.OUTGOING_BARRED:
            # Top up before the line is fully barred; that is also when the number
            # starts counting down to recycling.
            lines.append(self._t("state_outgoing_barred", language, date=self.date(view.next_deadline)))
        elif view.state is LineState.FULLY_BARRED:
            lines.append(self._t("state_fully_barred", language, date=self.date(view.next_deadline)))
        elif view.state is LineState.DEACTIVATED:
            lines.append(self._t("state_deactivated", language, date=self.date(view.next_deadline),
                                 fee=self._reissue_fee()))
        return "\n".join(lines)

    def bill(self, view: BillView, language: str) -> str:
        """The latest bill and its due day, dues against the deposit, unbilled usage, and what
        happens next: late penalties (000 "pay for the Services"), the 7.7 notice or discontinuation."""
        lines = []
        latest = view.latest
        if latest is None:
            lines.append(self._t("bill_none", language))
        else:
            key = "bill_disputed" if latest.disputed else "bill_paid" if latest.paid_up else "bill_latest"
            lines.append(self._t(key, language, start=self.day(latest.period_start), end=self.day(latest.period_end),
                                 amount=latest.amount.display(), date=self.day(latest.due_on)))
        lines.append(self._t("bill_dues", language, dues=view.dues.display(), deposit=view.deposit.display()))
        if view.unbilled:
            lines.append(self._t("bill_unbilled", language, amount=view.unbilled.display()))
        if view.overdue and view.penalty_basis_points:
            lines.append(self._t("bill_overdue_penalty", language, rate=_percent(view.penalty_basis_points),
                                 penalties=view.penalties.display()))
        if view.discontinued:
            lines.append(self._t("bill_discontinued", language))
        elif view.discontinue_at is not None:
            lines.append(self._t("bill_notice", language, date=self.time(view.discontinue_at)))
        return "\n".join(lines)

    def topup(self, result: TopUpResult, language: str) -> str:
        """What the person who topped up sees (a gift does not reveal the other's balance)."""
        if result.gift:
            return self._t("topup_gift_ok", language, amount=result.credited.display(),
                           number=self.number(result.msisdn))
        text = self._t("topup_ok", language, amount=result.credited.display(),
                       balance=result.balance.display(), date=self.date(result.expires_at))
        if result.restored:
            text += "\n" + self._t("topup_restored", language, restored=result.restored.display())
        return text

    def lost(self, result: LostReportResult, msisdn: str, language: str) -> str:
        return self._t("lost_ok", language, number=self.number(msisdn), time=self.time(result.reported_at),
                       reference=result.reference)

    def consent(self, view: ConsentView, language: str) -> str:
        return self._t("consent_on" if view.opt_in else "consent_off", language)

    def consent_changed(self, view: ConsentView, language: str) -> str:
        return self._t("consent_started" if view.opt_in else "consent_stopped", language)

    def language_set(self, language: str) -> str:
        return self._t("language_set", language)

    def help(self, language: str) -> str:
        """The keywords to 888; BILL and the customer-care requests only where the profile has them
        (a ``[postpaid]`` table; ``care.offered``): a keyword the gateway would not understand is not offered."""
        text = self._t("help", language)
        offered = (["bill"] if self.profile.has_postpaid else []) + [
            name for name in ("statement", "dispute", "complaint", "number_change")
            if name in self.profile.care.offered]
        if offered:
            items = ", ".join(self._c(f"help_{name}", language) for name in offered)
            text += " " + self._c("help", language, items=items)
        return text

    def busy(self, language: str) -> str:
        return self._t("busy", language)

    def unavailable(self, language: str) -> str:
        return self._t("unavailable", language)

    def incomplete(self, language: str) -> str:
        """A long SMS whose parts never all arrived: ask for it again."""
        return self._t("incomplete", language)

    # --- written requests to customer care (004) -------------------------------

    def statement(self, result: StatementResult, language: str) -> str:
        """7.6: the statement is accepted (its lines follow by SMS)."""
        return self._c("statement_ok" if result.charged else "statement_again", language,
                       reference=result.reference, start=self.day(result.period_start),
                       end=self.day(result.period_end), amount=result.bill_amount.display(),
                       messages=result.messages, charge=result.charge.display())

    def statement_part(self, result: StatementResult, lines: tuple[StatementLine, ...], part: int, parts: int,
                       language: str) -> str:
        """One SMS of a statement: a heading, then its usage lines."""
        head = self._c("statement_head", language, reference=result.reference, part=part, parts=parts,
                       start=self.day(result.period_start), end=self.day(result.period_end))
        body = [self._statement_line(line, language) for line in lines] or [self._c("statement_none", language)]
        return "\n".join([head, *body])

    def _statement_line(self, line: StatementLine, language: str) -> str:
        when = line.started_at.astimezone(self.profile.time_zone).strftime("%d/%m %H:%M")
        amount = line.amount.display()
        if line.kind == "voice":
            minutes, seconds = divmod(line.quantity, 60)
            return self._c("statement_voice", language, time=when, duration=f"{minutes}:{seconds:02d}",
                           amount=amount)
        if line.kind == "data":
            return self._c("statement_data", language, time=when, kb=f"{-(-line.quantity // 1024):,}", amount=amount)
        return self._c("statement_sms", language, time=when, count=line.quantity, amount=amount)

    def dispute(self, result: DisputeResult, language: str) -> str:
        """3(B).4, 9.3: the reference, both deadlines, the amount held as deposit."""
        return self._c("dispute_again" if result.repeated else "dispute_ok", language,
                       reference=result.reference, start=self.day(result.period_start),
                       end=self.day(result.period_end), amount=result.amount.display(),
                       own=self.date(result.own_network_by), other=self.date(result.other_provider_by))

    def dispute_resolved(self, resolved: DisputeResolved, language: str) -> str:
        """9.3 "information on the final bill shall be given to the subscriber"."""
        key = "dispute_upheld" if resolved.status == "upheld" else "dispute_rejected"
        text = self._c(key, language, reference=resolved.reference, credit=resolved.credit.display(),
                       start=self.day(resolved.period_start), end=self.day(resolved.period_end),
                       final=resolved.final.display())
        if resolved.note:
            text += " " + self._c("dispute_note", language, note=resolved.note)
        return text

    def complaint(self, result: ComplaintResult, language: str) -> str:
        """9.1, 10.1: recorded in writing (and a call is not a complaint)."""
        return self._c("complaint_ok", language, reference=result.reference)

    def complaint_answered(self, reference: str, note: str, language: str) -> str:
        return self._c("complaint_answer", language, reference=reference, note=note)

    def number_change(self, result: NumberChangeResult, language: str) -> str:
        """5.1: recorded; the application is signed at a shop, for the fee."""
        return self._c("number_change_again" if result.repeated else "number_change_ok", language,
                       reference=result.reference, fee=result.fee.display(), days=result.change_within_days)

    # --- Notices (SMS the services queue) -------------------------------------

    def topup_confirmation(self, result: TopUpResult, language: str) -> str:
        text = self._t("topup_received", language, amount=result.credited.display(),
                       balance=result.balance.display(), date=self.date(result.expires_at))
        if result.restored:
            text += " " + self._t("topup_restored", language, restored=result.restored.display())
        return text

    def gift_sent(self, result: TopUpResult, language: str) -> str:
        return self._t("topup_gift_ok", language, amount=result.credited.display(),
                       number=self.number(result.msisdn))

    def lost_confirmation(self, result: LostReportResult, msisdn: str, language: str) -> str:
        return self.lost(result, msisdn, language)

    def postpaid_notice(self, kind: str, view: BillView, language: str) -> str:
        """The SMS of the deposit rule (004 7.7) and the reminder before a bill's due day (7.4)."""
        if kind == "bill_due":
            latest = view.latest
            owed = latest.outstanding if latest else view.dues
            return self._t("reminder_bill_due", language, amount=owed.display(),
                           date=self.day(latest.due_on if latest else None), dues=view.dues.display())
        if kind == "deposit_notice":
            rule = self.profile.policy.postpaid.deposit_rule if self.profile.policy.postpaid else None
            return self._t("notice_deposit", language, dues=view.dues.display(), deposit=view.deposit.display(),
                           percent=rule.threshold_percent if rule else "", date=self.time(view.discontinue_at))
        if kind == "discontinued":
            return self._t("notice_discontinued", language, dues=view.dues.display())
        return self._t("notice_reactivated", language, dues=view.dues.display())

    def reminder(self, kind: str, view: BalanceView, language: str) -> str:
        if kind == "expiry":
            return self._t("reminder_expiry", language, amount=view.main.display(),
                           date=self.date(view.main_expires_at))
        if kind == "barred":
            return self._t("reminder_barred", language, date=self.date(view.next_deadline))
        if kind == "deactivation":
            return self._t("reminder_deactivation", language, date=self.date(view.next_deadline))
        if kind == "line_expiry":
            return self._t("reminder_line_expiry", language, date=self.date(view.next_deadline),
                           fee=self._reissue_fee())
        return self._t("reminder_recycle_warning", language, date=self.date(view.next_deadline))


def _percent(basis_points: int) -> str:
    """100 -> "1", 150 -> "1.5"."""
    whole, frac = divmod(basis_points, 100)
    return str(whole) if not frac else f"{whole}.{frac:02d}".rstrip("0")
