"""The inbox keeps no PIN or ID number: MO texts are sealed when saved, answered as typed, purged later."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.domain.money import Money
from gateway.services import sms_delivery
from gateway.services.api import Services
from gateway.services.batcher import Batcher
from gateway.smpp.broker import OutboxBroker
from gateway.smpp.hook import StoreHook
from gateway.sms import keywords as kw
from gateway.sms import runtime as rt
from gateway.sms.router import KeywordRouter
from gateway.store import Store, migrations, open_store
from gateway.store import sms as sms_store
from tests.support.sms import PART_KEY, answer, outbox, read
from tests.support.texts import FakeTexts
from tests.support.world import OTHER, SUBSCRIBER
from tests.support.world import pins as seed_pins

PIN = "86256054311717"
ID_NUMBER = "K-778899"


def parse(text: str, code: str = "888", stored: bool = False) -> kw.Command:
    return kw.parse(text, code, keywords_code="888", marketing_code="1204", stored=stored)


async def save(services: Services, *texts: str, to: str = "888") -> list[int]:
    """Save MO ``texts`` through the real hook, sealed as ``serve`` seals them; their inbox ids."""
    saved: dict[int, str] = {}
    batcher = Batcher(services.ctx.store)
    hook = StoreHook(store=services.ctx.store, batcher=batcher, clock=services.ctx.clock, dedupe_window=60,
                     secret=services.ctx.pin_secret, on_inbox=saved.update, seal=rt.inbox_seal(services))
    task = asyncio.create_task(hook.run())
    try:
        for n, text in enumerate(texts):
            hook.record(sms_store.InboundSms(SUBSCRIBER, to, text.encode(), 0, hook.identity(n, text)))
        await hook.flush()
    finally:
        task.cancel()
        batcher.close()
    return sorted(saved)


def inbox_texts(store: Store) -> list[str]:
    return [r[0] for r in read(store, "SELECT text FROM sms_inbox ORDER BY id")]


@pytest.mark.parametrize("text", [f"TOP {PIN}", f"top {PIN[:4]} {PIN[4:8]}-{PIN[8:]} 012345679",
                                  f"RECHARGE {PIN}9", f"LOST 012345670 {ID_NUMBER}", "BAL", "LANG KM",
                                  "what is this"])
def test_a_sealed_text_reads_back_as_the_same_command_without_the_secret(services: Services,
                                                                         text: str) -> None:
    """seal() drops the PIN / ID number for its keyed hash and shape; parse(stored=True) gives the same command."""
    sealed = kw.seal(text, seal_pin=services.seal_pin, seal_id=services.seal_id_number)
    assert PIN[:6] not in sealed and "778899" not in sealed
    typed, back = parse(text), parse(sealed, stored=True)
    match typed:
        case kw.TopUpCommand(pin=str() as pin, target=target):
            assert back == kw.TopUpCommand(services.seal_pin(pin), target)
        case kw.LostCommand(msisdn=msisdn, id_number=str() as id_number):
            assert back == kw.LostCommand(msisdn, services.seal_id_number(id_number))
        case _:
            assert sealed == text and back == typed
    # On the marketing code the keyword is still not understood.
    assert type(parse(sealed, "1204", stored=True)) is type(parse(text, "1204"))


def test_a_token_typed_by_a_subscriber_is_not_taken_as_a_hash(services: Services) -> None:
    """Only stored text is read as sealed: a subscriber writing a token sends a malformed PIN."""
    token = kw.seal(f"TOP {PIN}", seal_pin=services.seal_pin, seal_id=services.seal_id_number).split()[1]
    assert parse(f"TOP {token}") == kw.TopUpCommand(token.upper())
    assert parse(f"TOP {token}", stored=True) == kw.TopUpCommand(services.seal_pin(PIN))


async def test_saved_mo_keep_no_secret_and_get_the_answers_typed_ones_get(
        services: Services, store: Store, tmp_path: Path) -> None:
    """TOP (good, wrong, malformed, gift) and LOST (wrong, right ID) saved through the hook: no PIN or ID in the inbox,
    the same replies."""
    cur = services.profile.currency
    pins = seed_pins(services, tmp_path, 2, Money(500, cur))
    owner = "85512345670"
    services.add_subscriber(owner, balance=Money(0, cur), id_number=ID_NUMBER)
    wrong = pins[0][:-1] + str((int(pins[0][-1]) + 1) % 10)
    texts = [f"TOP {pins[0]}", f"TOP {wrong}", f"TOP {pins[0][:9]}", f"TOP {pins[1]} 0{OTHER[3:]}",
             f"TOP {pins[0]}", "LOST 012345670 K-000000", f"LOST 012345670 {ID_NUMBER}"]
    ids = await save(services, *texts)
    assert len(ids) == len(texts)
    stored = "\n".join(inbox_texts(store))
    for secret in [*pins, wrong, pins[0][:9], ID_NUMBER, "778899"]:
        assert secret not in stored
    for inbox_id in ids:  # one at a time, in order, as they came
        answer(services, inbox_id)
    assert [r["text"] for r in outbox(store, kind="reply")] == [
        "[en] Topped up $5.00", "[en] Sorry: WrongPin", "[en] Sorry: InvalidPin", "[en] Topped up $5.00",
        "[en] Sorry: VoucherAlreadyUsed", "[en] Sorry: LostDetailsMismatch", "[en] Lost report " +
        read(store, "SELECT reference FROM lost_reports")[0][0]]
    assert services.check_balance(OTHER).main.minor == 600


def test_handled_texts_are_purged_after_the_retention_and_leave_no_trace_in_the_file(
        services: Services, store: Store) -> None:
    """After the retention a handled MO keeps its row but not its text, not even in the file's free space."""
    marker = "LANG XQZMARKERQZX"
    now = services.ctx.clock.now()
    with store.write_uow() as uow:
        ids = uow.inbox.apply([sms_store.InboundSms(SUBSCRIBER, "888", t.encode(), 0, sms_store.digest(t))
                                     for t in (marker, "BAL waiting")], now, decode=lambda d, c: d.decode(),
                              dedupe_window=timedelta(seconds=60), part_key=PART_KEY)
        uow.inbox.mark_many([(ids[0], "handled", None)], now)
    retention = timedelta(days=3)
    with store.write_uow() as uow:
        assert uow.inbox.purge_texts(now + retention - timedelta(seconds=1), retention) == 0
    with store.write_uow() as uow:
        assert uow.inbox.purge_texts(now + retention + timedelta(seconds=1), retention) == 1
    assert inbox_texts(store) == ["", "BAL waiting"]  # the rows stay; an unanswered text is never purged
    if isinstance(store, Store):  # SQLite: not in its file's free space either (PostgreSQL's files are the server's)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert marker.encode() not in Path(store.path).read_bytes()


