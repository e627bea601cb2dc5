"""Every business operation is all or nothing."""

import pytest

from gateway.domain.channels import Channel
from gateway.services.model import TopUp

ME = "85512345678"


class Boom(Exception):
    pass


def test_a_failure_after_the_credit_rolls_everything_back(world, monkeypatch):
    """If queueing the confirmation fails, the voucher, credit and ledger rows are all undone."""
    world.add(ME, "1.00")
    [pin] = world.vouchers()

    def explode(*args, **kwargs):
        raise Boom()

    enqueue = {"sqlite": "gateway.store.sms.outbox.OutboxSql.enqueue",
               "postgres": "gateway.store.postgres.sms.PgOutbox.enqueue"}
    monkeypatch.setattr(enqueue[world.backend], explode)  # the confirmation, after the credit
    with pytest.raises(Boom):
        world.services.top_up(TopUp(ME, pin, Channel.USSD))
    assert world.services.check_balance(ME).main.minor == 100
    assert world.sql("SELECT status FROM vouchers")[0]["status"] == "active"
    assert world.sql("SELECT COUNT(*) AS n FROM topups")[0]["n"] == 0
    world.assert_ledger_matches()


@pytest.mark.sqlite_only("counts the changes of the SQLite connection")
def test_balance_check_writes_nothing(world):
    """A read-only service leaves the database untouched (total_changes does not move)."""
    world.add(ME, "1.00")
    conn = world.services.ctx.store.conn
    before = conn.total_changes
    world.services.check_balance(ME)
    world.services.marketing_consent(ME)
    world.services.show_subscriber(ME)
    assert conn.total_changes == before
