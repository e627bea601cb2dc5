"""Keyword SMS answered through the services, replies queued in the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.domain.channels import Channel
from gateway.domain.money import Money
from gateway.services.api import Services
from gateway.services.model import ReportLost
from gateway.smpp.codec import decode_text
from gateway.sms.router import KeywordRouter
from gateway.store import Store
from gateway.store import sms as sms_store
from tests.support.sms import PART_KEY, answer, outbox, read, receive
from tests.support.world import OTHER, SUBSCRIBER, services_for


class TestRouter:
    def test_balance_reply_from_the_short_code(self, services: Services, store: Store) -> None:
        """BAL to 888 queues a reply from 888 with the balance, and the MO is handled."""
        inbox_id = receive(services, " bal. ")
        assert answer(services, inbox_id) == 1
        [reply] = outbox(store, kind="reply")
        assert (reply["source"], reply["destination"], reply["text"]) == ("888", SUBSCRIBER, "[en] Balance $6.00")
        status = read(store, "SELECT status FROM sms_inbox WHERE id = ?", (inbox_id,))[0][0]
        assert status == "handled"

    def test_reply_in_the_subscribers_language(self, services: Services, store: Store) -> None:
        """A Khmer-speaking subscriber is answered in Khmer."""
        answer(services, receive(services, "BAL", source=OTHER))
        assert outbox(store, kind="reply")[0]["text"].startswith("[km]")

    def test_a_refused_balance_is_answered_in_the_subscribers_language(self, services: Services,
                                                                       store: Store) -> None:
        """BAL from a Khmer speaker whose SIM is reported lost: the refusal, in Khmer."""
        owner = "85512345670"
        services.add_subscriber(owner, balance=Money(0, services.profile.currency), language="km",
                                id_number="K-1")
        services.report_lost_sim(ReportLost(SUBSCRIBER, owner, "K-1", Channel.SMS))
        answer(services, receive(services, "BAL", source=owner))
        assert outbox(store, kind="reply")[-1]["text"] == "[km] Sorry: LineLost"

    def test_language_change_answers_in_the_new_language(self, services: Services, store: Store) -> None:
        """LANG KM switches the language and confirms in it."""
        answer(services, receive(services, "lang km"))
        assert outbox(store, kind="reply")[0]["text"] == "[km] Language set"
        assert services.subscriber_language(SUBSCRIBER) == "km"

    def test_stop_to_1204_opts_out(self, services: Services, store: Store) -> None:
        """STOP to 1204 turns marketing off and the reply comes from 1204."""
        answer(services, receive(services, "Stop", to="1204"))
        assert services.marketing_consent(SUBSCRIBER).opt_in is False
        [reply] = outbox(store, kind="reply")
        assert (reply["source"], reply["text"]) == ("1204", "[en] Marketing now off")
        answer(services, receive(services, "START", to="1204"))
        assert services.marketing_consent(SUBSCRIBER).opt_in is True

    def test_refusals_become_polite_replies(self, services: Services, store: Store) -> None:
        """A wrong PIN is answered with the error text, not left unanswered."""
        answer(services, receive(services, "TOP 99999999999999"))
        assert outbox(store, kind="reply")[0]["text"].startswith("[en] Sorry: ")

    def test_unknown_text_gets_help(self, services: Services, store: Store) -> None:
        """Anything not understood gets the help text."""
        answer(services, receive(services, "what is this"))
        assert outbox(store, kind="reply")[0]["text"].startswith("[en] Help")

    def test_unknown_sender_still_gets_an_answer(self, services: Services, store: Store) -> None:
        """A number we do not know gets the refusal text in the default language."""
        answer(services, receive(services, "BAL", source="85599999999"))
        assert outbox(store, kind="reply")[0]["text"] == "[en] Sorry: UnknownSubscriber"

    def test_a_handled_message_is_answered_once(self, services: Services, store: Store) -> None:
        """Handling the same inbox row twice queues one reply."""
        inbox_id = receive(services, "BAL")
        answer(services, inbox_id)
        answer(services, inbox_id)
        assert len(outbox(store, kind="reply")) == 1

    def test_the_same_pdu_again_is_a_new_message(self, services: Services, store: Store) -> None:
        """An identical MO PDU a moment later is saved and answered: a subscriber may repeat BAL."""
        first = receive(services, "BAL")
        services.ctx.clock.advance(timedelta(seconds=3))  # type: ignore[attr-defined]
        again = receive(services, "BAL")
        assert answer(services, first, again) == 2

    def test_a_pdu_left_unacknowledged_comes_back_as_a_marked_redelivery(self, services: Services,
                                                                         store: Store) -> None:
        """After a drop left BAL unacknowledged, its next copy (in the window) is saved as a redelivery, once."""
        first = receive(services, "BAL")
        key = sms_store.digest(SUBSCRIBER, "888", "BAL")
        event = sms_store.InboundSms(SUBSCRIBER, "888", b"BAL", 0, key)
        redeliveries: list[tuple[int, int]] = []
        with store.write_uow() as uow:
            saved = uow.inbox.apply([sms_store.Unacknowledged((key,)), event, event],
                                    services.ctx.clock.now(), decode=decode_text,
                                    dedupe_window=timedelta(seconds=60), part_key=PART_KEY, redeliveries=redeliveries)
        rows = read(store, "SELECT id, status, redelivery_of FROM sms_inbox ORDER BY id")
        assert [tuple(r) for r in rows] == [(first, "received", None), (first + 1, "redelivered", first),
                                            (first + 2, "received", None)]
        assert saved == [first + 2] and redeliveries == [(first + 1, first)]

    def test_mo_a_killed_gateway_may_not_have_acknowledged_are_expected_again(self, services: Services,
                                                                             store: Store) -> None:
        """Saved but never marked acknowledged (a kill): at start its next copy is taken for a redelivery."""
        first = receive(services, "BAL")
        settled = receive(services, "LANG KM")
        with store.write_uow() as uow:
            uow.inbox.settle([settled])
            assert uow.inbox.expect_unsettled(services.ctx.clock.now(), None) == 1
            assert uow.inbox.expect_unsettled(services.ctx.clock.now(), None) == 0
        assert receive(services, "LANG KM") == settled + 1  # acknowledged: a new message
        with pytest.raises(IndexError):  # nothing new to answer
            receive(services, "BAL")
        row = read(store, "SELECT status, redelivery_of FROM sms_inbox ORDER BY id DESC")[0]
        assert tuple(row) == ("redelivered", first)

    def test_an_unacknowledged_pdu_is_not_expected_after_the_window(self, services: Services,
                                                                    store: Store) -> None:
        """Past ``mo_dedupe_window`` after the drop, the same PDU is a new message again."""
        receive(services, "BAL")
        key = sms_store.digest(SUBSCRIBER, "888", "BAL")
        with store.write_uow() as uow:
            uow.inbox.apply([sms_store.Unacknowledged((key,))], services.ctx.clock.now(),
                            decode=decode_text, dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
        services.ctx.clock.advance(timedelta(seconds=61))  # type: ignore[attr-defined]
        assert answer(services, receive(services, "BAL")) == 1


def test_lost_by_sms_is_confirmed_once(store: Store, clock, profile) -> None:  # type: ignore[no-untyped-def]
    """LOST MSISDN ID by SMS: the reporter gets one confirmation (the reply), not a reply and a notification."""
    services = services_for(store, clock, profile, texts=True)
    texts = services.ctx.notices
    services.add_subscriber(SUBSCRIBER, balance=Money(600, profile.currency), id_number="ID000001")
    inbox_id = receive(services, f"LOST {SUBSCRIBER} ID000001")
    KeywordRouter(services=services, texts=texts).handle([inbox_id])
    sent = outbox(store, destination=SUBSCRIBER)
    assert [(r["kind"], r["source"]) for r in sent] == [("reply", "888")]
    reference = read(store, "SELECT reference FROM lost_reports")[0][0]
    assert reference in sent[0]["text"]


class TestActivity:
    def test_an_mo_sms_is_activity_for_the_inactivity_rule(self, services: Services, store: Store) -> None:
        """004 3(B).12: BAL from the line notes it; the flush writes last_active_at."""
        answer(services, receive(services, "BAL"))
        assert services.flush_activity() == 1
        assert read(store, "SELECT last_active_at FROM subscribers WHERE msisdn = ?", (SUBSCRIBER,))[0][0] is not None
