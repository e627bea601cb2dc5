"""The demo database: subscribers in every interesting state, and known vouchers.

Used by ``ussd-gateway demo`` (and ``scripts/run``). The demo starts from this
known state each time, so the PINs it prints are always unused.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from gateway.domain.channels import Channel
from gateway.domain.money import parse_amount
from gateway.services import Services


@dataclass(frozen=True)
class DemoSubscriber:
    msisdn: str
    what: str
    id_number: str | None = None


@dataclass(frozen=True)
class DemoData:
    subscribers: tuple[DemoSubscriber, ...]
    pins: tuple[tuple[str, str], ...]  # (pin, amount)


def seed(services: Services) -> DemoData:
    """Fill an empty database; returns what to show the person trying the demo."""
    now = services.ctx.clock.now()
    cc = services.profile.number_plan.country_code
    money = services.profile.currency

    def add(national: str, balance: str, **kwargs: object) -> str:
        msisdn = cc + national
        services.add_subscriber(msisdn, balance=parse_amount(balance, money), **kwargs)  # type: ignore[arg-type]
        return msisdn

    people = [
        DemoSubscriber(add("12345678", "6.00", valid_days=30, id_number="N01234567"),
                       "active, $6.00, ID number N01234567", "N01234567"),
        DemoSubscriber(add("12000111", "2.50", valid_days=2, language="km"),
                       "Khmer menus, $2.50 expiring in 2 days"),
        DemoSubscriber(add("12000222", "4.00", expires_at=now - timedelta(days=3)),
                       "expired 3 days ago: $4.00 restorable by a top-up"),
        DemoSubscriber(add("12000333", "0.00", expires_at=now - timedelta(days=70)),
                       "fully barred, recycled in 20 days without a top-up"),
        DemoSubscriber(add("12000444", "1.00", valid_days=30), "has a $2.00 promotion"),
    ]
    services.grant_promo(people[4].msisdn, parse_amount("2.00", money), 30)
    services.set_marketing_consent(people[0].msisdn, True, Channel.SYSTEM)

    pins = [("11112222333301", "5.00"), ("11112222333302", "5.00"), ("11112222333303", "10.00"),
            ("11112222333304", "1.00"), ("11112222333305", "2.00")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-vouchers.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["serial", "pin", "amount", "active_days"])
            for i, (pin, amount) in enumerate(pins, 1):
                writer.writerow([f"DEMO{i:06d}", pin, amount, 30])
        services.import_vouchers(path)
    return DemoData(tuple(people), tuple(pins))
