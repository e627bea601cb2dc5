"""The dialogue journal and the aggregators' end-of-session reports: what USSD records, what ``ussd report`` reads.

The USSD channel decides when a dialogue ended and how (``gateway.ussd.journal``);
these functions are its way to the tables. ``report`` puts the journal beside the
reports with the rules of ``gateway.domain.funnel``: dialogues per service code and
outcome, where the ones left unfinished stopped, and how each report agrees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gateway.domain.funnel import STOPPED, Outcome, Reported, agrees, combined
from gateway.services.ports import Context
from gateway.store.port import JOURNAL_SOURCES, DialogueRecord, ReportCount, SessionReport, SessionRow

__all__ = ["JOURNAL_SOURCES", "DialogueRecord", "FunnelReport", "SessionReport", "add_report", "record", "report",
           "unrecorded"]


def record(ctx: Context, rows: Sequence[DialogueRecord]) -> None:
    """Journal rows, in one operation (a row replaces a stored one of a lower-ranked source only)."""
    with ctx.store.write_uow(single_statement=len(rows) == 1) as uow:
        uow.journal.record(rows)


def add_report(ctx: Context, report: SessionReport) -> bool:
    """Store an end-of-session report; False: that session's report was stored before (a resend)."""
    with ctx.store.write_uow(single_statement=True) as uow:
        return uow.journal.add_report(report)


def unrecorded(ctx: Context, after: datetime, until: datetime, limit: int) -> list[SessionRow]:
    """Session rows that expired in (``after``, ``until``] with no journal row yet (at most ``limit``)."""
    return ctx.store.read_uow().journal.unrecorded_sessions(after, until, limit)


@dataclass(frozen=True)
class CodeLine:
    """Dialogues of one service code, by the outcome ``combined`` gives them."""

    service_code: str
    outcomes: dict[Outcome, int]

    @property
    def dialogues(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True)
class StopLine:
    """Dialogues of one service code that stopped on one screen awaiting an answer."""

    service_code: str
    screen: str
    abandoned: int
    timed_out: int


@dataclass(frozen=True)
class Agreement:
    """Dialogues we recorded as ``ours`` that the aggregator reported as ``reported``."""

    ours: Outcome
    reported: Reported
    dialogues: int
    counted_as: Outcome
    agrees: bool


@dataclass(frozen=True)
class FunnelReport:
    since: datetime | None
    codes: list[CodeLine]
    stopped: list[StopLine]
    agreements: list[Agreement]
    #: Dialogues no aggregator report came for.
    without_report: int
    #: Reports for sessions the journal has no row of: counted apart, never in ``codes``.
    unmatched: list[ReportCount] = field(default_factory=list)

    @property
    def dialogues(self) -> int:
        return sum(line.dialogues for line in self.codes)


def report(ctx: Context, since: datetime | None) -> FunnelReport:
    """The funnel of dialogues started at or after ``since`` (None: every one kept)."""
    with ctx.store.snapshot_uow() as uow:
        counts = uow.journal.counts(since)
        unmatched = uow.journal.unmatched_reports(since)
    codes: dict[str, dict[Outcome, int]] = defaultdict(lambda: dict.fromkeys(Outcome, 0))
    stops: dict[tuple[str, str], dict[Outcome, int]] = defaultdict(lambda: dict.fromkeys(STOPPED, 0))
    pairs: dict[tuple[Outcome, Reported], int] = defaultdict(int)
    without = 0
    for row in counts:
        ours = Outcome(row.outcome)
        reported = None if row.status is None else Reported(row.status)
        outcome = combined(ours, reported)
        codes[row.service_code][outcome] += row.dialogues
        if outcome in STOPPED:
            stops[row.service_code, row.screen][outcome] += row.dialogues
        if reported is None:
            without += row.dialogues
        else:
            pairs[ours, reported] += row.dialogues
    return FunnelReport(
        since=since,
        codes=[CodeLine(code, outcomes) for code, outcomes in sorted(codes.items())],
        stopped=sorted((StopLine(code, screen, n[Outcome.ABANDONED], n[Outcome.TIMED_OUT])
                        for (code, screen), n in stops.items()),
                       key=lambda s: (s.service_code, -(s.abandoned + s.timed_out), s.screen)),
        agreements=[Agreement(ours, reported, n, combined(ours, reported), agrees(ours, reported))
                    for (ours, reported), n in sorted(pairs.items(), key=lambda p: (_ORDER[p[0][0]], p[0][1].value))],
        without_report=without,
        unmatched=sorted(unmatched, key=lambda r: (r.service_code, r.status)),
    )


_ORDER = {outcome: n for n, outcome in enumerate(Outcome)}
