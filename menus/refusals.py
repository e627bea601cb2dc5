"""What a refusal says: each ``gateway.domain.errors`` exception -> a short, polite text.

One table for USSD and SMS, keyed by the exception's class; a subclass without
its own line falls back along its MRO, and an unknown error gets the generic
"unavailable" text. ``Wording`` is the operator's way of writing that these
texts and the replies (``menus.replies``) share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from datetime import datetime

from gateway.domain import errors as e
from gateway.profile import OperatorProfile
from menus.texts import Catalog


class Wording:
    """The operator's way of writing: texts with the profile's codes filled in, money with its
    currency, dates and times in its zone, numbers as its subscribers write them."""

    def __init__(self, catalog: Catalog, profile: OperatorProfile) -> None:
        self.catalog = catalog
        self.profile = profile
        codes = profile.codes
        self._codes = {
            "keywords_code": codes.sms_keywords,
            "marketing_code": codes.sms_marketing,
            "optout_code": codes.marketing_optout,
            # LANG EN|KM: what the LANG keyword takes in this profile.
            "languages": "|".join(language.upper() for language in profile.languages),
        }

    def _t(self, key: str, language: str, **params: object) -> str:
        return self.catalog.text(f"replies.{key}", language, **self._codes, **params)

    def _c(self, key: str, language: str, **params: object) -> str:
        """A text of ``care.toml`` (the customer-care requests)."""
        return self.catalog.text(f"care.{key}", language, **self._codes, **params)

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

    def day(self, day: dt.date | None) -> str:
        """A local day (a bill's dates), as ``date`` writes it."""
        return day.strftime("%d/%m/%Y") if day else "-"

    def number(self, msisdn: str) -> str:
        return self.profile.number_plan.national(msisdn)

    def _reissue_fee(self) -> str:
        rule = self.profile.lifecycle.inactivity
        return rule.reissue_fee.display() if rule is not None else "-"


class Refusals(Wording):
    """``error``: the text of any refusal, by the exception's class."""

    def __init__(self, catalog: Catalog, profile: OperatorProfile) -> None:
        super().__init__(catalog, profile)
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
            e.NotPostpaid: lambda exc, lang: self._t("not_postpaid", lang),
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
            # Written requests to customer care (004 clauses 5.1, 7.6, 9).
            e.NoBill: lambda exc, lang: self._c("no_bill", lang),
            e.StatementRefused: self._statement_refused,
            e.DisputeSettled: lambda exc, lang: self._c("dispute_settled", lang, reference=exc.reference),  # type: ignore[attr-defined]
            e.ArrearsOutstanding: lambda exc, lang: self._c(
                "number_change_arrears", lang, amount=exc.arrears.display()  # type: ignore[attr-defined]
            ),
            e.EmptyComplaint: lambda exc, lang: self._c("complaint_empty", lang),
            e.ComplaintTooLong: lambda exc, lang: self._c("complaint_too_long", lang, maximum=exc.maximum),  # type: ignore[attr-defined]
        }

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

    def _statement_refused(self, exc: Exception, language: str) -> str:
        assert isinstance(exc, e.StatementRefused)
        policy = self.profile.care.statement
        if exc.reason == "period_too_old":
            days = policy.max_period_age.days if policy else ""
            return self._c("statement_too_old", language, days=days, date=self.day(exc.last_day))
        days = policy.max_after_issue.days if policy else ""
        return self._c("statement_too_late", language, days=days, date=self.day(exc.last_day))
