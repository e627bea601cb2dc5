"""Who may learn what, by SMS: gift answers, lost-SIM guessing, lost SIMs (issue 13, items 12-14)."""

from __future__ import annotations

from datetime import timedelta

from gateway.domain.channels import Channel
from gateway.domain.money import Money
from gateway.services.api import Services
from gateway.services.model import ReportLost, TopUp
from gateway.smpp.codec import decode_text
from gateway.sms.router import KeywordRouter
from gateway.store import Store
from gateway.store import sms as sms_store
from menus.replies import Replies
from menus.texts import Catalog
from tests.support.sms import PART_KEY, outbox, read
from tests.support.world import OTHER, SUBSCRIBER, pins

LOST_TEXT = "This SIM is reported lost. Visit a Smart shop with your ID for a new SIM."


def text_in(services: Services, source: str, text: str, to: str = "888") -> str:
    """Receive one MO and answer it with the real texts; returns the reply."""
    event = sms_store.InboundSms(source, to, text.encode(), 0, sms_store.digest(source, to, text))
    with services.ctx.store.write_uow() as uow:
        [inbox_id] = uow.inbox.apply([event], services.ctx.clock.now(), decode=decode_text,
                                     dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
    profile = services.profile
    KeywordRouter(services=services, texts=Replies(Catalog.for_profile(profile), profile)).handle([inbox_id])
    return str(outbox(services.ctx.store, kind="reply")[-1]["text"])


def test_top_pin_number_answers_alike_for_a_real_and_a_missing_number(services: Services, tmp_path) -> None:
    """TOP USED 0123… and TOP USED 0111… from strangers: one reply; a made-up PIN too."""
    [pin] = pins(services, tmp_path, 1, "5.00")
    services.top_up(TopUp(SUBSCRIBER, pin, Channel.USSD))
    real = text_in(services, "85597000001", f"TOP {pin} 012345678")
    missing = text_in(services, "85597000002", f"TOP {pin} 011111111")
    made_up = text_in(services, "85597000003", "TOP 99999999999999 011111111")
    assert real == missing == made_up == \
        "Top-up not made. Check the card PIN and the number. 4 attempt(s) left."


def test_lost_guesses_by_sms_lock_the_number_for_every_phone(services: Services, store: Store) -> None:
    """LOST NUMBER GUESS from many phones: after the per-number limit the right ID is refused too."""
    services.add_subscriber("85512345670", balance=Money(0, services.profile.currency), id_number="K-1")
    limit = services.profile.policy.lost_attempts_per_number
    for n in range(limit.max_failures):
        text_in(services, f"8559800{n:05d}", f"LOST 012345670 G{n}")
    reply = text_in(services, "85598099999", "LOST 012345670 K-1")
    assert reply.startswith("Too many attempts. To report a lost SIM now, contact customer care. "
                            "Or try again after ")
    assert services.show_subscriber("85512345670")["lost"] is None


def test_a_lost_sim_is_answered_lost_for_every_keyword(services: Services, store: Store, tmp_path) -> None:
    """BAL, TOP (own and gift), LANG, STOP, START, LOST from the lost SIM: refused, nothing changed."""
    services.add_subscriber("85512345670", balance=Money(0, services.profile.currency), id_number="K-1")
    lost = "85512345671"
    services.add_subscriber(lost, balance=Money(100, services.profile.currency), id_number="L-1")
    services.report_lost_sim(ReportLost(SUBSCRIBER, lost, "L-1", Channel.SMS))
    [pin] = pins(services, tmp_path, 1, "5.00")
    for text, to in (("BAL", "888"), (f"TOP {pin}", "888"), (f"TOP {pin} 012345678", "888"),
                     ("LANG KM", "888"), ("STOP", "1204"), ("START", "1204"),
                     ("LOST 012345670 K-1", "888"), ("hello", "1204")):
        assert text_in(services, lost, text, to) == LOST_TEXT, text
    shown = services.show_subscriber(lost)
    assert shown["language"] == "en" and shown["marketing_opt_in"] is True
    assert shown["balances"]["main"]["minor"] == 100
    assert services.show_subscriber("85512345670")["lost"] is None
    assert read(store, "SELECT status FROM vouchers")[0][0] == "active"
    # From another phone, a gift to the lost line is credited.
    text_in(services, OTHER, f"TOP {pin} 012345671")
    assert services.show_subscriber(lost)["balances"]["main"]["minor"] == 600
