"""Two ``serve`` processes on one PostgreSQL database (``[database] url``), on loopback.

Each process has a port of its own (two gateways, as on two hosts); every
request opens a new connection. What they share is only the database: a
voucher is taken once by a conditional update, a lockout is a row. (The
lockout and the rate limit across processes: ``test_shared_limits.py``.)
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.audit import pg_audit
from tests.support.bursts import sms_burst, topup_burst
from tests.support.seed import seed
from tests.support.servers import Server, Smsc, campaign, pg_env, sms_env, two_gateways
from tests.support.waiting import wait_for


def pg_rows(url: str, query: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchall()


def test_the_same_vouchers_at_once_through_two_gateways_credit_once_each(
        tmp_path: Path, server_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    """Each of 40 PINs dialled twice at once, once through each gateway: 40 credits, balances equal the
    ledger, both ready, and no SQLite file is made."""
    data = seed(postgres_url, subscribers=80, vouchers=40, folder=tmp_path)
    a, b = two_gateways(tmp_path, server_factory, postgres_url)
    assert a.get("/readyz")[0] == 200 and b.get("/readyz")[0] == 200

    def one(i: int) -> str:
        status, body = (a, b)[i % 2].post(f"v{i}", f"*123*{data.pins[i // 2]}#", "", data.numbers[i], timeout=20)
        assert status == 200, (status, body)
        return body

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(80)))
    assert sum("successful" in answer for answer in answers) == 40, Counter(answer[:40] for answer in answers)
    assert pg_audit(postgres_url) == {"used": 40, "topups": 40}
    assert not (tmp_path / "never.db").exists()
    assert a.terminate() == 0 and b.terminate() == 0


def test_a_dialogue_begun_on_one_gateway_continues_on_the_other(
        tmp_path: Path, server_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    """The top-up menu, its steps alternating between the gateways: each step finds the session the other
    saved, and the card is redeemed once."""
    data = seed(postgres_url, subscribers=1, vouchers=1, folder=tmp_path)
    [me] = data.numbers
    a, b = two_gateways(tmp_path, server_factory, postgres_url)
    screens = []
    for n, text in enumerate(["", "2", "2*1", f"2*1*{data.pins[0]}"]):
        status, body = (a, b)[n % 2].post("moving", "*100#", text, me)
        assert status == 200, body
        screens.append(body)
    assert screens[2] == "CON Enter the card PIN:\n0 Back", screens
    assert screens[3].startswith("END Top-up of $5.00 successful"), screens
    assert pg_audit(postgres_url) == {"used": 1, "topups": 1}


# --- SMS: each gateway with its own bind to one SMSC ------------------------------------------

#: Settings for SMS tests: a short outbox lease (twice claim_batch / send_rate + response_timeout).
SMS_SETTINGS = dict(GATEWAY_SMPP_SEND_RATE="60", GATEWAY_SMPP_CLAIM_BATCH="20", GATEWAY_SMPP_RESPONSE_TIMEOUT="1",
                    GATEWAY_SMPP_OUTBOX_LEASE="3", GATEWAY_SMPP_WINDOW="8")


def bound_in_turn(tmp_path: Path, server_factory, smsc: Smsc, url: str) -> tuple[Server, Server]:  # type: ignore[no-untyped-def]
    """Two gateways bound to ``smsc``, ``a`` first (so the simulator hands MO to ``a`` while it is bound)."""
    env = pg_env(tmp_path, url, **sms_env(smsc, **SMS_SETTINGS))
    a = server_factory(tmp_path, **env).start()
    wait_for(lambda: len(smsc.request("GET", "/binds")) == 1, 10, "the first bind")  # type: ignore[arg-type]
    b = server_factory(tmp_path, **env).start()
    wait_for(lambda: len(smsc.request("GET", "/binds")) == 2, 10, "the second bind")  # type: ignore[arg-type]
    return a, b


def place(server: Server) -> str:
    """What the claims of ``server`` (worker 0 on its port) look like, for ``LIKE``."""
    return f"%:{server.port}/0#%"


def settled(url: str) -> bool:
    """Every MO answered, every MT submitted and its receipt matched."""
    return pg_rows(url, "SELECT count(*) FROM sms_inbox WHERE status = 'received'")[0][0] == 0 and \
        pg_rows(url, "SELECT count(*) FROM sms_outbox WHERE status <> 'delivered'")[0][0] == 0


def test_mo_from_either_bind_is_answered_once_and_receipts_match_on_either(
        tmp_path: Path, server_factory, smsc_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    """MO go to ``a``'s bind, then (``a`` stopped) to ``b``'s: each answered once. The receipts of what ``a``
    sent arrive on ``b``'s bind once ``a`` has unbound, and still end their message ``delivered``."""
    data = seed(postgres_url, subscribers=40, folder=tmp_path)
    smsc = smsc_factory(tmp_path, GATEWAY_SIMULATOR_RECEIPT_DELAY="1.5").start()
    a, b = bound_in_turn(tmp_path, server_factory, smsc, postgres_url)
    for number in data.numbers[:20]:
        smsc.mo(number, "888", "BAL")
    wait_for(lambda: len(smsc.mt()) == 20, 15, "the replies to the first MO")
    assert a.terminate() == 0  # unbinds before the receipts (1.5 s) come back
    for number in data.numbers[20:]:
        smsc.mo(number, "888", "BAL")
    wait_for(lambda: settled(postgres_url), 20, "every MO answered and every receipt matched")
    by = Counter(str(r[0]).rpartition("#")[0] for r in pg_rows(postgres_url, "SELECT received_by FROM sms_inbox"))
    assert len(by) == 2 and all(n == 20 for n in by.values()), by  # 20 MO on each bind
    assert Counter(str(m["to"]) for m in smsc.mt()) == Counter(data.numbers)  # each answered once
    senders = pg_rows(postgres_url, "SELECT s.claimed_by, count(*) FROM sms_outbox s GROUP BY 1")
    assert {str(c).rpartition("#")[0] for c, _ in senders} == set(by), senders  # both sent some
    assert b.terminate() == 0


