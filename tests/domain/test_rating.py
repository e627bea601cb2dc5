"""Charging units of 000 ("The calculation of the charges", items 1-3) and the prepaid debit, as plain functions."""

from datetime import UTC, datetime, timedelta

from gateway.domain.account import Account, Bucket, PromoLot
from gateway.domain.money import Currency, Money
from gateway.domain.rating import Rate, Refusal, Tariff, UsageKind, debit, rate

USD = Currency("USD", 2, "$")
NOW = datetime(2026, 11, 1, tzinfo=UTC)
TARIFF = Tariff(voice=Rate(60, Money(5, USD)), sms=Rate(1, Money(3, USD)), data=Rate(1024, Money(2, USD), 1024))


def usd(minor: int) -> Money:
    return Money(minor, USD)


def test_voice_rounds_up_to_the_started_minute():
    assert [rate(UsageKind.VOICE, s, TARIFF).units for s in (0, 1, 60, 61, 3600)] == [0, 1, 1, 2, 60]


def test_data_rounds_up_to_the_started_kilobyte_and_the_price_up_to_the_cent():
    assert rate(UsageKind.DATA, 1, TARIFF) .units == 1 and rate(UsageKind.DATA, 1, TARIFF).amount == usd(1)
    assert rate(UsageKind.DATA, 1024 * 1024, TARIFF).amount == usd(2)  # one MB
    assert rate(UsageKind.DATA, 1024 * 1024 + 1, TARIFF).amount == usd(3)  # a started KB more


def test_each_text_is_charged():
    assert rate(UsageKind.SMS, 4, TARIFF).amount == usd(12)


def test_debit_takes_the_nearest_promo_lot_first_then_main_and_never_below_zero():
    later = PromoLot(usd(5), NOW + timedelta(days=20), 2)
    sooner = PromoLot(usd(4), NOW + timedelta(days=3), 1)
    account = Account(usd(10), NOW + timedelta(days=30), usd(0), None, (later, sooner))
    after, entries, result = debit(account, usd(25), NOW, (Bucket.PROMO, Bucket.MAIN), "usage:1")
    assert [(e.bucket, e.delta.minor, e.lot.lot_id if e.lot else None) for e in entries] == [
        (Bucket.PROMO, -4, 1), (Bucket.PROMO, -5, 2), (Bucket.MAIN, -10, None)]
    assert after.main == usd(0) and after.promo_total == usd(0)
    assert (result.charged, result.uncharged, result.refusal) == (usd(19), usd(6), Refusal.SHORT)
    assert {e.reference for e in entries} == {"usage:1"}


def test_nothing_to_spend_is_a_refusal_and_changes_nothing():
    account = Account(usd(0), NOW, usd(50), NOW + timedelta(days=7))  # restorable funds are not spendable
    after, entries, result = debit(account, usd(3), NOW, (Bucket.PROMO, Bucket.MAIN))
    assert after == account and entries == [] and result.refusal is Refusal.NO_FUNDS
