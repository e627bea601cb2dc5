"""A prepaid account's funds, and how time and top-ups move them.

Rules (``seeds/000_bae17f1119540322.txt``, section "Prepaid"):

- clause 2: funds are valid for an Active Period that starts when they are
  added; unused funds expire at its end.
- clause 3: a top-up within seven days of expiry restores the expired funds;
  a top-up before expiry adds to the existing funds and its Active Period
  applies to the combined amount. We read "applies" as "the later of the
  current expiry and now + the voucher's days", so a short voucher never
  shortens a longer validity the subscriber already had.
- clause 4: promotional funds have their own Active Period (30 days unless
  stated) and are neither restored nor extended by a top-up.

An account is three buckets: ``main`` (with its expiry), ``restorable``
(expired main funds still inside the restore window) and promotional lots
(each with its own expiry). Every change to a bucket is returned as a ledger
entry, so the store can keep ``sum(ledger) == bucket`` for every bucket.

Nothing here reads a clock: ``settle(account, now)`` brings an account to
``now``; reads call it without saving the result (a balance check writes
nothing), writes save it together with their own change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from gateway.domain.limits import check_balance
from gateway.domain.money import Money
from gateway.domain.policy import Policy


class Bucket(enum.StrEnum):
    MAIN = "main"
    RESTORABLE = "restorable"
    PROMO = "promo"
    #: A postpaid line's (``gateway.domain.postpaid``): its security deposit, billed
    #: and unpaid dues, and rated usage not yet billed.
    DEPOSIT = "deposit"
    DUES = "dues"
    UNBILLED = "unbilled"


class EntryKind(enum.StrEnum):
    OPENING = "opening"  # balance a subscriber was created or imported with
    TOPUP = "topup"  # voucher credit
    RESTORE = "restore"  # expired funds brought back by a top-up (restorable → main)
    EXPIRE = "expire"  # main funds reached the end of their Active Period
    FORFEIT = "forfeit"  # the restore window closed on expired funds
    PROMO_GRANT = "promo_grant"
    PROMO_EXPIRE = "promo_expire"
    RECYCLE = "recycle"  # the number was recycled (or expired unclaimed); what was left is closed out
    # postpaid (``gateway.domain.postpaid``)
    DEPOSIT = "deposit"  # security deposit held (004 1.5, 7.1)
    BILL = "bill"  # an imported bill statement (004 7.3)
    PAYMENT = "payment"  # an imported payment (004 7.4, 7.6)
    LATE_PENALTY = "late_penalty"  # 000 "pay for the Services": 1% a month overdue
    USAGE = "usage"  # rated usage: debited from prepaid funds or added to unbilled
    REISSUE_FEE = "reissue_fee"  # a deactivated number given back for the profile's fee (004 3(B).12)
    # written requests to customer care (``gateway.services.care``)
    STATEMENT_CHARGE = "statement_charge"  # 004 7.6: a detailed statement's charge, on the next bill (unbilled)
    BILLED = "billed"  # 004 7.3, 7.6: unbilled usage or statement charges an imported bill took (unbilled -)
    DISPUTE_HOLD = "dispute_hold"  # 004 3(B).4: a disputed bill's amount held out of the dues
    DISPUTE_RELEASE = "dispute_release"  # 004 9.3: settled: the held amount due again
    DISPUTE_CREDIT = "dispute_credit"  # 004 9.3: the part of it credited by an upheld dispute


@dataclass(frozen=True)
class PromoLot:
    """One promotional grant. ``lot_id`` is the store's id (None until saved)."""

    amount: Money
    expires_at: datetime
    lot_id: int | None = None


@dataclass(frozen=True)
class LedgerEntry:
    bucket: Bucket
    delta: Money
    kind: EntryKind
    #: When the change took effect (an expiry is dated at the expiry instant).
    at: datetime
    #: For promo entries: the lot (its index in ``Account.promos`` when new).
    lot: PromoLot | None = None
    #: What the change belongs to when it differs per entry (a usage record); else the save's.
    reference: str | None = None


@dataclass(frozen=True)
class Account:
    main: Money
    main_expires_at: datetime | None
    restorable: Money
    restorable_until: datetime | None
    promos: tuple[PromoLot, ...] = ()

    @classmethod
    def opening(
        cls, balance: Money, expires_at: datetime | None, now: datetime
    ) -> tuple[Account, list[LedgerEntry]]:
        """A new account created at ``now`` with ``balance`` valid until ``expires_at``.

        ``expires_at`` may lie in the past (a subscriber migrated with their
        dates); ``settle`` then expires the balance as it would have.
        """
        zero = Money.zero(balance.currency)
        account = cls(zero, expires_at, zero, None, ())
        if not balance:
            return account, []
        entry = LedgerEntry(Bucket.MAIN, balance, EntryKind.OPENING, now)
        return replace(account, main=balance), [entry]

    @property
    def promo_total(self) -> Money:
        total = Money.zero(self.main.currency)
        for lot in self.promos:
            total = total + lot.amount
        return total

    @property
    def funds(self) -> Money:
        """Everything the line holds: main, restorable and promotional funds."""
        return self.main + self.restorable + self.promo_total

    @property
    def promo_expires_at(self) -> datetime | None:
        """The nearest expiry among the live promotional lots."""
        live = [lot.expires_at for lot in self.promos if lot.amount]
        return min(live) if live else None


