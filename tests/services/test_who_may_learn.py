"""Who may learn what: gift top-up answers, lost-SIM guessing, lost lines (issue 13, items 12-14)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from gateway.domain.channels import Channel
from gateway.domain.errors import (
    GatewayError,
    LineLost,
    LostDetailsMismatch,
    LostReportLocked,
    NotPostpaid,
    TopUpLocked,
    VoucherAlreadyUsed,
    WrongPin,
)
from gateway.services.model import ReportLost, TopUp
from menus.actions import ACTION_TABLE

OWNER = "85512345678"        # a real, active prepaid subscriber
MISSING = "85511111111"      # never ours
RECYCLED = "85511111112"     # recycled and not reissued
POSTPAID = "85511111113"
BARRED = "85511111114"       # funds expired: outgoing barred
LOST = "85511111115"         # SIM reported lost
TARGETS = (OWNER, MISSING, RECYCLED, POSTPAID, BARRED, LOST)
CREDITABLE = (OWNER, BARRED, LOST)
WRONG = "99999999999999"


def _senders():
    """A fresh stranger's phone for each attempt, so attempt counts do not differ."""
    n = 0
    while True:
        n += 1
        yield f"8559700{n:05d}"


@pytest.fixture
def targets(world):
    """Every kind of target a gift may name, and the vouchers to try."""
    now = world.clock.now()
    world.add(OWNER, "1.00", id_number="OWN1")
    world.services.grant_promo(OWNER, world.money("0.50"))  # more rows to read for a real line
    world.add(RECYCLED, "0.00", expires_at=now - timedelta(days=120))
    world.services.run_lifecycle()
    assert world.sql("SELECT status FROM subscribers WHERE msisdn = ?", RECYCLED)[0]["status"] == "recycled"
    world.add(POSTPAID, "0.00", type_="postpaid")
    world.add(BARRED, "0.00", expires_at=now - timedelta(days=10))
    world.add(LOST, "0.00", id_number="LOST1")
    world.services.report_lost_sim(ReportLost(OWNER, LOST, "LOST1", Channel.USSD))
    [used] = world.vouchers()
    world.services.top_up(TopUp(OWNER, used, Channel.USSD))
    [expired] = world.vouchers(expires_on=date(2026, 10, 31))
    return {"wrong": WRONG, "used": used, "expired": expired}


def _refusal_text(world, exc: GatewayError) -> str:
    return world.services.ctx.notices.error(exc, "en")  # type: ignore[union-attr]


def _gift(world, sender: str, pin: str, target: str) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        world.services.top_up(TopUp(sender, pin, Channel.USSD, target=target))
    return info.value


@pytest.mark.parametrize("kind", ["wrong", "used", "expired"])
def test_a_gift_that_redeems_nothing_reads_the_same_for_every_target(world, targets, kind):
    """Wrong, used or expired PIN: a stranger sees one answer whatever the target is.

    Before the fix a used PIN answered "already used" for a real number and
    "not a Smart prepaid number" for a missing one.
    """
    senders = _senders()
    answers = {target: _gift(world, next(senders), targets[kind], target) for target in TARGETS}
    texts = {target: _refusal_text(world, exc) for target, exc in answers.items()}
    assert len(set(texts.values())) == 1, texts
    assert len({type(exc) for exc in answers.values()}) == 1
    for target in TARGETS:
        assert str(target[-8:]) not in texts[target]


def test_a_valid_pin_to_a_number_that_cannot_be_credited_reads_like_a_wrong_pin(world, targets):
    """Missing, recycled, postpaid: the same answer as a wrong PIN, and the voucher stays unused."""
    [pin] = world.vouchers()
    senders = _senders()
    wrong = _refusal_text(world, _gift(world, next(senders), WRONG, MISSING))
    for target in (MISSING, RECYCLED, POSTPAID):
        assert _refusal_text(world, _gift(world, next(senders), pin, target)) == wrong
    assert world.sql("SELECT COUNT(*) AS n FROM vouchers WHERE status = 'active'")[0]["n"] == 2


def test_a_valid_pin_credits_every_line_that_can_receive(world, targets):
    """The real giver still succeeds: active, barred and lost lines are credited (the funds wait)."""
    pins = world.vouchers(count=len(CREDITABLE))
    senders = _senders()
    for pin, target in zip(pins, CREDITABLE, strict=True):
        result = world.services.top_up(TopUp(next(senders), pin, Channel.SMS, target=target))
        assert result.gift and result.msisdn == target and result.credited.minor == 500


