from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.clock import FixedClock
from gateway.domain.account import Bucket
from gateway.domain.money import Money, parse_amount
from gateway.profile import load_profile
from gateway.services import Context, Services
from gateway.store import open_store
from menus.replies import Replies
from menus.texts import Catalog
from tests.backends import BACKENDS, open_backend, rows

SECRET = "test-secret-0123456789"
START = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # 10:00 in Phnom Penh


@dataclass
class World:
    services: Services
    clock: FixedClock
    path: Path
    tmp: Path
    #: ``sqlite`` or ``postgres`` (``tests.backends``).
    backend: str = "sqlite"
    #: The database: the SQLite file's path or the PostgreSQL URL.
    where: str = ""

    def money(self, text: str) -> Money:
        return parse_amount(text, self.services.profile.currency)

    def add(self, msisdn: str = "85512345678", balance: str = "6.00", **kwargs) -> str:
        self.services.add_subscriber(msisdn, balance=self.money(balance), **kwargs)
        return msisdn

    def vouchers(self, count: int = 1, amount: str = "5", days: int = 30, **kwargs) -> list[str]:
        out = self.tmp / f"v{len(list(self.tmp.glob('v*.csv')))}.csv"
        pairs = self.services.generate_vouchers(count=count, amount=self.money(amount), active_days=days,
                                                out=out, **kwargs)
        return [pin for _, pin in pairs]

    def sql(self, query: str, *params):
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


def make_world(tmp: Path, clock: FixedClock | None = None, store=None, backend: str = "sqlite",
               where: str = "", profile_name: str = "smart-kh") -> World:
    profile = load_profile(profile_name)
    clock = clock or FixedClock(START)
    path = tmp / "gateway.db"
    if store is None:
        store = open_store(path, migrate=True, synchronous="normal")
        where = str(path)
    notices = Replies(Catalog.for_profile(profile), profile)
    services = Services(Context(store=store, clock=clock, profile=profile, pin_secret=SECRET, notices=notices))
    return World(services, clock, path, tmp, backend, where)


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    """The services on a fresh database, once on each backend."""
    db = open_backend(request, tmp_path)
    w = make_world(tmp_path, store=db.store, backend=db.name, where=db.where)
    yield w
    w.services.ctx.store.close()


@pytest.fixture(params=BACKENDS)
def np_world(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    """The services of profile smart-np (004_1cabed6f540fdada.txt) on a fresh database, on each backend."""
    db = open_backend(request, tmp_path)
    w = make_world(tmp_path, store=db.store, backend=db.name, where=db.where, profile_name="smart-np")
    yield w
    w.services.ctx.store.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))
