"""The live-session cache stays bounded and forgets the session used least recently, not the oldest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.ussd.sessions import Session, SessionCache
from menus.tree import Caller

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def session(sid: str, expires_in: float = 180) -> Session:
    return Session(sid, "85512345678", "*100#", Caller("85512345678", "en"), NOW, NOW + timedelta(seconds=expires_in))


def test_the_least_recently_used_session_goes_first_when_full() -> None:
    cache = SessionCache(limit=2)
    cache.put(session("a"))
    cache.put(session("b"))
    assert cache.get("a") is not None  # "a" was used after "b"
    cache.put(session("c"))
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_a_session_put_again_counts_as_used() -> None:
    cache = SessionCache(limit=2)
    cache.put(session("a"))
    cache.put(session("b"))
    cache.put(session("a"))
    cache.put(session("c"))
    assert cache.get("a") is not None
    assert cache.get("b") is None


def test_expired_sessions_are_dropped_and_counted() -> None:
    cache = SessionCache()
    cache.put(session("old", expires_in=-1))
    cache.put(session("live"))
    assert cache.drop_expired(NOW) == 1
    assert cache.get("old") is None and cache.get("live") is not None
