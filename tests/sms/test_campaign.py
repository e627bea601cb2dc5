"""``campaign send``: marketing queued for those who did not opt out, checked again when sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import gateway.cli as cli
from gateway.domain.channels import Channel
from gateway.services.api import Services
from gateway.store import Store
from gateway.store import sms as sms_store
from tests.support.sms import outbox
from tests.support.world import OTHER, SUBSCRIBER


@pytest.fixture
def run_cli(store: Store, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GATEWAY_DATABASE_PATH", store.path)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("gateway.cli.campaign",))
    return lambda *argv: cli.main(["campaign", "send", *argv])


@pytest.mark.sqlite_only(
    "drives the CLI by [database] path; the CLI on PostgreSQL is tested in tests/cli/test_postgres.py")
class TestCampaignSend:
    def test_skips_opted_out_numbers(self, services: Services, store: Store, run_cli, capsys) -> None:  # type: ignore[no-untyped-def]
        """An opted-out number is counted as skipped and gets no queued message."""
        services.set_marketing_consent(OTHER, False, Channel.SMS)
        assert run_cli("--text", "Promo!", "--to", "012345678", "+85512345679", "85599999999") == 0
        assert capsys.readouterr().out.startswith("queued 1, skipped 2")
        rows = outbox(store, kind="marketing")
        assert {(r["destination"], r["status"]) for r in rows} == {
            (SUBSCRIBER, "queued"), (OTHER, "skipped"), ("85599999999", "skipped")}
        assert {r["source"] for r in rows} == {"1204"}

    def test_reads_a_csv_file(self, services: Services, store: Store, run_cli, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
        """Numbers come from the msisdn column of a CSV file."""
        path = tmp_path / "list.csv"
        path.write_text("name,msisdn\nA,012345678\nB,012345679\n", encoding="utf-8")
        assert run_cli("--text", "Hi", "--file", str(path)) == 0
        assert "queued 2, skipped 0" in capsys.readouterr().out

    def test_bad_number_is_refused_whole(self, services: Services, store: Store, run_cli, capsys) -> None:  # type: ignore[no-untyped-def]
        """A malformed number: one-line error, exit 2, nothing queued."""
        assert run_cli("--text", "Hi", "--to", "012345678", "12ab") == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
        assert outbox(store) == []

    def test_missing_column_is_refused(self, services: Services, store: Store, run_cli, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
        """A CSV without an msisdn column is refused with exit 2."""
        path = tmp_path / "bad.csv"
        path.write_text("phone\n012345678\n", encoding="utf-8")
        assert run_cli("--text", "Hi", "--file", str(path)) == 2
        assert "msisdn" in capsys.readouterr().err

    def test_opt_out_after_queueing_wins(self, services: Services, store: Store, run_cli) -> None:  # type: ignore[no-untyped-def]
        """A STOP that arrives after the campaign was queued still stops the message when sent."""
        run_cli("--text", "Promo", "--to", SUBSCRIBER)
        services.set_marketing_consent(SUBSCRIBER, False, Channel.SMS)
        with store.write_uow() as uow:
            claimed = uow.outbox.claim_due(datetime.now(UTC) + timedelta(days=1), 10, identity=None,
                                           lease=sms_store.DEFAULT_LEASE)
        assert claimed == []
        assert outbox(store, kind="marketing")[0]["status"] == "skipped"