def test_refused_gifts_count_toward_the_senders_lockout(world, targets):
    """Five refused gifts of any kind lock the sending phone; a valid PIN is then refused unspent."""
    stranger = "85597000999"
    tries = [(targets["used"], OWNER), (WRONG, MISSING), (targets["expired"], RECYCLED),
             (targets["used"], POSTPAID)]
    lefts = []
    for pin, target in tries:
        exc = _gift(world, stranger, pin, target)
        assert isinstance(exc, WrongPin)
        lefts.append(exc.attempts_left)
    assert lefts == [4, 3, 2, 1]
    fifth = _gift(world, stranger, targets["used"], MISSING)
    assert isinstance(fifth, WrongPin) and fifth.locked_until == world.clock.now() + timedelta(hours=24)
    [pin] = world.vouchers()
    assert isinstance(_gift(world, stranger, pin, OWNER), TopUpLocked)
    assert isinstance(_gift(world, stranger, pin, MISSING), TopUpLocked)
    with pytest.raises(TopUpLocked):
        world.services.top_up(TopUp(stranger, pin, Channel.SMS))
    assert world.sql("SELECT status FROM vouchers WHERE id = 3")[0]["status"] == "active"


def test_own_top_up_still_says_what_is_wrong_with_the_card(world, targets):
    """A subscriber topping up their own line learns nothing about anyone else: the precise answer stays."""
    with pytest.raises(VoucherAlreadyUsed):
        world.services.top_up(TopUp(OWNER, targets["used"], Channel.USSD))
    with pytest.raises(VoucherAlreadyUsed):
        world.services.top_up(TopUp(OWNER, targets["used"], Channel.USSD, target=OWNER))


def _statements(world, run) -> list[str]:
    """The SQL the write connection ran for ``run()``, literals replaced by ``?``."""
    seen: list[str] = []
    conn = world.services.ctx.store.conn
    conn.set_trace_callback(seen.append)
    try:
        run()
    except GatewayError:
        pass
    finally:
        conn.set_trace_callback(None)
    return [re.sub(r"'[^']*'|\b\d+\b", "?", s) for s in seen]


@pytest.mark.sqlite_only("compares the statements SQLite traced")
@pytest.mark.parametrize("kind", ["wrong", "used"])
def test_a_refused_gift_does_the_same_database_work_for_every_target(world, targets, kind):
    """The same statements whether the target exists or not, so timing does not tell either."""
    senders = _senders()
    work = {
        target: _statements(world, lambda t=target: world.services.top_up(
            TopUp(next(senders), targets[kind], Channel.USSD, target=t)))
        for target in TARGETS
    }
    assert all(w == work[OWNER] for w in work.values()), work


# --- lost-SIM guesses: per reporting phone and per target number ----------------------------


def test_lost_guesses_against_one_number_are_limited_whatever_the_phone(world):
    """30 guesses from 6 phones went through: the target number now locks after the profile's limit."""
    world.add(OWNER, id_number="N0123")
    limit = world.services.profile.policy.lost_attempts_per_number
    assert limit.max_failures < 30
    senders = _senders()
    for n in range(30):
        phone = f"8559800{n // 5:05d}"  # 6 phones, 5 guesses each
        with pytest.raises((LostDetailsMismatch, LostReportLocked)):
            world.services.report_lost_sim(ReportLost(phone, OWNER, f"guess{n}", Channel.USSD))
    # Locked: even the right ID from a phone that never guessed is refused, and nothing is blocked.
    with pytest.raises(LostReportLocked):
        world.services.report_lost_sim(ReportLost(next(senders), OWNER, "N0123", Channel.SMS))
    assert world.services.show_subscriber(OWNER)["lost"] is None
    world.clock.advance(limit.lockout)
    assert world.services.report_lost_sim(ReportLost(next(senders), OWNER, "N0123", Channel.SMS)).reference


def test_the_per_number_limit_counts_guesses_from_every_phone(world):
    """Two guesses each from many phones (never a per-phone lock): the number locks at its limit."""
    world.add(OWNER, id_number="N0123")
    limit = world.services.profile.policy.lost_attempts_per_number
    outcomes = []
    for n in range(2 * limit.max_failures):
        phone = f"8559800{n // 2:05d}"
        with pytest.raises((LostDetailsMismatch, LostReportLocked)) as info:
            world.services.report_lost_sim(ReportLost(phone, OWNER, f"guess{n}", Channel.USSD))
        outcomes.append(type(info.value).__name__)
    assert outcomes == ["LostDetailsMismatch"] * (limit.max_failures - 1) + \
        ["LostReportLocked"] * (limit.max_failures + 1)


def test_a_missing_number_locks_exactly_like_a_real_one(world):
    """The per-number limit answers the same for a number that does not exist."""
    world.add(OWNER, id_number="N0123")

    def run(target: str) -> list[str]:
        out = []
        for n in range(world.services.profile.policy.lost_attempts_per_number.max_failures + 1):
            with pytest.raises(GatewayError) as info:
                world.services.report_lost_sim(ReportLost(f"85599{target[-3:]}{n:04d}", target, "x1",
                                                          Channel.USSD))
            out.append(_refusal_text(world, info.value))
        return out

    assert run(OWNER) == run(MISSING)


