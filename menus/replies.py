"""Rendering the services' answers: one set of texts for USSD and SMS.

Money is shown with the currency symbol, dates and times in the operator's
time zone (``23/12/2026``, ``17:05 23/12/2026``), numbers the way subscribers
write them (``012345678``). ``Replies`` is also the ``Notices`` port of the
services: the confirmation and reminder SMS use the same texts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from gateway.domain import errors as e
from gateway.domain.lifecycle import LineState
from gateway.profile import OperatorProfile
from gateway.services.model import BalanceView, ConsentView, LostReportResult, TopUpResult
from menus.catalog import Catalog


class ReplyTexts(Protocol):
    """What a channel needs to answer a subscriber; ``Replies`` is the one implementation.

    The USSD engine and the SMS router both take this port, so they say the
    same thing, and tests may pass a small fake.
    """

    def balance(self, view: BalanceView, language: str) -> str: ...

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


class Replies:
    def __init__(self, catalog: Catalog, profile: OperatorProfile) -> None:
        self.catalog = catalog
        self.profile = profile
        codes = profile.codes
        self._codes = {
            "keywords_code": codes.sms_keywords,
            "marketing_code": codes.sms_marketing,
            "optout_code": codes.marketing_optout,
        }
        # Exact type → renderer; subclasses fall back along the MRO in error().
        self._errors: dict[type[Exception], Callable[[Exception, str], str]] = {
            e.WrongPin: self._wrong_pin,
            e.GiftRefused: self._gift_refused,
            e.VoucherAlreadyUsed: lambda exc, lang: self._t("voucher_used", lang),
            e.VoucherExpired: lambda exc, lang: self._t("voucher_expired", lang),
            e.TopUpLocked: lambda exc, lang: self._t("topup_locked", lang, time=self.time(exc.until)),  # type: ignore[attr-defined]
            e.UnknownSubscriber: self._unknown,
            e.NumberRecycled: self._recycled,
            e.LineLost: lambda exc, lang: self._t("line_lost", lang),
            e.NotPrepaid: lambda exc, lang: self._t("not_prepaid", lang),
            e.BalanceAboveMaximum: lambda exc, lang: self._t(
                "balance_limit", lang, maximum=exc.maximum.display()  # type: ignore[attr-defined]
            ),
            e.InvalidPin: lambda exc, lang: self._t("invalid_pin", lang),
            e.InvalidMsisdn: lambda exc, lang: self._t("invalid_number", lang),
            e.InvalidIdNumber: lambda exc, lang: self._t("invalid_id", lang),
            e.InvalidInput: lambda exc, lang: self._t("invalid_input", lang),
            e.LostDetailsMismatch: lambda exc, lang: self._t(
                "lost_mismatch", lang, attempts=exc.attempts_left  # type: ignore[attr-defined]
            ),
            e.LostReportLocked: lambda exc, lang: self._t(
                "lost_locked", lang, time=self.time(exc.until), care=self._t("customer_care", lang)  # type: ignore[attr-defined]
            ),
            e.RateLimited: lambda exc, lang: self._t("rate_limited", lang, time=self.time(exc.until)),  # type: ignore[attr-defined]
        }

    # --- formatting ----------------------------------------------------------

    def _t(self, key: str, language: str, **params: object) -> str:
        return self.catalog.text(f"replies.{key}", language, **self._codes, **params)

    def date(self, moment: datetime | None) -> str:
        """``23/12/2026`` in the operator's zone (as ``strftime("%d/%m/%Y")``, without its parsing)."""
        if not moment:
            return "-"
        local = moment.astimezone(self.profile.time_zone)
        return f"{local.day:02d}/{local.month:02d}/{local.year}"

    def time(self, moment: datetime | None) -> str:
        """``17:05 23/12/2026`` in the operator's zone."""
        if not moment:
            return "-"
        local = moment.astimezone(self.profile.time_zone)
        return f"{local.hour:02d}:{local.minute:02d} {local.day:02d}/{local.month:02d}/{local.year}"

    def number(self, msisdn: str) -> str:
        return self.profile.number_plan.national(msisdn)

    # --- results -------------------------------------------------------------

    def balance(self, view: BalanceView, language: str) -> str:
        lines = []
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
        return self._t("help", language)

    def busy(self, language: str) -> str:
        return self._t("busy", language)

    def unavailable(self, language: str) -> str:
        return self._t("unavailable", language)

    def incomplete(self, language: str) -> str:
        """A long SMS whose parts never all arrived: ask for it again."""
        return self._t("incomplete", language)

    def error(self, exc: Exception, language: str) -> str:
        """A short, polite answer for any refusal; unknown errors get the generic one."""
        for cls in type(exc).__mro__:
            render = self._errors.get(cls)
            if render is not None:
                return render(exc, language)
        return self._t("unavailable", language)

    def _wrong_pin(self, exc: Exception, language: str) -> str:
        assert isinstance(exc, e.WrongPin)
        if exc.locked_until is not None:
            return self._t("wrong_pin_locked", language, time=self.time(exc.locked_until))
        return self._t("wrong_pin", language, attempts=exc.attempts_left)

    def _gift_refused(self, exc: Exception, language: str) -> str:
        """One text for every refused gift: it names neither the cause nor the number."""
        assert isinstance(exc, e.GiftRefused)
        if exc.locked_until is not None:
            return self._t("gift_refused_locked", language, time=self.time(exc.locked_until))
        return self._t("gift_refused", language, attempts=exc.attempts_left)

    def _unknown(self, exc: Exception, language: str) -> str:
        number = getattr(exc, "msisdn", None)
        if number:
            return self._t("unknown_number", language, number=self.number(number))
        return self._t("unknown_caller", language)

    def _recycled(self, exc: Exception, language: str) -> str:
        number = getattr(exc, "msisdn", None)
        if number:
            return self._t("number_recycled", language, number=self.number(number))
        return self._t("unknown_caller", language)

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

    def reminder(self, kind: str, view: BalanceView, language: str) -> str:
        if kind == "expiry":
            return self._t("reminder_expiry", language, amount=view.main.display(),
                           date=self.date(view.main_expires_at))
        if kind == "barred":
            return self._t("reminder_barred", language, date=self.date(view.next_deadline))
        return self._t("reminder_recycle_warning", language, date=self.date(view.next_deadline))
