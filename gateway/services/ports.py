"""What the services need from outside, as Protocols the composition root fills."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.clock import Clock
from gateway.profile import OperatorProfile
from gateway.services.model import (
    BalanceView,
    BillView,
    DisputeResolved,
    LostReportResult,
    StatementLine,
    StatementResult,
    TopUpResult,
)
from gateway.store.port import Database


class Notices(Protocol):
    """Texts of the SMS the services queue (``menus.replies.Replies`` in production)."""

    def topup_confirmation(self, result: TopUpResult, language: str) -> str: ...

    def gift_sent(self, result: TopUpResult, language: str) -> str: ...

    def lost_confirmation(self, result: LostReportResult, msisdn: str, language: str) -> str: ...

    def reminder(self, kind: str, view: BalanceView, language: str) -> str: ...

    def postpaid_notice(self, kind: str, view: BillView, language: str) -> str:
        """``deposit_notice``, ``discontinued``, ``reactivated`` (004 7.7) or ``bill_due`` (a reminder)."""
        ...

    def statement_part(self, result: StatementResult, lines: tuple[StatementLine, ...], part: int, parts: int,
                       language: str) -> str: ...

    def dispute_resolved(self, resolved: DisputeResolved, language: str) -> str: ...

    def complaint_answered(self, reference: str, note: str, language: str) -> str: ...


@dataclass(frozen=True)
class Context:
    """Everything a use case needs; built once by ``gateway.app``."""

    #: The store port (``gateway.store.db.Store`` for SQLite).
    store: Database
    clock: Clock
    profile: OperatorProfile
    pin_secret: str
    notices: Notices | None = None
