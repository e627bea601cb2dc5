"""SMS crashes: SIGKILL in a burst of MO keywords and MT sends; SIGTERM unbinds and keeps the queue."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.support.audit import audit, file_rows
from tests.support.bursts import sms_burst
from tests.support.seed import seed
from tests.support.servers import campaign, sms_env
from tests.support.waiting import wait_for

MO = 90
TARGETS = 100
WINDOW = 64


def _drained(db: Path) -> bool:
    busy = file_rows(db, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')")[0][0]
    waiting = file_rows(db, "SELECT count(*) FROM sms_inbox WHERE status = 'received'")[0][0]
    return busy == 0 and waiting == 0


@pytest.mark.slow
class TestSigkill:
    def test_kill_mid_sms_burst_loses_nothing_and_credits_once(self, tmp_path: Path, server_factory,
                                                               smsc_factory) -> None:
        """Killed while MO keywords and a campaign flow, then restarted: every MO is answered once, every MT sent,
        money right."""
        data = seed(tmp_path / "gateway.db", subscribers=MO + TARGETS, vouchers=MO // 3)
        smsc = smsc_factory(tmp_path, GATEWAY_SIMULATOR_RESPONSE_DELAY="0.02").start()
        server = server_factory(tmp_path, **sms_env(smsc, GATEWAY_SMPP_SEND_RATE="60")).start()
        wait_for(smsc.bound, 10, "the bind")
        targets = data.numbers[MO:]
        campaign(server, targets, "Promo one")
        campaign(server, targets, "Promo two")
        senders = sms_burst(smsc, data.numbers[:MO], data.pins)
        wait_for(lambda: len(file_rows(server.db, "SELECT id FROM sms_inbox")) >= MO // 3, 10, "some MO saved")
        server.kill()
        acked_at_kill = set(smsc.stats()["mo_acked"])  # type: ignore[arg-type]
        sent_at_kill = len(smsc.mt())
        assert 0 < sent_at_kill < 2 * TARGETS, "the kill must land while the campaign is sending"
        audit(server.db)

        server.start()
        wait_for(lambda: len(smsc.stats()["mo_acked"]) == MO and _drained(server.db),  # type: ignore[arg-type]
                 30, "every MO answered and every MT sent after the restart")
        audit(server.db)

        # Every MO the SMSC saw acknowledged is in the inbox, once, and handled.
        handled = file_rows(server.db, "SELECT source FROM sms_inbox WHERE status = 'handled'")
        inbox = Counter(r["source"] for r in handled)
        assert {senders[i] for i in acked_at_kill} <= set(inbox)
        assert inbox == Counter(senders.values())
        # One reply per inbox row in the outbox; on the wire only in-flight sends may repeat.
        sql = "SELECT destination FROM sms_outbox WHERE kind = 'reply'"
        replies = Counter(r["destination"] for r in file_rows(server.db, sql))
        assert replies == inbox
        mt = smsc.mt()
        wire_replies = Counter(str(m["to"]) for m in mt if not str(m["text"]).startswith("Promo"))
        promos = Counter((str(m["to"]), str(m["text"])) for m in mt if str(m["text"]).startswith("Promo"))
        assert set(wire_replies) == set(inbox)
        assert {(t, x) for t in targets for x in ("Promo one", "Promo two")} == set(promos)
        duplicates = sum(wire_replies.values()) - len(wire_replies) + sum(promos.values()) - len(promos)
        assert duplicates <= WINDOW, duplicates  # only what awaited a submit_sm_resp at the kill
        # Each TOP credited exactly once, by its inbox row's request key.
        tops = file_rows(server.db, "SELECT request_key FROM topups")
        assert len(tops) == len({r["request_key"] for r in tops}) == MO // 3
        assert all(str(r["request_key"]).startswith("sms:") for r in tops)
        print(f"sms-kill: mt at kill {sent_at_kill}, duplicates {duplicates}")


class TestSigterm:
    def test_sigterm_unbinds_and_keeps_the_unsent_queued(self, tmp_path: Path, server_factory,
                                                         smsc_factory) -> None:
        """SIGTERM mid-campaign: exit 0, the SMSC sees an unbind, the rest stays queued and goes after a restart."""
        data = seed(tmp_path / "gateway.db", subscribers=80)
        smsc = smsc_factory(tmp_path).start()
        server = server_factory(tmp_path, **sms_env(smsc, GATEWAY_SMPP_SEND_RATE="40")).start()
        wait_for(smsc.bound, 10, "the bind")
        campaign(server, data.numbers, "Hello")
        wait_for(lambda: len(smsc.mt()) >= 10, 10, "the campaign under way")
        assert server.terminate() == 0
        stats = smsc.stats()
        assert (stats["unbinds"], stats["drops"]) == (1, 0)
        sent = len(smsc.mt())
        status = Counter(r["status"] for r in file_rows(server.db, "SELECT status FROM sms_outbox"))
        assert status["sending"] == 0 and status["queued"] == len(data.numbers) - sent > 0, status
        server.start()
        wait_for(lambda: _drained(server.db), 15, "the rest sent after the restart")
        assert sorted(str(m["to"]) for m in smsc.mt()) == sorted(data.numbers)  # each once
