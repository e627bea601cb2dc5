"""A database filled before a ``serve`` process opens it: numbered subscribers with ID numbers, and
vouchers. Written through the services in this process, with ``line`` and ``pins`` of
``tests.support.world`` (what a test that holds the services seeds with)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import SECRET
from tests.support.world import line, open_services, pins


@dataclass
class Seed:
    numbers: list[str]
    pins: list[str]
    id_numbers: dict[str, str] = field(default_factory=dict)


def seed(db: Path | str, subscribers: int = 1, vouchers: int = 0, *, pin_secret: str = SECRET, first: int = 0,
         amount: str = "5", folder: Path | None = None) -> Seed:
    """In this process, before a ``Server`` opens ``db`` (a SQLite file or a ``postgresql://`` URL):
    ``subscribers`` numbers 8551000nnnnn with $1.00 and an ID number each, and ``vouchers`` PINs (their
    CSV goes to ``folder``, default the database's folder)."""
    services = open_services(db, pin_secret=pin_secret)
    try:
        numbers, ids = [], {}
        for n in range(first, first + subscribers):
            msisdn = f"8551000{n:05d}"
            ids[msisdn] = f"ID{n:06d}"
            numbers.append(line(services, msisdn, "1.00", id_number=ids[msisdn]))
        made = pins(services, folder or Path(db).parent, vouchers, amount) if vouchers else []
        return Seed(numbers, made, ids)
    finally:
        services.ctx.store.close()
