"""Operator commands: database, subscribers, promotions, vouchers, life cycle."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gateway.cli import DEMO_DB, CliError, add_config_option, command_group, print_json
from gateway.clock import Clock, FixedClock, SystemClock
from gateway.config import Settings, load_settings, mask_url
from gateway.domain.errors import InvalidInput
from gateway.domain.money import parse_amount
from gateway.logs import configure_logging
from gateway.profile import load_profile
from gateway.services import Context, Services
from gateway.services.accounts_import import parse_expiry
from gateway.store import Store, open_database
from gateway.store.migrations import current_version


def importing(noun: str, run: Callable[[Services, Path], int]) -> Callable[[argparse.Namespace], int]:
    """The command ``<noun>s import FILE``: ``run`` (a ``Services`` method, all or nothing), then how
    many ``noun`` went in."""

    def command(args: argparse.Namespace) -> int:
        count = run(open_services(args), Path(args.file))
        print(f"imported {count} {noun}{'' if count == 1 else 's'}")
        return 0

    return command


def command_settings(args: argparse.Namespace, *, check_secret: bool = True) -> Settings:
    """The settings of an operator command: ``--config``, or with ``--demo`` the demo's database.

    ``--demo`` is how the demo is inspected: the database ``demo`` seeded, where
    its demo PIN secret (refused everywhere else) is the one the data was made with.
    """
    settings = load_settings(args.config)
    if getattr(args, "demo", False):
        return dataclasses.replace(settings, database=dataclasses.replace(settings.database, path=DEMO_DB, url=""))
    if check_secret:
        settings.require_pin_secret()
    return settings


def open_services(args: argparse.Namespace, clock: Clock | None = None, *, create: bool = False) -> Services:
    """Settings → profile → store (migrated) → services, for one command.

    ``create``: the command may start a new database (``db migrate``); every
    other command refuses a path with no database, so a mistyped path
    creates no folder and no empty gateway.
    """
    settings = command_settings(args)
    configure_logging(settings.logging.level, settings.logging.format)
    profile = load_profile(settings.operator.profile)
    store = open_database(settings.database, migrate=True, create=create)
    from menus.replies import Replies
    from menus.texts import Catalog

    notices = Replies(Catalog.for_profile(profile), profile)
    return Services(Context(store=store, clock=clock or SystemClock(), profile=profile,
                            pin_secret=settings.security.pin_secret, notices=notices))


def _msisdn(services: Services, text: str) -> str:
    return services.profile.number_plan.normalise(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than zero: {text!r}")
    return value


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {text!r}") from None
    return moment


def _clock_at(now: datetime | None) -> Clock | None:
    """``--now``: a clock fixed at that time (None: the real clock)."""
    if now is None:
        return None
    if now.tzinfo is None:
        raise CliError("--now needs a time zone offset, e.g. 2027-01-01T00:00:00+07:00")
    return FixedClock(now)


# --- db ----------------------------------------------------------------------

def cmd_db_migrate(args: argparse.Namespace) -> int:
    settings = command_settings(args)
    if settings.database.url:
        return _migrate_postgres(settings)
    services = open_services(args, create=True)
    store = services.ctx.store
    assert isinstance(store, Store)  # the migrations are the SQLite adapter's (open_services opens one)
    print(f"schema at version {current_version(store)} ({store.path})")
    return 0


def _migrate_postgres(settings: Settings) -> int:
    from gateway.store.postgres import connection, migrations

    configure_logging(settings.logging.level, settings.logging.format)
    pool = connection.open_pool(settings.database.url, max_size=1)
    try:
        migrations.migrate(pool)
        version = migrations.current_version(pool)
    finally:
        pool.close()
    print(f"schema at version {version} ({mask_url(settings.database.url)})")
    return 0


# --- subscribers -------------------------------------------------------------

def cmd_subscribers_add(args: argparse.Namespace) -> int:
    services = open_services(args)
    profile = services.profile
    msisdn = _msisdn(services, args.msisdn)
    expires_at = None
    if args.expires_at is not None:
        try:
            expires_at = parse_expiry(args.expires_at, profile.time_zone)
        except ValueError:
            raise InvalidInput(f"--expires-at: not an ISO-8601 date or time: {args.expires_at!r}") from None
    services.add_subscriber(
        msisdn,
        balance=parse_amount(args.balance, profile.currency),
        expires_at=expires_at,
        valid_days=args.valid_days,
        id_number=args.id_number,
        language=args.language,
        type_=args.type,
        deposit=None if args.deposit is None else parse_amount(args.deposit, profile.currency),
    )
    print(f"added {msisdn}")
    return 0


def cmd_subscribers_show(args: argparse.Namespace) -> int:
    services = open_services(args, _clock_at(args.now))
    return print_json(services.show_subscriber(_msisdn(services, args.msisdn)))


def cmd_subscribers_reissue(args: argparse.Namespace) -> int:
    """004 3(B).12: a deactivated number given back within the window, for the profile's fee."""
    services = open_services(args, _clock_at(args.now))
    msisdn = _msisdn(services, args.msisdn)
    result = services.reissue(msisdn)
    ended = result.window_ended.astimezone(services.profile.time_zone).isoformat()
    print(f"reissued {msisdn} for {result.fee.display()} (the window would have ended {ended})")
    return 0


