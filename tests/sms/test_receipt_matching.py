"""Delivery receipts find the newest open message with their id on their SMSC (ids restart with the SMSC)."""

from __future__ import annotations

from datetime import timedelta

from gateway.clock import FixedClock
from gateway.services.api import Services
from gateway.services.model import OutgoingSms
from gateway.smpp.codec import decode_text
from gateway.store import Store
from gateway.store import sms as sms_store
from tests.support.sms import PART_KEY, outbox, read
from tests.support.world import SUBSCRIBER

SMSC = "selfcare@127.0.0.1:2775"
OTHER_SMSC = "selfcare@10.0.0.9:2775"


def _apply(services: Services, *events: sms_store.Event) -> None:
    with services.ctx.store.write_uow() as uow:
        uow.inbox.apply(list(events), services.ctx.clock.now(), decode=decode_text,
                        dedupe_window=timedelta(seconds=60), part_key=PART_KEY)


def _queue(services: Services, key: str) -> int:
    with services.ctx.store.write_uow() as uow:
        row_id = uow.outbox.enqueue(OutgoingSms(SUBSCRIBER, f"text {key}", "888", "reply", key),
                         services.ctx.clock.now())
    assert row_id is not None
    return row_id


def _status(store: Store) -> dict[int, str]:
    return {r["id"]: r["status"] for r in outbox(store)}


def _parts(store: Store, outbox_id: int) -> list[tuple[str, int, str]]:
    return [(r["smsc_message_id"], r["part"], r["status"]) for r in read(store,
        "SELECT * FROM sms_outbox_parts WHERE outbox_id = ? ORDER BY part", (outbox_id,))]


def test_after_an_smsc_restart_a_reused_id_reaches_the_new_message_only(
        services: Services, store: Store, clock: FixedClock) -> None:
    """Ids begin again after the SMSC restarts: the receipt marks the new message, the old one (whose
    receipt was lost with the restart) stays submitted."""
    old = _queue(services, "old")
    _apply(services, sms_store.Submitted(old, ("0000000001",), SMSC))
    clock.advance(timedelta(minutes=5))
    new = _queue(services, "new")
    _apply(services, sms_store.Submitted(new, ("0000000001",), SMSC),
           sms_store.DeliveryReport("0000000001", "DELIVRD", SMSC))
    assert _status(store) == {old: "submitted", new: "delivered"}


def test_a_receipt_ahead_of_its_submit_resp_skips_the_old_final_row(
        services: Services, store: Store, clock: FixedClock) -> None:
    """The old message with this id is already delivered; the receipt that overtakes the new message's
    submit_sm_resp waits for it and marks it, instead of being dropped."""
    old = _queue(services, "old")
    _apply(services, sms_store.Submitted(old, ("7",), SMSC), sms_store.DeliveryReport("7", "DELIVRD", SMSC))
    clock.advance(timedelta(minutes=5))
    new = _queue(services, "new")
    _apply(services, sms_store.DeliveryReport("7", "UNDELIV", SMSC))
    _apply(services, sms_store.Submitted(new, ("7",), SMSC))
    assert _status(store) == {old: "delivered", new: "undeliverable"}


def test_a_receipt_never_changes_a_final_row(services: Services, store: Store) -> None:
    """A second receipt for a delivered message (the SMSC sent it again) leaves it delivered."""
    row = _queue(services, "a")
    _apply(services, sms_store.Submitted(row, ("9",), SMSC), sms_store.DeliveryReport("9", "DELIVRD", SMSC))
    _apply(services, sms_store.DeliveryReport("9", "UNDELIV", SMSC))
    assert _status(store) == {row: "delivered"}


def test_a_receipt_from_another_smsc_does_not_touch_this_one(services: Services, store: Store) -> None:
    """The same id on another SMSC names another message."""
    row = _queue(services, "a")
    _apply(services, sms_store.Submitted(row, ("5",), SMSC), sms_store.DeliveryReport("5", "DELIVRD", OTHER_SMSC))
    assert _status(store) == {row: "submitted"}
    _apply(services, sms_store.DeliveryReport("5", "DELIVRD", SMSC))
    assert _status(store) == {row: "delivered"}


