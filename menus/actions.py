"""The action table: what a menu's action name calls, and how its result reads.

Each name is a method of ``menus.ports.UseCases`` (``Services`` in production);
the loader refuses a menu naming anything else. ``invoke`` is synchronous: it
calls the services, which wait on the store, so the channel runs it through
its batcher, off the event loop. ``render`` turns the result into the
subscriber's text through the shared replies (the same texts the SMS channel sends).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.domain.channels import Channel
from gateway.domain.commands import ReportLost, TopUp
from gateway.domain.secrets import Sealed
from menus.ports import UseCases
from menus.replies import ReplyTexts


class Texts(Protocol):
    """``menus.texts.Catalog``: every text by key and language."""

    def text(self, key: str, language: str, **params: Any) -> str: ...

    def has(self, key: str) -> bool: ...


@dataclass(frozen=True)
class ActionSpec:
    name: str
    #: Changes something: its result is kept so that a resent request gets it
    #: again instead of acting twice.
    writes: bool
    #: Argument names the menu may pass (all required unless in ``optional``).
    params: frozenset[str]
    optional: frozenset[str]
    invoke: Callable[[UseCases, str, Args, str], Any]
    render: Callable[[ReplyTexts, Any, Args, str], str]


#: An action's arguments: as typed, or ``Sealed`` for a secret replayed from a kept path.
Args = Mapping[str, "str | Sealed"]


def _bool(text: str | Sealed) -> bool:
    return _text(text).strip().lower() in ("1", "true", "yes", "on")


def _text(value: str | Sealed | None) -> str:
    """An argument that is never a secret (a number, a language, a flag)."""
    if isinstance(value, Sealed):
        raise TypeError("a sealed answer where a plain one was expected")
    return value or ""


ACTION_TABLE: Mapping[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "check_balance", False, frozenset(), frozenset(),
            lambda s, msisdn, a, key: s.check_balance(msisdn),
            lambda r, result, a, lang: r.balance(result, lang),
        ),
        ActionSpec(
            "check_bill", False, frozenset(), frozenset(),
            lambda s, msisdn, a, key: s.check_bill(msisdn),
            lambda r, result, a, lang: r.bill(result, lang),
        ),
        ActionSpec(
            "top_up", True, frozenset({"pin", "target"}), frozenset({"target"}),
            lambda s, msisdn, a, key: s.top_up(
                TopUp(msisdn, a["pin"], Channel.USSD, target=_text(a.get("target")) or None, request_key=key)
            ),
            lambda r, result, a, lang: r.topup(result, lang),
        ),
        ActionSpec(
            "report_lost_sim", True, frozenset({"number", "id_number"}), frozenset(),
            lambda s, msisdn, a, key: s.report_lost_sim(
                ReportLost(msisdn, _text(a["number"]), a["id_number"], Channel.USSD)
            ),
            lambda r, result, a, lang: r.lost(result, _text(a["number"]), lang),
        ),
        ActionSpec(
            "marketing_consent", False, frozenset(), frozenset(),
            lambda s, msisdn, a, key: s.marketing_consent(msisdn),
            lambda r, result, a, lang: r.consent(result, lang),
        ),
        ActionSpec(
            "set_marketing_consent", True, frozenset({"opt_in"}), frozenset(),
            lambda s, msisdn, a, key: s.set_marketing_consent(msisdn, _bool(a["opt_in"]), Channel.USSD),
            lambda r, result, a, lang: r.consent_changed(result, lang),
        ),
        # Written requests to customer care (004 clauses 5.1, 7.6, 9.1, 9.3, 10.1).
        ActionSpec(
            "ask_statement", True, frozenset(), frozenset(),
            lambda s, msisdn, a, key: s.ask_statement(msisdn, Channel.USSD),
            lambda r, result, a, lang: r.statement(result, lang),
        ),
        ActionSpec(
            "dispute_bill", True, frozenset({"reason"}), frozenset({"reason"}),
            lambda s, msisdn, a, key: s.dispute_bill(msisdn, _text(a.get("reason")), Channel.USSD),
            lambda r, result, a, lang: r.dispute(result, lang),
        ),
        ActionSpec(
            "file_complaint", True, frozenset({"text"}), frozenset(),
            lambda s, msisdn, a, key: s.file_complaint(msisdn, _text(a["text"]), Channel.USSD),
            lambda r, result, a, lang: r.complaint(result, lang),
        ),
        ActionSpec(
            "ask_number_change", True, frozenset(), frozenset(),
            lambda s, msisdn, a, key: s.ask_number_change(msisdn, Channel.USSD),
            lambda r, result, a, lang: r.number_change(result, lang),
        ),
        ActionSpec(
            "set_language", True, frozenset({"language"}), frozenset(),
            lambda s, msisdn, a, key: s.set_language(msisdn, _text(a["language"])),
            # The confirmation is in the language just chosen.
            lambda r, result, a, lang: r.language_set(str(result)),
        ),
    )
}