@pytest.mark.slow
def test_sigkill_of_one_gateway_mid_burst_loses_and_doubles_nothing(
        tmp_path: Path, server_factory, smsc_factory, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    """Top-ups through both gateways, MO keywords and two campaigns; ``a`` (holding MO and outbox claims)
    is SIGKILLed mid-burst. Every acknowledged top-up is in the ledger once; ``b`` sends what ``a`` had
    claimed once the lease has passed, and gets the receipts of what ``a`` sent; once ``a`` is back every
    MO is answered, every MT delivered, and only what was in flight on ``a``'s link went twice."""
    mo, topups, targets = 30, 48, 40
    data = seed(postgres_url, subscribers=mo + topups + targets, vouchers=mo // 3 + topups, folder=tmp_path)
    # Slow answers (0.3 s, a window of 8): each gateway holds a claim for seconds while the campaign lasts.
    smsc = smsc_factory(tmp_path, GATEWAY_SIMULATOR_RESPONSE_DELAY="0.3",
                        GATEWAY_SIMULATOR_RECEIPT_DELAY="0.3").start()
    a, b = bound_in_turn(tmp_path, server_factory, smsc, postgres_url)
    senders_of, buyers, receivers = data.numbers[:mo], data.numbers[mo:mo + topups], data.numbers[mo + topups:]
    campaign(a, receivers, "Promo one")
    campaign(a, receivers, "Promo two")
    wait_for(lambda: pg_rows(postgres_url, "SELECT count(*) FROM sms_outbox WHERE claimed_by LIKE %s "
                             "AND status = 'sending'", place(a))[0][0], 10, "a holding a claim")
    with ThreadPoolExecutor(1) as side:
        keywords = side.submit(sms_burst, smsc, senders_of, data.pins[topups:])
        answers = topup_burst(a, buyers, data.pins[:topups], "k", kill_after=topups // 3, via=(a, b))
        senders = keywords.result()
    held = {(str(r[0]), str(r[1])) for r in pg_rows(
        postgres_url, "SELECT destination, text FROM sms_outbox WHERE claimed_by LIKE %s AND status = 'sending'",
        place(a))}
    unacked = {str(r[0]) for r in pg_rows(postgres_url, "SELECT source FROM sms_inbox WHERE received_by LIKE %s "
                                          "AND pending_ack IS NOT NULL", place(a))}
    assert 0 < len(answers) < topups, "the kill must land mid-burst"
    pg_audit(postgres_url)

    # The survivor: a's claimed messages once the lease (3 s) has passed, and the receipts of a's sends.
    wait_for(lambda: pg_rows(postgres_url, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')"
                             )[0][0] == 0, 30, "b sending what a had claimed")
    assert held, "a held a claim at the kill"
    taken = pg_rows(postgres_url, "SELECT DISTINCT claimed_by LIKE %s FROM sms_outbox WHERE claimed_by IS NOT NULL "
                    "AND (destination, text) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                    place(b), [d for d, _ in held], [t for _, t in held])
    assert taken == [(True,)], taken
    # a comes back in its place: it answers the MO it had saved and not answered yet.
    a.start()
    wait_for(lambda: settled(postgres_url), 30, "every MO answered and every MT delivered")

    # Every top-up acknowledged is in the ledger once; every balance equals its ledger.
    counts = pg_audit(postgres_url)
    credited = {buyers[i] for i, body in answers.items() if "successful" in body}
    used = {str(r[0]) for r in pg_rows(postgres_url, "SELECT s.msisdn FROM topups t JOIN subscribers s "
                                       "ON s.id = t.subscriber_id WHERE t.request_key LIKE 'ussd:%%'")}
    assert credited <= used
    # Every MO is in the inbox and answered: once, but for one a saved and died before acknowledging
    # (the SMSC gave it to b as well; it credits once, by its PDU's request key).
    handled = Counter(str(r[0]) for r in pg_rows(postgres_url, "SELECT source FROM sms_inbox WHERE status = 'handled'"))
    assert set(handled) == set(senders.values())
    assert {n for n, count in handled.items() if count > 1} <= unacked, (handled, unacked)
    sql = "SELECT destination FROM sms_outbox WHERE kind = 'reply'"
    replies = Counter(str(r[0]) for r in pg_rows(postgres_url, sql))
    assert replies == handled
    tops = [str(r[0]) for r in pg_rows(postgres_url, "SELECT request_key FROM topups WHERE request_key LIKE 'sms:%%'")]
    assert len(tops) == len(set(tops)) == mo // 3
    assert counts["topups"] == len(used) + len(tops)
    # On the wire every message once, but for some a had claimed and sent without having recorded it
    # (in flight, or answered and not yet saved, at the kill): b sent those again.
    mt = smsc.mt()
    promos = {(str(m["to"]), str(m["text"])) for m in mt if str(m["text"]).startswith("Promo")}
    assert promos == {(t, x) for t in receivers for x in ("Promo one", "Promo two")}
    queued = Counter((str(r[0]), str(r[1])) for r in pg_rows(postgres_url, "SELECT destination, text FROM sms_outbox"))
    wire = Counter((str(m["to"]), str(m["text"])) for m in mt)
    assert wire.keys() == queued.keys()
    repeated = {key: wire[key] - queued[key] for key in wire if wire[key] != queued[key]}
    assert set(repeated) <= held and all(n == 1 for n in repeated.values()), (repeated, held)
    print(f"pg-kill: top-ups answered {len(answers)}, claims taken over {len(held)}, repeats {len(repeated)}")
