"""Rules 2, 3 and 6 through the service layer: vouchers, top-ups, lockout."""

from datetime import timedelta

import pytest

from gateway.domain.channels import Channel
from gateway.domain.errors import (
    BalanceAboveMaximum,
    GiftRefused,
    InvalidPin,
    TopUpLocked,
    VoucherAlreadyUsed,
    VoucherExpired,
    WrongPin,
)
from gateway.domain.lost import REFERENCE_ALPHABET
from gateway.services.model import ReportLost, TopUp

ME = "85512345678"
FRIEND = "85598765432"
WRONG = "99999999999999"


def test_topup_credits_once_and_marks_the_voucher_used(world):
    """A PIN credits its amount, extends validity, and cannot be used twice."""
    world.add(ME, "6.00", valid_days=10)
    [pin] = world.vouchers(amount="5", days=30)
    result = world.services.top_up(TopUp(ME, pin, Channel.USSD))
    assert result.credited.minor == 500 and result.balance.minor == 1100
    assert result.expires_at == world.clock.now() + timedelta(days=30)
    with pytest.raises(VoucherAlreadyUsed):
        world.services.top_up(TopUp(ME, pin, Channel.SMS))
    assert world.services.check_balance(ME).main.minor == 1100
    world.assert_ledger_matches()


def test_topup_for_another_number_credits_that_number(world):
    """A gift credits the target, not the requester, and confirms to both by SMS."""
    world.add(ME, "1.00")
    world.add(FRIEND, "0.00")
    [pin] = world.vouchers(amount="2")
    result = world.services.top_up(TopUp(ME, pin, Channel.USSD, target=FRIEND))
    assert result.gift and result.msisdn == FRIEND
    assert world.services.check_balance(FRIEND).main.minor == 200
    assert world.services.check_balance(ME).main.minor == 100
    sent = {row["destination"]: row["text"] for row in world.sql("SELECT destination, text FROM sms_outbox")}
    assert "$2.00" in sent[FRIEND] and "012345678" not in sent[FRIEND]
    assert "098765432" in sent[ME]


def test_restores_expired_funds_within_seven_days(world):
    """000 Prepaid 3 end to end: expired $6 comes back with a top-up on day 6 after expiry."""
    world.add(ME, "6.00", valid_days=1)
    [pin] = world.vouchers(amount="5")
    world.clock.advance(timedelta(days=7))
    view = world.services.check_balance(ME)
    assert view.main.minor == 0 and view.restorable.minor == 600
    result = world.services.top_up(TopUp(ME, pin, Channel.USSD))
    assert result.restored.minor == 600 and result.balance.minor == 1100
    world.assert_ledger_matches()


def test_wrong_pins_lock_the_number_and_never_consume_a_voucher(world):
    """Five wrong PINs in 24 h lock top-up for 24 h, even for a valid PIN; the voucher stays usable."""
    world.add(ME)
    [pin] = world.vouchers()
    lefts = []
    for _ in range(4):
        with pytest.raises(WrongPin) as info:
            world.services.top_up(TopUp(ME, WRONG, Channel.USSD))
        lefts.append(info.value.attempts_left)
    assert lefts == [4, 3, 2, 1]
    with pytest.raises(WrongPin) as info:
        world.services.top_up(TopUp(ME, WRONG, Channel.SMS))
    assert info.value.locked_until == world.clock.now() + timedelta(hours=24)
    world.clock.advance(timedelta(hours=23))
    with pytest.raises(TopUpLocked):
        world.services.top_up(TopUp(ME, pin, Channel.USSD))
    assert world.sql("SELECT status FROM vouchers")[0]["status"] == "active"
    world.clock.advance(timedelta(hours=1))
    assert world.services.top_up(TopUp(ME, pin, Channel.USSD)).credited.minor == 500


def test_failures_older_than_24_hours_do_not_count(world):
    """Four wrong PINs, a day apart from the next, never earn a lock."""
    world.add(ME)
    for _ in range(4):
        with pytest.raises(WrongPin):
            world.services.top_up(TopUp(ME, WRONG, Channel.USSD))
    world.clock.advance(timedelta(hours=24, seconds=1))
    with pytest.raises(WrongPin) as info:
        world.services.top_up(TopUp(ME, WRONG, Channel.USSD))
    assert info.value.attempts_left == 4


def test_expired_voucher_is_refused_and_stays_unused(world):
    """A voucher past its last day is refused; nothing is credited."""
    from datetime import date

    world.add(ME, "1.00")
    [pin] = world.vouchers(expires_on=date(2026, 11, 1))
    world.clock.advance(timedelta(days=1))
    with pytest.raises(VoucherExpired):
        world.services.top_up(TopUp(ME, pin, Channel.USSD))
    assert world.services.check_balance(ME).main.minor == 100


