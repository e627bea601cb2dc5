"""The SMS side without SMPP: an MO into the inbox as the SMPP hook stores it, the keyword router run on
inbox rows, and reads of the outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.services import sms_delivery
from gateway.services.api import Services
from gateway.smpp.codec import decode_text
from gateway.sms.router import KeywordRouter
from gateway.store import sms as sms_store
from tests.support.backends import rows
from tests.support.texts import FakeTexts
from tests.support.world import PIN_SECRET, SUBSCRIBER

#: The key the hook of a gateway with ``PIN_SECRET`` seals waiting MO parts with.
PART_KEY = sms_delivery.part_key(PIN_SECRET)


def receive(services: Services, text: str, to: str = "888", source: str = SUBSCRIBER) -> int:
    event = sms_store.InboundSms(source, to, text.encode(), 0, sms_store.digest(source, to, text))
    with services.ctx.store.write_uow() as uow:
        ids = uow.inbox.apply([event], services.ctx.clock.now(), decode=decode_text,
                              dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
    return ids[0]


def answer(services: Services, *ids: int) -> int:
    return KeywordRouter(services=services, texts=FakeTexts()).handle(list(ids))


def outbox(store: Any, **where: str) -> list[dict]:  # type: ignore[type-arg]
    sql = "SELECT * FROM sms_outbox"
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
    return [dict(zip(r.keys(), r, strict=True)) for r in rows(store, sql + " ORDER BY id", *where.values())]


def read(store: Any, query: str, params: tuple = ()) -> list:  # type: ignore[type-arg]
    """Rows of ``query`` (``?`` placeholders) on either backend, by name or position."""
    return rows(store, query, *params)
