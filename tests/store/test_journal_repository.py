"""The journal repository of the store port (migration 17), the same on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.store.port import DialogueRecord, SessionReport
from tests.support.backends import rows

NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def dialogue(sid: str, outcome: str, source: str, screen: str = "selfcare:main",
             started: datetime = NOW) -> DialogueRecord:
    return DialogueRecord(sid, "africastalking", "*100#", "85512345678", started, started + timedelta(minutes=1),
                          outcome, screen, 2, None, source)


def report(sid: str, status: str, code: str = "*100#") -> SessionReport:
    return SessionReport(sid, code, "85512345678", None, status, 2, 1000, 3, None, None, None, NOW)


def record(store, *records: DialogueRecord) -> None:
    with store.write_uow() as uow:
        uow.journal.record(list(records))


def outcomes(store) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in rows(store, "SELECT session_id, outcome, source FROM ussd_journal ORDER BY session_id")]


def test_a_row_is_replaced_only_by_a_better_informed_source(backend):
    """Sweep < report < gateway: whatever order they come in, the best-informed outcome stays."""
    store = backend.store
    record(store, dialogue("a", "timed_out", "sweep"), dialogue("b", "completed", "gateway"),
           dialogue("c", "abandoned", "report"))
    record(store, dialogue("a", "abandoned", "report"), dialogue("b", "timed_out", "sweep"),
           dialogue("c", "timed_out", "sweep"))
    assert outcomes(store) == [("a", "abandoned", "report"), ("b", "completed", "gateway"),
                               ("c", "abandoned", "report")]
    record(store, dialogue("a", "completed", "gateway"), dialogue("b", "abandoned", "report"),
           dialogue("c", "abandoned", "report"))
    assert outcomes(store) == [("a", "completed", "gateway"), ("b", "completed", "gateway"),
                               ("c", "abandoned", "report")]


def test_a_report_is_stored_once_per_session(backend):
    """The second report of a session is refused (False) and the first one kept."""
    store = backend.store
    with store.write_uow() as uow:
        assert uow.journal.add_report(report("a", "Incomplete")) is True
    with store.write_uow() as uow:
        assert uow.journal.add_report(report("a", "Success")) is False
    assert [tuple(r) for r in rows(store, "SELECT session_id, status FROM ussd_reports")] == [("a", "Incomplete")]


def test_counts_pair_each_dialogue_with_its_report_and_unmatched_reports_stand_apart(backend):
    """Journal rows grouped with their report's status since a moment; reports of unknown sessions apart."""
    store = backend.store
    record(store, dialogue("old", "completed", "gateway", started=NOW - timedelta(days=2)),
           dialogue("a", "completed", "gateway", "selfcare:done"), dialogue("b", "completed", "gateway",
                                                                            "selfcare:done"),
           dialogue("c", "timed_out", "sweep"))
    with store.write_uow() as uow:
        for r in (report("a", "Success"), report("c", "Incomplete"), report("x", "Failed", "*123#"),
                  report("old", "Success")):
            uow.journal.add_report(r)
    journal = store.read_uow().journal
    since = NOW - timedelta(hours=1)
    counts = sorted((c.outcome, c.screen, c.status or "", c.dialogues) for c in journal.counts(since))
    assert counts == [("completed", "selfcare:done", "", 1), ("completed", "selfcare:done", "Success", 1),
                      ("timed_out", "selfcare:main", "Incomplete", 1)]
    assert len(journal.counts(None)) == 4
    assert [(u.service_code, u.status, u.reports) for u in journal.unmatched_reports(NOW - timedelta(hours=1))] \
        == [("*123#", "Failed", 1)]


def test_unrecorded_sessions_are_the_expired_rows_with_no_journal_row(backend):
    """The sweep's question: rows expired in the window and not journaled yet, soonest first."""
    store = backend.store
    state = '{"language": "en"}'
    with store.write_uow() as uow:
        uow.sessions.save([(sid, "85512345678", "*100#", state, NOW, NOW, NOW + timedelta(minutes=m))
                           for sid, m in (("early", 1), ("done", 2), ("late", 3), ("later", 30))])
    record(store, dialogue("done", "completed", "gateway"))
    found = store.read_uow().journal.unrecorded_sessions(NOW, NOW + timedelta(minutes=10), 10)
    assert [(r.session_id, r.expires_at) for r in found] == [("early", NOW + timedelta(minutes=1)),
                                                             ("late", NOW + timedelta(minutes=3))]
    assert [r.session_id for r in store.read_uow().journal.unrecorded_sessions(NOW, NOW + timedelta(hours=1), 1)] \
        == ["early"]