def test_unknown_and_recycled_numbers_cannot_be_topped_up(world):
    """Top-up to a number that is not ours, or was recycled, consumes nothing (and says the same)."""
    world.add(ME, valid_days=1)
    [pin] = world.vouchers()
    with pytest.raises(GiftRefused) as unknown:
        world.services.top_up(TopUp(ME, pin, Channel.USSD, target=FRIEND))
    assert unknown.value.cause == "UnknownSubscriber"
    world.clock.advance(timedelta(days=91))
    with pytest.raises(GiftRefused) as due:
        world.services.top_up(TopUp(FRIEND, pin, Channel.USSD, target=ME))
    assert due.value.cause == "NumberRecycled"
    world.services.run_lifecycle()
    with pytest.raises(GiftRefused) as recycled:
        world.services.top_up(TopUp(FRIEND, pin, Channel.USSD, target=ME))
    assert recycled.value.cause == "NumberRecycled"
    assert world.sql("SELECT status FROM vouchers")[0]["status"] == "active"


def test_barred_and_lost_lines_can_be_topped_up(world):
    """The funds wait for the subscriber: a barred line reactivates, a lost line is credited."""
    world.add(ME, "0.00", valid_days=1, id_number="N0123")
    pin1, pin2 = world.vouchers(count=2)
    world.clock.advance(timedelta(days=70))
    assert world.services.show_subscriber(ME)["state"] == "fully_barred"
    world.services.top_up(TopUp(ME, pin1, Channel.USSD))
    assert world.services.show_subscriber(ME)["state"] == "active"
    world.services.report_lost_sim(ReportLost(FRIEND, ME, "N0123", Channel.USSD))
    world.services.top_up(TopUp(FRIEND, pin2, Channel.USSD, target=ME))
    assert world.services.show_subscriber(ME)["balances"]["main"]["minor"] == 1000


def test_resent_request_credits_once(world):
    """The same request key returns the first result and credits nothing twice."""
    world.add(ME, "0.00")
    [pin] = world.vouchers()
    first = world.services.top_up(TopUp(ME, pin, Channel.USSD, request_key="ussd:s1:1*" + pin))
    again = world.services.top_up(TopUp(ME, pin, Channel.USSD, request_key="ussd:s1:1*" + pin))
    assert again.replayed and again.topup_id == first.topup_id
    assert world.services.check_balance(ME).main.minor == 500
    assert len(world.sql("SELECT * FROM ledger WHERE kind = 'topup'")) == 1


def test_malformed_pin_is_not_counted_as_a_guess(world):
    """Letters or a too-short PIN get InvalidPin and no attempt is counted."""
    world.add(ME)
    with pytest.raises(InvalidPin):
        world.services.top_up(TopUp(ME, "12ab", Channel.USSD))
    assert world.sql("SELECT COUNT(*) AS n FROM topup_attempts")[0]["n"] == 0
    assert set(REFERENCE_ALPHABET).isdisjoint("01IO")


@pytest.mark.sqlite_only("reads the bytes of the SQLite file")
def test_pin_is_stored_only_as_a_keyed_hash(world):
    """The database file never contains a voucher PIN in clear."""
    world.add(ME)
    pins = world.vouchers(count=5)
    world.services.top_up(TopUp(ME, pins[0], Channel.USSD))
    world.services.ctx.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = world.path.read_bytes()
    assert not any(pin.encode() in raw for pin in pins)


def test_sms_topup_is_not_confirmed_twice(world):
    """By SMS the keyword reply confirms the top-up: only a gift's recipient gets a separate SMS."""
    world.add(ME, "1.00")
    world.add(FRIEND, "0.00")
    own, gift = world.vouchers(count=2)
    world.services.top_up(TopUp(ME, own, Channel.SMS))
    assert world.sql("SELECT COUNT(*) AS n FROM sms_outbox")[0]["n"] == 0
    world.services.top_up(TopUp(ME, gift, Channel.SMS, target=FRIEND))
    assert [row["destination"] for row in world.sql("SELECT destination FROM sms_outbox")] == [FRIEND]


def test_topup_over_the_balance_maximum_charges_nothing(world):
    """A top-up that would take the funds over the profile maximum is refused; the card stays usable."""
    maximum = world.services.profile.policy.max_balance
    world.add(ME, "999.00")
    world.add(FRIEND, "1.00")
    [pin] = world.vouchers(amount="5", days=30)

    with pytest.raises(BalanceAboveMaximum) as info:
        world.services.top_up(TopUp(ME, pin, Channel.USSD))

    assert world.services.check_balance(ME).main.minor == 99_900
    assert world.sql("SELECT status FROM vouchers")[0]["status"] == "active"
    for language in ("en", "km"):
        answer = world.services.ctx.notices.error(info.value, language)
        assert maximum.display() in answer and answer != world.services.ctx.notices.unavailable(language)
    assert "Nothing was charged" in world.services.ctx.notices.error(info.value, "en")
    assert world.services.top_up(TopUp(FRIEND, pin, Channel.USSD)).credited.minor == 500
    world.assert_ledger_matches()
