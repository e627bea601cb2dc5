"""An MO SMS into the inbox as the SMPP hook stores it, and the keyword router run on inbox rows."""

from __future__ import annotations

from datetime import timedelta

from gateway.services.api import Services
from gateway.smpp.codec import decode_text
from gateway.sms.router import KeywordRouter
from gateway.store import sms as sms_store
from tests.sms.conftest import PART_KEY, SUBSCRIBER
from tests.sms.fakes import FakeTexts


def receive(services: Services, text: str, to: str = "888", source: str = SUBSCRIBER) -> int:
    event = sms_store.InboundSms(source, to, text.encode(), 0, sms_store.digest(source, to, text))
    with services.ctx.store.write_uow() as uow:
        ids = uow.inbox.apply([event], services.ctx.clock.now(), decode=decode_text,
                              dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
    return ids[0]


def answer(services: Services, *ids: int) -> int:
    return KeywordRouter(services=services, texts=FakeTexts()).handle(list(ids))