def cmd_subscribers_unblock(args: argparse.Namespace) -> int:
    services = open_services(args)
    msisdn = _msisdn(services, args.msisdn)
    reference = services.unblock(msisdn)
    print(f"unblocked {msisdn} (lost report {reference} closed)")
    return 0


def cmd_subscribers_unlock(args: argparse.Namespace) -> int:
    """Customer care: a stranger's guesses locked reports naming this number; the owner may report again."""
    services = open_services(args)
    msisdn = _msisdn(services, args.msisdn)
    cleared = services.clear_lost_locks(msisdn)
    tz = services.profile.time_zone
    lifted = [f"{what} (locked until {until.astimezone(tz).isoformat()})"
              for what, until in (("lost-SIM reports naming this number", cleared.as_target),
                                  ("lost-SIM reports from this phone", cleared.as_reporter)) if until is not None]
    if lifted:
        print(f"unlocked {msisdn}: {'; '.join(lifted)}")
    else:
        print(f"{msisdn}: no lost-SIM lock to lift (mismatch counts start again)")
    return 0


# --- promo -------------------------------------------------------------------

def cmd_promo_grant(args: argparse.Namespace) -> int:
    services = open_services(args)
    msisdn = _msisdn(services, args.msisdn)
    amount = parse_amount(args.amount, services.profile.currency, allow_zero=False)
    view = services.grant_promo(msisdn, amount, args.valid_days)
    print(f"granted {amount.display()} to {msisdn}; promotional balance {view.promo.display()}")
    return 0


# --- vouchers ----------------------------------------------------------------

def cmd_vouchers_generate(args: argparse.Namespace) -> int:
    services = open_services(args)
    expires_on = None
    if args.expires_on:
        try:
            expires_on = date.fromisoformat(args.expires_on)
        except ValueError:
            raise InvalidInput(f"--expires-on: not a date like 2027-12-31: {args.expires_on!r}") from None
    pairs = services.generate_vouchers(
        count=args.count,
        amount=parse_amount(args.amount, services.profile.currency, allow_zero=False),
        active_days=args.active_days,
        out=Path(args.out),
        batch=args.batch,
        expires_on=expires_on,
    )
    print(f"generated {len(pairs)} voucher{'' if len(pairs) == 1 else 's'}; PINs written to {args.out}")
    return 0


# --- lifecycle ---------------------------------------------------------------

