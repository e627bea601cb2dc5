"""``Services``: the use cases bound to one ``Context``.

Channels hold a ``Services`` and call its methods; menu files and SMS
keywords name these methods (``ACTIONS``), and the menu loader refuses an
unknown name at start-up. All methods are synchronous (on the store port); async
channels run them through ``gateway.services.batcher.Batcher``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.domain.channels import Channel
from gateway.domain.money import Money
from gateway.domain.secrets import Sealed, keyed_hash, seal
from gateway.profile import OperatorProfile
from gateway.services import (
    accounts,
    care,
    consent,
    inactivity,
    journal,
    lifecycle,
    lost,
    oversight,
    postpaid,
    rate_limits,
    sessions,
    topup,
    usage,
    vouchers,
)
from gateway.services.activity import ActivityLog
from gateway.services.model import (
    BalanceView,
    BillView,
    ComplaintResult,
    ConsentView,
    DisputeResolved,
    DisputeResult,
    LostLocksCleared,
    LostReportResult,
    NumberChangeResult,
    ReportLost,
    StatementResult,
    TopUp,
    TopUpResult,
)
from gateway.services.ports import Context
from gateway.store.port import ComplaintRow, DialogueRecord, DisputeRow, SessionReport, SessionRow, SessionState

#: The use cases a menu or keyword may name.
ACTIONS = frozenset(
    {"check_balance", "check_bill", "top_up", "report_lost_sim", "set_marketing_consent", "marketing_consent",
     "set_language", "subscriber_language",
     # Written requests to customer care (004 clauses 5.1, 7.6, 9), where the profile offers them.
     "ask_statement", "dispute_bill", "file_complaint", "ask_number_change"}
)

ANSWERS_PURPOSE = "ussd-answers"


class Services:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        #: Activity the channels note (``note_activity``), written by ``flush_activity``.
        self.activity = ActivityLog(ctx)

    @property
    def profile(self) -> OperatorProfile:
        return self.ctx.profile

    # --- secrets the channels keep (never in clear) -------------------------

    def seal_pin(self, pin: str) -> Sealed:
        return topup.seal_pin(self.ctx, pin)

    def seal_id_number(self, id_number: str) -> Sealed:
        return accounts.seal_id_number(self.ctx, id_number)

    def answer_key(self, answers: str) -> str:
        """A keyed hash of a USSD answer path that holds a secret answer (what a session keeps)."""
        return "#" + keyed_hash(self.ctx.pin_secret, ANSWERS_PURPOSE, answers)

    def seal_answer(self, validator: str, cleaned: str) -> Sealed:
        """A secret USSD answer as a session row keeps it between requests: a PIN or an ID number
        sealed as the services take it in place of the secret (an SMS in the inbox does the same)."""
        if validator == "pin":
            return topup.seal_pin(self.ctx, cleaned)
        if validator == "id_number":
            return accounts.seal_id_number(self.ctx, cleaned)
        return seal(self.ctx.pin_secret, f"{ANSWERS_PURPOSE}:{validator}", cleaned)

    def snapshot(self) -> AbstractContextManager[object]:
        """Several calls that must see one consistent state (reads only)."""
        return self.ctx.store.snapshot_uow()

    # --- USSD sessions -------------------------------------------------------

    def load_session(self, session_id: str) -> SessionRow | None:
        return sessions.load(self.ctx, session_id)

    def load_session_and_latest(
        self, session_id: str, msisdn: str, service_code: str,
    ) -> tuple[SessionRow | None, SessionRow | None]:
        return sessions.load_and_latest(self.ctx, session_id, msisdn, service_code)

    def save_sessions(self, rows: list[SessionState]) -> None:
        sessions.save(self.ctx, rows)

    def sweep_sessions(self, before: datetime) -> int:
        return sessions.sweep(self.ctx, before)

    # --- the dialogue journal and end-of-session reports (``ussd report``) ----

    def record_dialogues(self, rows: list[DialogueRecord]) -> None:
        journal.record(self.ctx, rows)

    def add_session_report(self, report: SessionReport) -> bool:
        return journal.add_report(self.ctx, report)

    def unrecorded_sessions(self, after: datetime, until: datetime, limit: int) -> list[SessionRow]:
        return journal.unrecorded(self.ctx, after, until, limit)

    def ussd_report(self, since: datetime | None) -> journal.FunnelReport:
        return journal.report(self.ctx, since)

    # --- requests per number, shared by the processes (``gateway.ratelimit.LimitSharing``) ---

    def share_rate_limits(self, costs: dict[str, float], watch: list[str], now: float) -> dict[str, float]:
        return rate_limits.share(self.ctx, costs, watch, now)

    def forget_full_rate_limits(self, now: float) -> int:
        return rate_limits.forget_full(self.ctx, now)

    # --- subscriber-facing -------------------------------------------------

    def check_balance(self, msisdn: str) -> BalanceView:
        return accounts.check_balance(self.ctx, msisdn)

    def check_bill(self, msisdn: str) -> BillView:
        return accounts.check_bill(self.ctx, msisdn)

    def top_up(self, cmd: TopUp) -> TopUpResult:
        return topup.top_up(self.ctx, cmd)

    def report_lost_sim(self, cmd: ReportLost) -> LostReportResult:
        return lost.report_lost_sim(self.ctx, cmd)

    def set_marketing_consent(self, msisdn: str, opt_in: bool, channel: Channel) -> ConsentView:
        return consent.set_marketing_consent(self.ctx, msisdn, opt_in, channel)

    def marketing_consent(self, msisdn: str) -> ConsentView:
        return consent.marketing_consent(self.ctx, msisdn)

    def set_language(self, msisdn: str, language: str) -> str:
        return accounts.set_language(self.ctx, msisdn, language)

    def subscriber_language(self, msisdn: str) -> str:
        return accounts.subscriber_language(self.ctx, msisdn)

    def ask_statement(self, msisdn: str, channel: Channel) -> StatementResult:
        return care.ask_statement(self.ctx, msisdn, channel)

    def dispute_bill(self, msisdn: str, reason: str, channel: Channel) -> DisputeResult:
        return care.dispute_bill(self.ctx, msisdn, reason, channel)

    def file_complaint(self, msisdn: str, text: str, channel: Channel) -> ComplaintResult:
        return care.file_complaint(self.ctx, msisdn, text, channel)

    def ask_number_change(self, msisdn: str, channel: Channel) -> NumberChangeResult:
        return care.ask_number_change(self.ctx, msisdn, channel)

    # --- operator-facing ---------------------------------------------------

    def add_subscriber(self, msisdn: str, **kwargs: Any) -> int:
        return accounts.add_subscriber(self.ctx, msisdn, **kwargs)

    def import_subscribers(self, path: Path) -> int:
        return accounts_import.import_subscribers(self.ctx, path)

    def show_subscriber(self, msisdn: str) -> dict[str, Any]:
        return accounts.show(self.ctx, msisdn)

    def unblock(self, msisdn: str) -> str:
        return accounts.unblock(self.ctx, msisdn)

    def clear_lost_locks(self, msisdn: str) -> LostLocksCleared:
        return lost.clear_lost_locks(self.ctx, msisdn)

    def grant_promo(self, msisdn: str, amount: Money, valid_days: int | None = None) -> BalanceView:
        return accounts.grant_promo(self.ctx, msisdn, amount, valid_days)

    def generate_vouchers(self, **kwargs: Any) -> list[tuple[str, str]]:
        return vouchers.generate(self.ctx, **kwargs)

    def import_vouchers(self, path: Path) -> int:
        return vouchers.import_file(self.ctx, path)

    def import_bills(self, path: Path) -> int:
        return postpaid.import_bills(self.ctx, path)

    def import_payments(self, path: Path) -> int:
        return postpaid.import_payments(self.ctx, path)

    def run_lifecycle(self, now: datetime | None = None) -> lifecycle.LifecycleReport:
        return lifecycle.run(self.ctx, now)

    def import_usage(self, path: Path) -> usage.UsageImportReport:
        return usage.import_usage(self.ctx, path)

    def reissue(self, msisdn: str) -> inactivity.ReissueResult:
        return inactivity.reissue(self.ctx, msisdn)

    # --- activity (004 3(B).12) ----------------------------------------------

    def note_activity(self, msisdn: str) -> None:
        """A USSD dialogue or an MO SMS from ``msisdn``: in memory, written by ``flush_activity``."""
        self.activity.note(msisdn)

    def flush_activity(self) -> int:
        return self.activity.flush()

    def list_disputes(self, *, open_only: bool = False) -> list[DisputeRow]:
        return care.list_disputes(self.ctx, open_only=open_only)

    def resolve_dispute(self, reference: str, *, upheld: bool, credit: Money | None = None,
                        other_provider: bool = False, note: str | None = None) -> DisputeResolved:
        return care.resolve_dispute(self.ctx, reference, upheld=upheld, credit=credit,
                                    other_provider=other_provider, note=note)

    def list_complaints(self, *, open_only: bool = False) -> list[ComplaintRow]:
        return care.list_complaints(self.ctx, open_only=open_only)

    def close_complaint(self, reference: str, note: str) -> ComplaintRow:
        return care.close_complaint(self.ctx, reference, note)

    # --- what the operator console shows (``oversight``: JSON-ready, reads only) ---------------

    def overview(self) -> dict[str, Any]:
        return oversight.overview(self.ctx)

    def subscriber_record(self, msisdn: str, *, ledger_limit: int | None = None,
                          ledger_before: int | None = None) -> dict[str, Any]:
        return oversight.subscriber(self.ctx, msisdn, ledger_limit=ledger_limit, ledger_before=ledger_before)

    def outbox_messages(self, *, msisdn: str | None = None, status: str | None = None, kind: str | None = None,
                        campaign_id: int | None = None, limit: int | None = None,
                        before: int | None = None) -> dict[str, Any]:
        return oversight.outbox(self.ctx, msisdn=msisdn, status=status, kind=kind, campaign_id=campaign_id,
                                limit=limit, before=before)

    def outbox_message(self, outbox_id: int) -> dict[str, Any] | None:
        return oversight.message(self.ctx, outbox_id)

    def campaigns(self, *, limit: int | None = None, before: int | None = None) -> dict[str, Any]:
        return oversight.campaigns(self.ctx, limit=limit, before=before)

    def campaign(self, campaign_id: int) -> dict[str, Any] | None:
        return oversight.campaign(self.ctx, campaign_id)

    def voucher_stock(self) -> dict[str, Any]:
        return oversight.voucher_stock(self.ctx)

    def disputes_queue(self, *, open_only: bool = False) -> dict[str, Any]:
        return oversight.disputes(self.ctx, open_only=open_only)

    def complaints_queue(self, *, open_only: bool = False) -> dict[str, Any]:
        return oversight.complaints(self.ctx, open_only=open_only)

    def record_console_action(self, *, role: str, actor: str, action: str, target: str, outcome: str,
                              detail: str | None = None) -> None:
        oversight.record_action(self.ctx, role=role, actor=actor, action=action, target=target, outcome=outcome,
                                detail=detail)

    def console_actions(self, *, limit: int | None = None, before: int | None = None) -> dict[str, Any]:
        return oversight.actions(self.ctx, limit=limit, before=before)


from gateway.services import accounts_import  # noqa: E402  (kept last: it imports accounts)