def test_long_messages_keep_their_parts_when_ids_are_reused(
        services: Services, store: Store, clock: FixedClock) -> None:
    """A new two-part message whose part ids an old one already had gets its own parts and receipts;
    the old message keeps its parts and states."""
    old = _queue(services, "old")
    _apply(services, sms_store.Submitted(old, ("1", "2"), SMSC),
           sms_store.DeliveryReport("1", "DELIVRD", SMSC), sms_store.DeliveryReport("2", "DELIVRD", SMSC))
    clock.advance(timedelta(minutes=5))
    new = _queue(services, "new")
    _apply(services, sms_store.Submitted(new, ("1", "2"), SMSC),
           sms_store.DeliveryReport("1", "DELIVRD", SMSC), sms_store.DeliveryReport("2", "UNDELIV", SMSC))
    assert _status(store) == {old: "delivered", new: "undeliverable"}
    assert _parts(store, old) == [("1", 1, "delivered"), ("2", 2, "delivered")]
    assert _parts(store, new) == [("1", 1, "delivered"), ("2", 2, "undeliverable")]


def test_a_receipt_for_an_unknown_id_is_kept_as_before(services: Services, store: Store) -> None:
    """A receipt no message has the id of is kept (sms_receipts_early) for its submit_sm_resp."""
    _apply(services, sms_store.DeliveryReport("nobody", "DELIVRD", SMSC))
    assert read(store, "SELECT count(*) FROM sms_receipts_early")[0][0] == 1


def test_an_upgraded_database_keeps_its_parts_receipts_and_mo_parts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration 0005 keeps what a running gateway left: a two-part message whose receipts are still
    due (they still find it, though it has no SMSC recorded), an early receipt and an MO part."""
    from datetime import UTC, datetime

    from gateway.store import open_store
    from gateway.store.migrations import available, migrate

    store = open_store(tmp_path / "old.db")
    try:
        for module in available():
            if module.VERSION <= 3:
                with store.write():
                    module.apply(store.db)
                    store.conn.execute(f"PRAGMA user_version = {module.VERSION}")
        with store.write() as conn:
            conn.execute("INSERT INTO sms_outbox (id, source, destination, text, kind, status, attempts, "
                         "smsc_message_id, created_at, updated_at) VALUES (1, '888', ?, 'long', 'reply', "
                         "'submitted', 1, 'a', 't', 't')", (SUBSCRIBER,))
            conn.executemany("INSERT INTO sms_outbox_parts (smsc_message_id, outbox_id, part) VALUES (?, 1, ?)",
                             [("a", 1), ("b", 2)])
            conn.execute("INSERT INTO sms_receipts_early VALUES ('z', 'DELIVRD', '2026-03-01T08:00:00')")
            conn.execute("INSERT INTO sms_segments VALUES (?, '888', 7, 2, 1, x'4241', 0, "
                         "'2026-03-01T08:00:00')", (SUBSCRIBER,))
        assert 5 in migrate(store)
        with store.write_uow() as uow:
            uow.inbox.apply([sms_store.DeliveryReport("a", "DELIVRD", SMSC),
                                   sms_store.DeliveryReport("b", "DELIVRD", SMSC)],
                            datetime(2026, 3, 1, 8, 1, tzinfo=UTC), decode=decode_text,
                            dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
        read = store.read()
        assert read.execute("SELECT status FROM sms_outbox").fetchone()[0] == "delivered"
        assert read.execute("SELECT count(*) FROM sms_receipts_early WHERE smsc_message_id = 'z'").fetchone()[0] == 1
        assert [tuple(r) for r in read.execute("SELECT seq, data, assembly FROM sms_segments")] == [(1, b"BA", 1)]
    finally:
        store.close()


def test_a_receipt_sent_again_for_an_unknown_id_is_kept_once(services: Services, store: Store) -> None:
    """The SMSC repeating a receipt nobody matches keeps one row for that id, the latest."""
    _apply(services, *[sms_store.DeliveryReport("ghost", stat, SMSC) for stat in ("UNDELIV", "DELIVRD")])
    rows = read(store, "SELECT stat FROM sms_receipts_early")
    assert [r["stat"] for r in rows] == ["DELIVRD"]
