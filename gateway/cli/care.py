"""Operator commands for the written requests of subscribers (``seeds/004_1cabed6f540fdada.txt``).

``disputes list|resolve`` (clauses 3(B).4, 9.3: resolving tells the
subscriber the final bill by SMS) and ``complaints list|close`` (9.1, 10.1:
closing answers the complaint by SMS). Lists print one JSON array of the
shapes the operator console shows (``gateway.services.oversight``); times in
the operator's time zone, money as ``{"minor", "display"}``.
"""

from __future__ import annotations

import argparse

from gateway.cli import CliError, add_config_option, command_group, print_json
from gateway.cli.admin import open_services
from gateway.domain.money import parse_amount
from gateway.services.oversight import complaint_json, dispute_json


def cmd_disputes_list(args: argparse.Namespace) -> int:
    services = open_services(args)
    return print_json([dispute_json(services.profile, row) for row in services.list_disputes(open_only=args.open)])


def cmd_disputes_resolve(args: argparse.Namespace) -> int:
    if args.credit is not None and not args.upheld:
        raise CliError("--credit goes with --upheld (a rejected dispute credits nothing)")
    services = open_services(args)
    credit = None if args.credit is None else parse_amount(args.credit, services.profile.currency)
    resolved = services.resolve_dispute(args.reference, upheld=args.upheld, credit=credit,
                                        other_provider=args.other_provider, note=args.note)
    late = " (after its deadline)" if resolved.late else ""
    number = services.profile.number_plan.national(resolved.msisdn)
    told = f"{number} told by SMS" if resolved.told else f"{number} is no longer the subscriber's: nobody told"
    print(f"{resolved.reference} {resolved.status}{late}: credit {resolved.credit.display()}, "
          f"final bill {resolved.final.display()}; {told}")
    return 0


def cmd_complaints_list(args: argparse.Namespace) -> int:
    services = open_services(args)
    rows = services.list_complaints(open_only=args.open)
    return print_json([complaint_json(services.profile, row) for row in rows])


def cmd_complaints_close(args: argparse.Namespace) -> int:
    services = open_services(args)
    row = services.close_complaint(args.reference, args.note)
    print(f"{row.reference} closed; {services.profile.number_plan.national(row.msisdn)} answered by SMS")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    disputes = command_group(sub, "disputes", "bill disputes (004 clauses 3(B).4, 9.3)")
    p = disputes.add_parser("list", help="disputes as JSON, oldest first")
    p.add_argument("--open", action="store_true", help="only those not resolved yet")
    add_config_option(p)
    p.set_defaults(run=cmd_disputes_list)

    p = disputes.add_parser("resolve", help="settle a dispute; the subscriber is told the final bill by SMS")
    p.add_argument("reference", metavar="REF")
    outcome = p.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--upheld", action="store_true", help="the subscriber is right (credits the whole "
                         "disputed amount unless --credit names less)")
    outcome.add_argument("--rejected", action="store_true", help="the bill stands")
    p.add_argument("--credit", metavar="AMOUNT", help="with --upheld: the part of the disputed amount credited")
    p.add_argument("--other-provider", action="store_true",
                   help="settling needed details from another provider (the 45-day deadline applied, not 7)")
    p.add_argument("--note", metavar="TEXT", help="added to the SMS to the subscriber")
    add_config_option(p)
    p.set_defaults(run=cmd_disputes_resolve)

    complaints = command_group(sub, "complaints", "written complaints (004 clauses 9.1, 10.1)")
    p = complaints.add_parser("list", help="complaints as JSON, oldest first")
    p.add_argument("--open", action="store_true", help="only those not answered yet")
    add_config_option(p)
    p.set_defaults(run=cmd_complaints_list)

    p = complaints.add_parser("close", help="answer a complaint; the note goes to the subscriber by SMS")
    p.add_argument("reference", metavar="REF")
    p.add_argument("--note", metavar="TEXT", required=True)
    add_config_option(p)
    p.set_defaults(run=cmd_complaints_close)
