"""USSD session rows of the store port (migration 16: by caller and code), the same on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.backends import rows

NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
ME, OTHER = "85512345678", "85598765432"


def _save(store, sid: str, msisdn: str, code: str, minutes: int) -> None:
    at = NOW + timedelta(minutes=minutes)
    with store.write_uow() as uow:
        uow.sessions.save([(sid, msisdn, code, f'{{"n": {minutes}}}', at, at + timedelta(seconds=5),
                            at + timedelta(seconds=180))])


def test_latest_is_the_newest_dialogue_of_that_number_and_code(backend):
    """Newest by creation, only the caller's and only that code's; the row says when it was last written."""
    store = backend.store
    _save(store, "a", ME, "*100#", 0)
    _save(store, "b", ME, "*100#", 2)
    _save(store, "c", ME, "*124#", 3)
    _save(store, "d", OTHER, "*100#", 4)
    sessions = store.read_uow().sessions
    latest = sessions.latest(ME, "*100#")
    assert latest is not None
    assert (latest.session_id, latest.state, latest.updated_at) == \
        ("b", '{"n": 2}', NOW + timedelta(minutes=2, seconds=5))
    assert sessions.latest(ME, "*123#") is None
    assert sessions.load_and_latest("c", ME, "*100#") == (sessions.load("c"), latest)
    assert sessions.load_and_latest("new", ME, "*100#") == (None, latest)
    assert sessions.load_and_latest("new", "85500000000", "*100#") == (None, None)


def test_the_lookup_has_an_index(backend):
    """Migration 16 indexes ussd_sessions by (msisdn, service_code, created_at) on either backend."""
    if backend.name == "sqlite":
        found = rows(backend.store,
                     "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ussd_sessions'")
    else:
        found = rows(backend.store, "SELECT indexname FROM pg_indexes WHERE tablename = 'ussd_sessions'")
    assert "idx_ussd_sessions_caller" in {r[0] for r in found}