def settle(account: Account, now: datetime, policy: Policy) -> tuple[Account, list[LedgerEntry]]:
    """Apply every expiry that has happened by ``now``.

    Idempotent: settling a settled account at the same or an earlier time
    returns it unchanged with no entries.
    """
    entries: list[LedgerEntry] = []
    zero = Money.zero(account.main.currency)

    # Main funds expire at the end of their Active Period and become restorable.
    if account.main_expires_at is not None and now >= account.main_expires_at and account.main:
        expired_at = account.main_expires_at
        entries.append(LedgerEntry(Bucket.MAIN, -account.main, EntryKind.EXPIRE, expired_at))
        entries.append(
            LedgerEntry(Bucket.RESTORABLE, account.main, EntryKind.EXPIRE, expired_at)
        )
        account = replace(
            account,
            main=zero,
            restorable=account.restorable + account.main,
            restorable_until=expired_at + policy.restore_window,
        )

    # After the restore window the expired funds are gone.
    if (
        account.restorable
        and account.restorable_until is not None
        and now >= account.restorable_until
    ):
        entries.append(
            LedgerEntry(
                Bucket.RESTORABLE, -account.restorable, EntryKind.FORFEIT, account.restorable_until
            )
        )
        account = replace(account, restorable=zero, restorable_until=None)
    elif not account.restorable and account.restorable_until is not None:
        account = replace(account, restorable_until=None)

    # Promotional lots expire on their own dates and are never restored.
    kept: list[PromoLot] = []
    for lot in account.promos:
        if now >= lot.expires_at:
            if lot.amount:
                entries.append(
                    LedgerEntry(Bucket.PROMO, -lot.amount, EntryKind.PROMO_EXPIRE, lot.expires_at, lot)
                )
        else:
            kept.append(lot)
    if len(kept) != len(account.promos):
        account = replace(account, promos=tuple(kept))
    return account, entries


@dataclass(frozen=True)
class TopUpOutcome:
    credited: Money
    restored: Money
    new_main: Money
    new_expires_at: datetime


def apply_top_up(
    account: Account, amount: Money, active_days: int, now: datetime, policy: Policy
) -> tuple[Account, list[LedgerEntry], TopUpOutcome]:
    """Credit a voucher of ``amount`` valid ``active_days`` days (000 "Prepaid" 2-4).

    The account is settled to ``now`` first, so the caller never has to.

    Raises:
        BalanceAboveMaximum: the line's funds would exceed ``policy.max_balance``.
    """
    if amount.minor <= 0:
        raise ValueError("a top-up credits a positive amount")
    account, entries = settle(account, now, policy)
    zero = Money.zero(amount.currency)

    restored = account.restorable
    if restored:
        # Inside the window (settle forfeited anything older): bring it back.
        entries.append(LedgerEntry(Bucket.RESTORABLE, -restored, EntryKind.RESTORE, now))
        entries.append(LedgerEntry(Bucket.MAIN, restored, EntryKind.RESTORE, now))
    entries.append(LedgerEntry(Bucket.MAIN, amount, EntryKind.TOPUP, now))

    candidate = now + timedelta(days=active_days)
    current = account.main_expires_at
    new_expiry = max(current, candidate) if current is not None and current > now else candidate
    new_main = account.main + restored + amount
    account = replace(
        account,
        main=new_main,
        main_expires_at=new_expiry,
        restorable=zero,
        restorable_until=None,
    )
    check_balance(account.funds, policy)
    return account, entries, TopUpOutcome(amount, restored, new_main, new_expiry)


def grant_promo(
    account: Account, amount: Money, valid_days: int, now: datetime, policy: Policy
) -> tuple[Account, list[LedgerEntry], PromoLot]:
    """Add a promotional lot valid ``valid_days`` from ``now`` (000 "Prepaid" 4).

    Raises:
        BalanceAboveMaximum: the line's funds would exceed ``policy.max_balance``.
    """
    if amount.minor <= 0:
        raise ValueError("a promotion grants a positive amount")
    account, entries = settle(account, now, policy)
    lot = PromoLot(amount, now + timedelta(days=valid_days))
    entries.append(LedgerEntry(Bucket.PROMO, amount, EntryKind.PROMO_GRANT, now, lot))
    account = replace(account, promos=account.promos + (lot,))
    check_balance(account.funds, policy)
    return account, entries, lot


def close_out(account: Account, now: datetime) -> tuple[Account, list[LedgerEntry]]:
    """Zero every bucket of an account whose number is being recycled."""
    zero = Money.zero(account.main.currency)
    entries: list[LedgerEntry] = []
    if account.main:
        entries.append(LedgerEntry(Bucket.MAIN, -account.main, EntryKind.RECYCLE, now))
    if account.restorable:
        entries.append(
            LedgerEntry(Bucket.RESTORABLE, -account.restorable, EntryKind.RECYCLE, now)
        )
    for lot in account.promos:
        if lot.amount:
            entries.append(LedgerEntry(Bucket.PROMO, -lot.amount, EntryKind.RECYCLE, now, lot))
    closed = Account(zero, account.main_expires_at, zero, None, ())
    return closed, entries
