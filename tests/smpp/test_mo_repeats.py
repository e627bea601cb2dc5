"""A subscriber may send the same text again: every MO is stored and answered (smpp34 SMSC, injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.clock import FixedClock
from gateway.services.api import Services
from gateway.sms.runtime import SmsRuntime
from gateway.store import Store
from tests.support.smsc import Smsc
from tests.support.waiting import eventually
from tests.support.world import SUBSCRIBER


@pytest.fixture
def clock() -> FixedClock:
    """The shared services on a clock the test moves (the gateway reads time from it)."""
    return FixedClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


async def send_each(smsc: Smsc, clock: FixedClock, texts: list[str], to: str = "888") -> list[str]:
    """Send ``texts`` 3 s apart, each after the previous one's reply; the replies in order."""
    for n, text in enumerate(texts, start=1):
        await smsc.mo(text, to=to)
        await eventually(lambda n=n: len(smsc.texts_to(SUBSCRIBER)) >= n)
        clock.advance(timedelta(seconds=3))
    return smsc.texts_to(SUBSCRIBER)


def inbox(store: Store) -> list[tuple[str, str]]:
    return [(r["text"], r["status"]) for r in store.read().execute("SELECT text, status FROM sms_inbox ORDER BY id")]


async def test_bal_twice_is_stored_and_answered_twice(smsc: Smsc, gateway: SmsRuntime, clock: FixedClock,
                                                      store: Store) -> None:
    """BAL, then BAL again 3 s later: two inbox rows, two replies."""
    replies = await send_each(smsc, clock, ["BAL", "BAL"])
    assert replies == ["[en] Balance $6.00"] * 2
    assert inbox(store) == [("BAL", "handled")] * 2


async def test_stop_start_stop_ends_opted_out(smsc: Smsc, gateway: SmsRuntime, clock: FixedClock,
                                              services: Services) -> None:
    """STOP, START, STOP to 1204: each is answered and the line ends opted out of marketing."""
    replies = await send_each(smsc, clock, ["STOP", "START", "STOP"], to="1204")
    assert replies == ["[en] Marketing now off", "[en] Marketing now on", "[en] Marketing now off"]
    assert services.marketing_consent(SUBSCRIBER).opt_in is False


async def test_lang_back_and_forth_ends_in_the_last_language(smsc: Smsc, gateway: SmsRuntime,
                                                             clock: FixedClock, services: Services) -> None:
    """LANG KM, LANG EN, LANG KM: three answers, and the subscriber ends in Khmer."""
    replies = await send_each(smsc, clock, ["LANG KM", "LANG EN", "LANG KM"])
    assert replies == ["[km] Language set", "[en] Language set", "[km] Language set"]
    assert services.subscriber_language(SUBSCRIBER) == "km"