def _lock_out(world, target: str) -> None:
    """A stranger guesses ID numbers of ``target`` from fresh phones until reports naming it lock."""
    senders = _senders()
    for n in range(world.services.profile.policy.lost_attempts_per_number.max_failures):
        with pytest.raises((LostDetailsMismatch, LostReportLocked)):
            world.services.report_lost_sim(ReportLost(next(senders), target, f"guess{n}", Channel.USSD))


@pytest.mark.parametrize("language", ["en", "km"])
def test_the_locked_answer_tells_the_owner_to_call_customer_care(world, language):
    """A stranger's guesses lock reports naming the owner's number: the owner, reporting with the
    right ID, is told (in their language) to contact customer care, not only to wait a day."""
    world.add(OWNER, id_number="N0123")
    _lock_out(world, OWNER)
    with pytest.raises(LostReportLocked) as info:
        world.services.report_lost_sim(ReportLost("85577000001", OWNER, "N0123", Channel.SMS))
    text = world.services.ctx.notices.error(info.value, language)  # type: ignore[union-attr]
    care = world.services.ctx.notices.catalog.text("replies.customer_care", language)  # type: ignore[union-attr]
    assert care and care in text
    assert world.services.ctx.notices.time(info.value.until) in text  # type: ignore[union-attr]


def test_customer_care_can_lift_the_lock_on_a_number(world):
    """The operator clears the guessing lock on the owner's number (and on the phone they report from):
    the owner's report with the right ID then blocks the SIM, and the mismatch count starts again."""
    world.add(OWNER, id_number="N0123")
    _lock_out(world, OWNER)
    helper = "85577000002"
    for n in range(world.services.profile.policy.lost_attempts.max_failures):
        with pytest.raises((LostDetailsMismatch, LostReportLocked)):
            world.services.report_lost_sim(ReportLost(helper, MISSING, f"typo{n}", Channel.USSD))

    cleared = world.services.clear_lost_locks(OWNER)
    assert cleared.as_target is not None and cleared.as_reporter is None
    assert world.services.clear_lost_locks(helper).as_reporter is not None
    again = world.services.clear_lost_locks(OWNER)
    assert again.as_target is None and again.as_reporter is None

    # One more typo does not lock again: the count started from the unlock.
    with pytest.raises(LostDetailsMismatch):
        world.services.report_lost_sim(ReportLost(helper, OWNER, "typo", Channel.USSD))
    assert world.services.report_lost_sim(ReportLost(helper, OWNER, "N0123", Channel.USSD)).reference
    assert world.services.show_subscriber(OWNER)["lost"] is not None


# --- a lost line originates nothing -------------------------------------------------------

#: The customer-care requests (004), offered by smart-np only.
CARE_ACTIONS = frozenset({"ask_statement", "dispute_bill", "file_complaint", "ask_number_change"})


@pytest.mark.parametrize("action", sorted(ACTION_TABLE))
def test_a_lost_line_can_use_no_service(world, action):
    """Every use case a menu or keyword can name is refused from a SIM reported lost."""
    if action in CARE_ACTIONS:
        pytest.skip("smart-kh offers no customer-care requests: tests/services/test_care.py checks them on smart-np")
    world.add(OWNER, "1.00", id_number="N0123")
    world.add(LOST, "1.00", id_number="LOST1")
    [pin] = world.vouchers()
    world.services.report_lost_sim(ReportLost(OWNER, LOST, "LOST1", Channel.USSD))
    args = {"pin": pin, "target": "", "number": OWNER, "id_number": "N0123", "opt_in": "false",
            "language": "km"}
    before = world.services.show_subscriber(LOST)
    with pytest.raises(LineLost):
        ACTION_TABLE[action].invoke(world.services, LOST, args, f"ussd:s1:{action}")
    if action == "top_up":
        with pytest.raises(LineLost):
            world.services.top_up(TopUp(LOST, pin, Channel.SMS, target=OWNER))
    after = world.services.show_subscriber(LOST)
    assert after == before
    assert world.services.show_subscriber(OWNER)["lost"] is None
    assert world.sql("SELECT status FROM vouchers")[0]["status"] == "active"
    world.services.unblock(LOST)
    if action == "check_bill":  # a prepaid line: once unblocked, refused for what it is, not as lost
        with pytest.raises(NotPostpaid):
            ACTION_TABLE[action].invoke(world.services, LOST, args, f"ussd:s2:{action}")
        return
    ACTION_TABLE[action].invoke(world.services, LOST, args, f"ussd:s2:{action}")
