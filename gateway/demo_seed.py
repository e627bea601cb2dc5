"""The demo database: subscribers in every interesting state, and known vouchers.

Used by ``ussd-gateway demo`` (and ``scripts/run [--profile NAME]``). The demo
starts from this known state each time, so the PINs it prints are always
unused. Each profile has a demo set of its own (numbers of its plan, amounts
of its currency): ``SETS``, by profile name; a profile without one gets the
first. Demo data only: no rule looks at the profile's name.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable
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
    people = SETS.get(services.profile.key, _smart_kh)(services)
    pins = [("11112222333301", "5.00"), ("11112222333302", "5.00"), ("11112222333303", "10.00"),
            ("11112222333304", "1.00"), ("11112222333305", "2.00")]
    if services.profile.currency.code == "NPR":  # cards of Rs 500, 1,000 ... rather than $5
        pins = [(pin, f"{int(amount.split('.')[0]) * 100}.00") for pin, amount in pins]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-vouchers.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["serial", "pin", "amount", "active_days"])
            for i, (pin, amount) in enumerate(pins, 1):
                writer.writerow([f"DEMO{i:06d}", pin, amount, 30])
        services.import_vouchers(path)
    return DemoData(tuple(people), tuple(pins))


def _adder(services: Services) -> Callable[..., str]:
    """``add(national, balance, **options)``: a demo subscriber on the profile's number plan; its number."""
    cc = services.profile.number_plan.country_code

    def add(national: str, balance: str, **kwargs: object) -> str:
        msisdn = cc + national
        services.add_subscriber(msisdn, balance=parse_amount(balance, services.profile.currency), **kwargs)
        return msisdn

    return add


def _smart_kh(services: Services) -> list[DemoSubscriber]:
    now = services.ctx.clock.now()
    money = services.profile.currency
    add = _adder(services)
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
    return people


def _smart_np(services: Services) -> list[DemoSubscriber]:
    """Prepaid and postpaid lines of Smart Telecom Nepal: one well within its deposit, one past
    95% of it (004 7.7: notice sent), one with an unpaid bill coming due."""
    today = services.ctx.clock.now().astimezone(services.profile.time_zone).date()
    money = services.profile.currency
    add = _adder(services)
    people = [
        DemoSubscriber(add("9801234567", "500.00", valid_days=30, id_number="N01234567"),
                       "prepaid, Rs 500.00, ID number N01234567", "N01234567"),
        DemoSubscriber(add("9801000111", "250.00", valid_days=2, language="ne"),
                       "prepaid, Nepali menus, Rs 250.00 expiring in 2 days"),
        DemoSubscriber(add("9802000111", "0", type_="postpaid", deposit=parse_amount("5000.00", money)),
                       "postpaid, deposit Rs 5,000.00, bill Rs 1,200.50 due in 10 days"),
        DemoSubscriber(add("9802000222", "0", type_="postpaid", language="ne",
                           deposit=parse_amount("2000.00", money)),
                       "postpaid (Nepali), dues Rs 1,950.00 above 95% of its Rs 2,000.00 deposit: notice sent"),
    ]
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    end = today.replace(day=1) - timedelta(days=1)
    issued = today - timedelta(days=5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo-bills.csv"
        path.write_text("msisdn,period_start,period_end,issued_on,amount\n"
                        f"{people[2].msisdn},{start},{end},{max(issued, end)},1200.50\n"
                        f"{people[3].msisdn},{start},{end},{max(issued, end)},1950.00\n")
        services.import_bills(path)
    return people


#: The demo set of each profile (``config/operators/<name>.toml``).
SETS: dict[str, Callable[[Services], list[DemoSubscriber]]] = {"smart-kh": _smart_kh, "smart-np": _smart_np}
