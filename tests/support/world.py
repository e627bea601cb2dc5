"""The services a test drives, built one way: a store, a clock, an operator profile and a PIN secret.

``services_for`` wraps a store the test opened; ``open_services`` opens one
(a SQLite file, or a ``postgresql://`` URL) first. ``texts=True`` gives the
services the real reply texts as their notices, as ``gateway.app`` does.
``line`` and ``pins`` seed through them. ``World`` (``make_world``) is the
services with their clock and folder, as the service tests use them.
``SUBSCRIBER`` and ``OTHER`` are the two smart-kh lines the shared
``services`` fixture adds (``tests/conftest.py``).
"""

from __future__ import annotations

import csv
import itertools
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.app import default_texts
from gateway.clock import Clock, FixedClock, SystemClock
from gateway.domain.account import Bucket
from gateway.domain.money import Money, parse_amount
from gateway.profile import OperatorProfile, load_profile
from gateway.services.api import Services
from gateway.services.ports import Context
from tests.support.backends import rows

#: An English line holding $6.00 in the shared ``services``.
SUBSCRIBER = "85512345678"
#: A Khmer line holding $1.00 in the shared ``services``.
OTHER = "85512345679"
#: The PIN secret of the shared ``services``.
PIN_SECRET = "s" * 20
#: The PIN secret of ``make_world``, one a test can look for in what is logged.
SECRET = "test-secret-0123456789"
START = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # 10:00 in Phnom Penh

_files = itertools.count(1)


def services_for(store: Any, clock: Clock, profile: OperatorProfile | str = "smart-kh", *,
                 pin_secret: str = PIN_SECRET, texts: bool = False) -> Services:
    """The services over ``store``; ``profile`` by object or by name."""
    if isinstance(profile, str):
        profile = load_profile(profile)
    notices = default_texts(profile) if texts else None
    return Services(Context(store=store, clock=clock, profile=profile, pin_secret=pin_secret, notices=notices))


def open_store_at(db: Path | str) -> Any:
    """A migrated store on ``db``: a SQLite file's path, or a ``postgresql://`` URL."""
    if str(db).startswith("postgresql://"):
        from gateway.store.postgres.uow import open_database

        return open_database(str(db), migrate=True)
    from gateway.store import open_store

    return open_store(db, migrate=True, synchronous="normal")


def open_services(db: Path | str, clock: Clock | None = None, profile: OperatorProfile | str = "smart-kh", *,
                  pin_secret: str = PIN_SECRET, texts: bool = True) -> Services:
    """The services over a store they open on ``db`` (see ``open_store_at``); the real clock unless told.
    The caller closes ``services.ctx.store``."""
    return services_for(open_store_at(db), clock or SystemClock(), profile, pin_secret=pin_secret, texts=texts)


def money(services: Any, amount: str | Money) -> Money:
    return parse_amount(amount, services.profile.currency) if isinstance(amount, str) else amount


def line(services: Any, msisdn: str = SUBSCRIBER, balance: str | Money = "6.00", **kwargs: Any) -> str:
    """A live subscriber on ``msisdn`` holding ``balance``; ``msisdn``."""
    services.add_subscriber(msisdn, balance=money(services, balance), **kwargs)
    return msisdn


def pins(services: Any, folder: Path, count: int = 1, amount: str | Money = "5", days: int = 30,
         **kwargs: Any) -> list[str]:
    """``count`` new vouchers of ``amount`` (their CSV goes to ``folder``); their PINs."""
    out = folder / f"pins-{os.getpid()}-{next(_files)}.csv"
    pairs = services.generate_vouchers(count=count, amount=money(services, amount), active_days=days, out=out,
                                       **kwargs)
    return [pin for _, pin in pairs]


@dataclass
class World:
    services: Services
    clock: FixedClock
    path: Path
    tmp: Path
    #: ``sqlite`` or ``postgres`` (``tests.support.backends``).
    backend: str = "sqlite"
    #: The database: the SQLite file's path or the PostgreSQL URL.
    where: str = ""

    def money(self, text: str) -> Money:
        return money(self.services, text)

    def add(self, msisdn: str = SUBSCRIBER, balance: str = "6.00", **kwargs: Any) -> str:
        return line(self.services, msisdn, balance, **kwargs)

    def vouchers(self, count: int = 1, amount: str = "5", days: int = 30, **kwargs: Any) -> list[str]:
        return pins(self.services, self.tmp, count, amount, days, **kwargs)

    def sql(self, query: str, *params: Any) -> list[Any]:
        return rows(self.services.ctx.store, query, *params)

    def assert_ledger_matches(self) -> None:
        """For every subscriber and bucket: stored balance == sum of its ledger rows."""
        accounts = self.services.ctx.store.read_uow().accounts
        for row in self.sql("SELECT id, main_minor, restorable_minor FROM subscribers"):
            totals = accounts.ledger_totals(row["id"])
            promo = self.sql(
                "SELECT COALESCE(SUM(amount_minor), 0) FROM promo_lots WHERE subscriber_id = ?", row["id"]
            )[0][0]
            assert totals[Bucket.MAIN] == row["main_minor"]
            assert totals[Bucket.RESTORABLE] == row["restorable_minor"]
            assert totals[Bucket.PROMO] == promo
        for row in self.sql("SELECT id, deposit_minor, dues_minor, unbilled_minor FROM subscribers"):
            totals = accounts.ledger_totals(row["id"])
            assert (totals[Bucket.DEPOSIT], totals[Bucket.DUES], totals[Bucket.UNBILLED]) == (
                row["deposit_minor"], row["dues_minor"], row["unbilled_minor"])


def make_world(tmp: Path, clock: FixedClock | None = None, store: Any = None, backend: str = "sqlite",
               where: str = "", profile_name: str = "smart-kh") -> World:
    """The services with the real texts on ``store``, or on a new SQLite file in ``tmp``."""
    path = tmp / "gateway.db"
    if store is None:
        store = open_store_at(path)
        where = str(path)
    services = services_for(store, clock or FixedClock(START), profile_name, pin_secret=SECRET, texts=True)
    return World(services, services.ctx.clock, path, tmp, backend, where)  # type: ignore[arg-type]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))
