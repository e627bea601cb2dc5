"""A smart-np world for the written requests of seeds/004_1cabed6f540fdada.txt: a billed postpaid line,
a prepaid one and a finder's, on a fresh database of either backend, with the figures the tests check.
Day limits are Kathmandu's (UTC+05:45)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.clock import FixedClock
from gateway.domain.account import Bucket
from gateway.domain.money import Money
from gateway.services import Services
from tests.support.backends import Backend, rows
from tests.support.care import give_bill, postpaid_line
from tests.support.world import services_for

KTM = ZoneInfo("Asia/Kathmandu")
ME = "9779801234567"
PREPAID = "9779801234568"
FINDER = "9779801234569"
SECOND = timedelta(seconds=1)
#: A November bill, issued (received) on 1 December: due 16 December (004 7.4).
PERIOD = (date(2026, 11, 1), date(2026, 11, 30))
ISSUED = date(2026, 12, 1)
AMOUNT = 123_450  # Rs 1,234.50
DEPOSIT = 500_000  # Rs 5,000.00


def ktm(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A Kathmandu wall-clock time as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KTM).astimezone(UTC)


@dataclass
class CareWorld:
    services: Services
    clock: FixedClock

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.services.ctx.store

    def sql(self, query: str, *params):  # type: ignore[no-untyped-def]
        return rows(self.store, query, *params)

    def line(self) -> dict[str, int]:
        row = self.sql("SELECT deposit_minor, dues_minor, unbilled_minor FROM subscribers WHERE msisdn = ? "
                       "AND status = 'live'", ME)[0]
        return {"deposit": row[0], "dues": row[1], "unbilled": row[2]}

    def assert_ledger_matches(self) -> None:
        """For every postpaid bucket: the stored column == the sum of its ledger rows."""
        for row in self.sql("SELECT id, deposit_minor, dues_minor, unbilled_minor FROM subscribers"):
            totals = self.store.read_uow().accounts.ledger_totals(row[0])
            assert (totals[Bucket.DEPOSIT], totals[Bucket.DUES], totals[Bucket.UNBILLED]) == tuple(row[1:])

    def outbox(self, destination: str = ME) -> list[str]:
        return [r[0] for r in self.sql("SELECT text FROM sms_outbox WHERE destination = ? ORDER BY id",
                                       destination)]


def open_care_world(backend: Backend) -> CareWorld:
    """smart-np services on a fresh database, a billed postpaid line and a prepaid one."""
    services = services_for(backend.store, FixedClock(ktm(ISSUED, 10)), "smart-np", texts=True)
    currency = services.profile.currency
    postpaid_line(services, ME, DEPOSIT, id_number="N12345")
    services.add_subscriber(PREPAID, balance=Money(10_000, currency))
    services.add_subscriber(FINDER, balance=Money(0, currency))
    give_bill(services, ME, *PERIOD, ISSUED, AMOUNT)
    return CareWorld(services, services.ctx.clock)  # type: ignore[arg-type]