def cmd_lifecycle_run(args: argparse.Namespace) -> int:
    services = open_services(args, _clock_at(args.now))
    report = services.run_lifecycle()
    summary: dict[str, Any] = {
        "now": report.now.isoformat(),
        "settled": report.settled,
        "expired": report.expired,
        "forfeited": report.forfeited,
        "promo_expired": report.promo_expired,
        "recycled": report.recycled,
        "reminders": report.reminders,
    }
    if report.postpaid is not None:  # profiles with postpaid lines: what the bills and the deposit rule did
        summary.update({f"postpaid_{key}": value for key, value in dataclasses.asdict(report.postpaid).items()})
    if services.profile.lifecycle.inactivity is not None:  # 004 3(B).12
        summary.update(deactivated=report.deactivated, line_expired=report.line_expired)
    print(json.dumps(summary))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = command_group(sub, "db", "database schema")
    p = db.add_parser("migrate", help="create or upgrade the schema")
    add_config_option(p)
    p.set_defaults(run=cmd_db_migrate)

    subs = command_group(sub, "subscribers", "add, show, import, unblock and unlock subscribers")
    p = subs.add_parser("add", help="add a subscriber")
    p.add_argument("msisdn")
    p.add_argument("--balance", default="0", metavar="AMOUNT", help="opening main balance, e.g. 6.00")
    validity = p.add_mutually_exclusive_group()
    validity.add_argument("--valid-days", type=_positive_int, metavar="N")
    validity.add_argument("--expires-at", metavar="ISO-8601", help="may lie in the past (migrated subscribers)")
    p.add_argument("--id-number", metavar="X", help="ID document number (stored as a keyed hash)")
    p.add_argument("--language", metavar="L")
    p.add_argument("--type", choices=("prepaid", "postpaid"), default="prepaid")
    p.add_argument("--deposit", metavar="AMOUNT", help="a postpaid line's security deposit, e.g. 5000.00")
    add_config_option(p)
    p.set_defaults(run=cmd_subscribers_add)

    p = subs.add_parser("show", help="one subscriber as JSON")
    p.add_argument("msisdn")
    p.add_argument("--now", type=_moment, metavar="ISO-8601",
                   help="evaluate the state at this time (nothing is changed)")
    add_config_option(p)
    p.set_defaults(run=cmd_subscribers_show)

    p = subs.add_parser("import", help="bulk add from CSV msisdn,balance,expires_at,id_number,language,type[,deposit] "
                                       "(all or nothing)")
    p.add_argument("file")
    add_config_option(p)
    p.set_defaults(run=importing("subscriber", Services.import_subscribers))

    p = subs.add_parser("reissue", help="give a deactivated number back to its subscriber for the profile's fee")
    p.add_argument("msisdn")
    p.add_argument("--now", type=_moment, metavar="ISO-8601", help="as at this time (default: now)")
    add_config_option(p)
    p.set_defaults(run=cmd_subscribers_reissue)

    p = subs.add_parser("unblock", help="lift a lost-SIM block (replacement SIM issued)")
    p.add_argument("msisdn")
    add_config_option(p)
    p.set_defaults(run=cmd_subscribers_unblock)

    p = subs.add_parser("unlock", help="lift the lost-SIM guessing lock on a number (and on it as a reporting phone)")
    p.add_argument("msisdn")
    add_config_option(p)
    p.set_defaults(run=cmd_subscribers_unlock)

    promo = command_group(sub, "promo", "promotional funds")
    p = promo.add_parser("grant", help="grant promotional funds")
    p.add_argument("msisdn")
    p.add_argument("amount")
    p.add_argument("--valid-days", type=_positive_int, metavar="N", help="default: the profile's promo validity")
    add_config_option(p)
    p.set_defaults(run=cmd_promo_grant)

    vouchers = command_group(sub, "vouchers", "voucher stock")
    p = vouchers.add_parser("generate", help="create vouchers; PINs go to FILE only")
    p.add_argument("--count", type=_positive_int, required=True)
    p.add_argument("--amount", required=True)
    p.add_argument("--active-days", type=_positive_int, required=True)
    p.add_argument("--batch")
    p.add_argument("--expires-on", metavar="DATE", help="last day the vouchers can be redeemed")
    p.add_argument("--out", required=True, metavar="FILE")
    add_config_option(p)
    p.set_defaults(run=cmd_vouchers_generate)

    p = vouchers.add_parser("import", help="CSV: serial,pin,amount,active_days[,expires_on]")
    p.add_argument("file")
    add_config_option(p)
    p.set_defaults(run=importing("voucher", Services.import_vouchers))

    lifecycle = command_group(sub, "lifecycle", "expiry and SIM life cycle")
    p = lifecycle.add_parser("run", help="advance expiry and the SIM life cycle to NOW")
    p.add_argument("--now", type=_moment, metavar="ISO-8601")
    add_config_option(p)
    p.set_defaults(run=cmd_lifecycle_run)