def test_the_upgrade_drops_what_earlier_versions_kept_in_clear(tmp_path: Path) -> None:
    """Migration 6 on a version-3 database: answered MO texts, USSD request keys and session rows go; a waiting MO
    stays."""
    store = open_store(tmp_path / "old.db")
    try:
        for module in migrations.available():
            if module.VERSION <= 3:
                with store.write():
                    module.apply(store.db)
                    store.conn.execute(f"PRAGMA user_version = {module.VERSION}")
        with store.write() as conn:
            conn.executemany(
                "INSERT INTO sms_inbox (source, destination, text, received_at, status, handled_at) "
                "VALUES (?, '888', ?, '2026-01-01T00:00:00+00:00', ?, ?)",
                [(SUBSCRIBER, f"TOP {PIN}", "handled", "2026-01-01T00:00:01+00:00"),
                 (SUBSCRIBER, "TOP 11112222333344", "received", None)])
            conn.execute("INSERT INTO ussd_sessions (session_id, msisdn, service_code, state, created_at, "
                         "updated_at, expires_at) VALUES ('s', ?, '*100#', ?, 'x', 'x', 'x')",
                         (SUBSCRIBER, f'{{"results": {{"2*1*{PIN}": "Done"}}}}'))
        assert 6 in migrations.migrate(store)
        assert inbox_texts(store) == ["", "TOP 11112222333344"]
        assert read(store, "SELECT count(*) FROM ussd_sessions")[0][0] == 0
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert PIN.encode() not in Path(store.path).read_bytes()
    finally:
        store.close()


async def test_the_stored_digest_is_keyed(services: Services, store: Store) -> None:
    """The inbox digest of an MO cannot be recomputed from a guessed PIN without the secret."""
    [first] = await save(services, f"TOP {PIN}")
    [stored] = [r[0] for r in read(store, "SELECT digest FROM sms_inbox WHERE id = ?", (first,))]
    assert stored == sms_delivery.pdu_digest(services.ctx.pin_secret, 0, f"TOP {PIN}")
    assert stored != sms_delivery.pdu_digest("another secret, also long enough", 0, f"TOP {PIN}")
    assert stored != sms_store.digest(0, f"TOP {PIN}")


async def test_the_maintenance_job_purges_answered_texts(services: Services, store: Store) -> None:
    """The SMS runtime's maintenance run empties texts answered longer than its retention ago."""
    [inbox_id] = await save(services, "LANG KM")
    answer(services, inbox_id)
    services.ctx.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    batcher = Batcher(store)
    hook = StoreHook(store=store, batcher=batcher, clock=services.ctx.clock, dedupe_window=60,
                     secret=services.ctx.pin_secret, on_inbox=lambda ids: None)
    runtime = rt.SmsRuntime(esme=None, hook=hook, broker=OutboxBroker(store=store, batcher=batcher,
                            clock=services.ctx.clock, batch=10, poll_interval=0.1),
                            router=KeywordRouter(services=services, texts=FakeTexts()), batcher=batcher,
                            store=store, clock=services.ctx.clock, text_retention=timedelta(0))
    try:
        await runtime.start()
        for _ in range(200):
            if inbox_texts(store) == [""]:
                break
            await asyncio.sleep(0.01)
        assert inbox_texts(store) == [""]
    finally:
        await runtime.close()
        batcher.close()
