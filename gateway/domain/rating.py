"""Usage rated by the terms' charging units, and debited from prepaid funds.

Charging units (``seeds/000_bae17f1119540322.txt``, the clause "The Services
charged to the Subscriber ... calculation of the charges", items 1-3):

- Voice "rounded up to the nearest minute": a call is charged per started
  unit of ``voice.unit`` seconds (60);
- Text: "any incoming and outgoing text messages" are charged, each one;
- Data "rounded up to the nearest kilobyte": per started unit of
  ``data.unit`` bytes (1,024).

A rate is ``price`` per ``per`` units (data is priced per 1,024 kilobytes and
charged per started kilobyte), so a record's charge can be a fraction of a
minor unit: it is rounded up to the minor unit, per record, as a bill is.

The debit never takes a line below zero (000 "Prepaid" 1: the subscriber
"must maintain a positive balance ... in order to use the Services"): a
record started with no funds is refused (the network would not have carried
it), one whose charge exceeds the funds takes what is there and the rest is
reported as uncharged (the network cuts a call when the funds run out).
Funds are spent in the profile's ``spending_order``; restorable funds are
expired money and are never spent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from gateway.domain.account import Account, Bucket, EntryKind, LedgerEntry
from gateway.domain.money import Money


class UsageKind(enum.StrEnum):
    VOICE = "voice"  # quantity: seconds
    SMS = "sms"  # quantity: messages
    DATA = "data"  # quantity: bytes


@dataclass(frozen=True)
class Rate:
    """``price`` for every ``per`` started units of ``unit`` (seconds, messages or bytes)."""

    unit: int
    price: Money
    per: int = 1

    def __post_init__(self) -> None:
        if self.unit <= 0 or self.per <= 0 or self.price.minor < 0:
            raise ValueError("a rate needs a positive unit and per, and a price not below zero")


@dataclass(frozen=True)
class Tariff:
    voice: Rate
    sms: Rate
    data: Rate
    #: Which funds a prepaid debit takes first (``Bucket.PROMO``, ``Bucket.MAIN``).
    spending_order: tuple[Bucket, ...] = (Bucket.PROMO, Bucket.MAIN)

    def rate_for(self, kind: UsageKind) -> Rate:
        return {UsageKind.VOICE: self.voice, UsageKind.SMS: self.sms, UsageKind.DATA: self.data}[kind]


@dataclass(frozen=True)
class Charge:
    units: int
    amount: Money


def rate(kind: UsageKind, quantity: int, tariff: Tariff) -> Charge:
    """The charge of one record: started units, and their price rounded up to the minor unit."""
    if quantity < 0:
        raise ValueError("a usage quantity is not negative")
    r = tariff.rate_for(kind)
    units = -(-quantity // r.unit)
    minor = -(-units * r.price.minor // r.per)
    return Charge(units, Money(minor, r.price.currency))


class Refusal(enum.StrEnum):
    """Why the network would not have carried (all of) a record."""

    NO_FUNDS = "no_funds"  # started with nothing to spend
    SHORT = "short"  # the funds ran out part way: the rest is uncharged


@dataclass(frozen=True)
class Debit:
    charged: Money
    uncharged: Money
    refusal: Refusal | None


def debit(
    account: Account, amount: Money, at: datetime, order: tuple[Bucket, ...], reference: str | None = None,
) -> tuple[Account, list[LedgerEntry], Debit]:
    """Take ``amount`` from the funds in ``order``, never below zero; one entry per bucket or lot touched.

    The caller settles the account first (expired funds are not spendable).
    Promotional lots are spent nearest expiry first. ``reference`` goes on
    every entry. (Integer arithmetic inside: a usage import calls this once a
    record.)
    """
    currency = amount.currency
    left = amount.minor
    main = account.main.minor
    promos = account.promos
    entries: list[LedgerEntry] = []
    for bucket in order:
        if left <= 0:
            break
        if bucket is Bucket.MAIN:
            take = min(left, main) if main > 0 else 0
            if take:
                main -= take
                left -= take
                entries.append(LedgerEntry(Bucket.MAIN, Money(-take, currency), EntryKind.USAGE, at,
                                           reference=reference))
        elif bucket is Bucket.PROMO:
            if not promos:
                continue
            lots = list(promos)
            for index in sorted(range(len(lots)), key=lambda i: (lots[i].expires_at, i)):
                if left <= 0:
                    break
                lot = lots[index]
                take = min(left, lot.amount.minor) if lot.amount.minor > 0 else 0
                if not take:
                    continue
                lots[index] = replace(lot, amount=Money(lot.amount.minor - take, currency))
                left -= take
                entries.append(LedgerEntry(Bucket.PROMO, Money(-take, currency), EntryKind.USAGE, at, lot,
                                           reference=reference))
            promos = tuple(lots)
        else:
            raise ValueError(f"funds of bucket {bucket} are not spendable")
    charged = amount.minor - left
    refusal = None
    if left > 0:
        refusal = Refusal.NO_FUNDS if not charged else Refusal.SHORT
    if entries:
        account = Account(Money(main, currency), account.main_expires_at, account.restorable,
                          account.restorable_until, promos)
    return account, entries, Debit(Money(charged, currency), Money(max(left, 0), currency), refusal)


def spendable(account: Account, order: tuple[Bucket, ...]) -> Money:
    """What ``debit`` could take from a settled account."""
    total = Money.zero(account.main.currency)
    for bucket in order:
        if bucket is Bucket.MAIN:
            total = total + account.main
        elif bucket is Bucket.PROMO:
            total = total + account.promo_total
    return total
