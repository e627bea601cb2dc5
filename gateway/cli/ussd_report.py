"""``ussd report [--since ISO-8601] [--json]``: the USSD funnel, from the journal and the aggregators' reports.

Dialogues per service code and outcome, where the unfinished ones stopped
(screen by screen), and how the aggregators' end-of-session reports agree
with the gateway's own records (the rules: ``gateway.domain.funnel``).
``HELP`` below is the documentation of ``--json``'s shape: keep them together.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from gateway.cli import CliError, add_config_option, command_group
from gateway.domain.funnel import Outcome, Reported
from gateway.services import Services
from gateway.services.journal import Agreement, FunnelReport

HELP = """\
Dialogues started since --since (default: every one kept), by service code and
outcome: completed (our END answered it, a refusal included), abandoned (the
subscriber left it on a screen awaiting an answer), timed out (it stopped with no
word from anyone), failed (we could not serve it, or the aggregator says it failed).
Where an aggregator's report exists, the gateway's record decides, except: the
aggregator's Failed counts as failed; our own time-out that the aggregator reports
Incomplete counts as abandoned. Reports for sessions the gateway never saw are
counted apart. A --since without an offset is the operator's local time.

--json prints one object:
  {"since": ISO-8601 | null, "dialogues": N,
   "service_codes": [{"service_code", "dialogues", "completed", "abandoned",
                      "timed_out", "failed"}, ...],
   "stopped": [{"service_code", "screen", "abandoned", "timed_out"}, ...],
   "reports": {"matched": [{"ours", "aggregator", "dialogues", "counted_as",
                            "agrees"}, ...],
               "without_report": N,
               "unmatched": [{"service_code", "status", "reports"}, ...]}}
outcomes are completed | abandoned | timed_out | failed, an aggregator's status
Success | Incomplete | Failed, a screen "tree:screen"; lists are sorted by service
code (stopped: most dialogues first)."""

#: Why a pair of (our record, the aggregator's status) is counted as it is, when the two differ.
_WHY = {
    (Outcome.COMPLETED, Reported.INCOMPLETE): "we had answered with END",
    (Outcome.TIMED_OUT, Reported.INCOMPLETE): "the aggregator saw it end awaiting input",
    (Outcome.ABANDONED, Reported.SUCCESS): "ours: it stopped before any END of ours",
    (Outcome.TIMED_OUT, Reported.SUCCESS): "ours: no END of ours was recorded",
    (Outcome.FAILED, Reported.SUCCESS): "ours: we could not serve it",
    (Outcome.FAILED, Reported.INCOMPLETE): "ours: we could not serve it",
}
_LABELS = {Outcome.COMPLETED: "completed", Outcome.ABANDONED: "abandoned", Outcome.TIMED_OUT: "timed out",
           Outcome.FAILED: "failed"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ussd = command_group(sub, "ussd", "USSD records")
    p = ussd.add_parser("report", help="dialogues by service code and outcome, and where unfinished ones stopped",
                        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--since", metavar="ISO-8601", help="only dialogues started at or after this time")
    p.add_argument("--json", action="store_true", help="one JSON object (its shape is above)")
    add_config_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gateway.cli.admin import open_services

    services = open_services(args)
    since = None if args.since is None else parse_since(args.since, services)
    report = services.ussd_report(since)
    if args.json:
        print(json.dumps(as_json(report, services), ensure_ascii=False, indent=2))
    else:
        print(as_table(report, services))
    return 0


def parse_since(text: str, services: Services) -> datetime:
    """``--since``: ISO-8601, a date or a time; without an offset, in the operator's time zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"--since: not an ISO-8601 time: {text!r} (e.g. 2026-11-01 or "
                       "2026-11-01T08:00:00+07:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=services.profile.time_zone)
    return moment


def _when(services: Services, moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(services.profile.time_zone).isoformat()


def as_json(report: FunnelReport, services: Services) -> dict[str, Any]:
    return {
        "since": _when(services, report.since),
        "dialogues": report.dialogues,
        "service_codes": [{"service_code": line.service_code, "dialogues": line.dialogues,
                           **{outcome.value: line.outcomes[outcome] for outcome in Outcome}}
                          for line in report.codes],
        "stopped": [{"service_code": s.service_code, "screen": s.screen, "abandoned": s.abandoned,
                     "timed_out": s.timed_out} for s in report.stopped],
        "reports": {
            "matched": [{"ours": a.ours.value, "aggregator": a.reported.value, "dialogues": a.dialogues,
                         "counted_as": a.counted_as.value, "agrees": a.agrees} for a in report.agreements],
            "without_report": report.without_report,
            "unmatched": [{"service_code": r.service_code, "status": r.status, "reports": r.reports}
                          for r in report.unmatched],
        },
    }


def as_table(report: FunnelReport, services: Services) -> str:
    since = _when(services, report.since)
    reported = sum(a.dialogues for a in report.agreements)
    apart = sum(r.reports for r in report.unmatched)
    head = f"USSD dialogues{f' since {since}' if since else ''}: {report.dialogues}"
    head += f" (aggregator reports for {reported}"
    head += f"; {apart} more for sessions the gateway never saw)" if apart else ")"
    out = [head]
    if report.codes:
        totals = {o: sum(line.outcomes[o] for line in report.codes) for o in Outcome}
        out += ["", *_table(
            ["service code", "dialogues", *(_LABELS[o] for o in Outcome)],
            [[line.service_code, line.dialogues, *(line.outcomes[o] for o in Outcome)] for line in report.codes]
            + ([["all", report.dialogues, *(totals[o] for o in Outcome)]] if len(report.codes) > 1 else []))]
    if report.stopped:
        out += ["", "where abandoned and timed-out dialogues stopped", *_table(
            ["service code", "screen", "abandoned", "timed out"],
            [[s.service_code, s.screen or "-", s.abandoned, s.timed_out] for s in report.stopped])]
    if report.agreements:
        out += ["", "the aggregators' reports beside the gateway's records", *_table(
            ["ours", "aggregator", "dialogues", "counted as"],
            [[_LABELS[a.ours], a.reported.value, a.dialogues, _counted_as(a)] for a in report.agreements])]
    if report.codes:
        out.append(f"dialogues without an aggregator report: {report.without_report}")
    if report.unmatched:
        out += ["", "reports for sessions the gateway never saw (counted apart)", *_table(
            ["service code", "status", "reports"],
            [[r.service_code, r.status, r.reports] for r in report.unmatched])]
    return "\n".join(out)


def _counted_as(agreement: Agreement) -> str:
    label = _LABELS[agreement.counted_as]
    if agreement.agrees and agreement.counted_as is agreement.ours:
        return f"{label} (agree)"
    if agreement.reported is Reported.FAILED:
        return f"{label} (the aggregator saw it fail)"
    why = _WHY.get((agreement.ours, agreement.reported))
    return f"{label} ({why})" if why else label


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """Columns padded to their widths: text left, numbers right."""
    cells = [header, *[[str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [bool(rows) and all(isinstance(row[i], int) for row in rows) for i in range(len(header))]
    return ["  ".join(cell.rjust(w) if num else cell.ljust(w)
                      for cell, w, num in zip(row, widths, numeric, strict=False)).rstrip()
            for row in cells]
