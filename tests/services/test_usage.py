"""``usage import``: records rated by the terms' charging units and charged, on both backends.

000 "The calculation of the charges": voice per started minute, each text,
data per started kilobyte; prepaid funds spent promo first and never below
zero (000 "Prepaid" 1, 4); postpaid usage onto unbilled; a record's identity
(msisdn, started_at, kind, quantity) seen twice is refused; a bad line names
its line and nothing of the file is kept.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gateway.domain.account import Bucket
from gateway.domain.errors import BadImportFile
from tests.support.world import START, World

ME = "85512345678"
OTHER = "85512345679"


def usage_file(world: World, lines: list[str], name: str = "usage.csv") -> Path:
    path = world.tmp / name
    path.write_text("msisdn,started_at,kind,quantity\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def balance(world: World, msisdn: str = ME) -> tuple[int, int]:
    shown = world.services.show_subscriber(msisdn)["balances"]
    return shown["main"]["minor"], shown["promo"]["minor"]


class TestRating:
    def test_voice_is_charged_per_started_minute_sms_each_and_data_per_started_kilobyte(self, world):
        """61 s is two minutes (10 cents), 2 texts 6 cents, 1,025 bytes two KB (2 KB of $0.02/MB: 1 cent)."""
        world.add(ME, "6.00")
        report = world.services.import_usage(usage_file(world, [
            f"{ME},2026-10-31T08:00:00+07:00,voice,61",
            f"{ME},2026-10-31T08:05:00+07:00,sms,2",
            f"{ME},2026-10-31T08:06:00+07:00,data,1025",
        ]))
        assert (report.records, report.charged.minor, report.refused) == (3, 17, 0)
        assert balance(world) == (600 - 17, 0)
        world.assert_ledger_matches()

    def test_a_zero_second_call_costs_nothing_and_a_minute_exactly_costs_one(self, world):
        world.add(ME, "1.00")
        world.services.import_usage(usage_file(world, [
            f"{ME},2026-10-31T08:00:00+07:00,voice,0",
            f"{ME},2026-10-31T08:01:00+07:00,voice,60",
        ]))
        assert balance(world) == (95, 0)

    def test_every_debit_is_a_ledger_row_naming_its_record(self, world):
        world.add(ME, "1.00")
        world.services.import_usage(usage_file(world, [f"{ME},2026-10-31T08:00:00+07:00,sms,1"]))
        rows = world.sql("SELECT bucket, delta_minor, kind, reference FROM ledger WHERE kind = 'usage'")
        record = world.sql("SELECT id FROM usage_records")[0][0]
        assert [tuple(r) for r in rows] == [("main", -3, "usage", f"usage:{record}")]


class TestSpendingOrder:
    def test_promotional_funds_are_spent_before_main_funds(self, world):
        """000 "Prepaid" 4: promo expires sooner and is not extended, so it goes first."""
        world.add(ME, "1.00")
        world.services.grant_promo(ME, world.money("0.08"))
        world.services.import_usage(usage_file(world, [f"{ME},2026-10-31T08:00:00+07:00,voice,120"]))
        assert balance(world) == (98, 0)
        world.assert_ledger_matches()


class TestNeverBelowZero:
    def test_what_the_funds_do_not_cover_is_reported_not_charged(self, world):
        """A call the funds cover in part takes what is there; one started with nothing is refused."""
        world.add(ME, "0.07")
        report = world.services.import_usage(usage_file(world, [
            f"{ME},2026-10-31T08:00:00+07:00,voice,120",  # 10 cents, 7 there: short by 3
            f"{ME},2026-10-31T09:00:00+07:00,sms,1",  # 3 cents, nothing left: refused
        ]))
        assert balance(world) == (0, 0)
        assert (report.charged.minor, report.short, report.uncharged.minor) == (7, 1, 3)
        assert (report.refused, report.refused_amount.minor) == (1, 3)
        outcomes = [tuple(r) for r in world.sql("SELECT outcome, charged_minor FROM usage_records ORDER BY id")]
        assert outcomes == [("short", 7), ("no_funds", 0)]
        world.assert_ledger_matches()

    def test_expired_funds_do_not_pay_for_usage(self, world):
        world.add(ME, "1.00", valid_days=1)
        world.clock.advance(timedelta(days=2))
        report = world.services.import_usage(usage_file(world, [f"{ME},2026-11-01T12:00:00+07:00,sms,1"]))
        assert report.refused == 1 and balance(world) == (0, 0)
        world.assert_ledger_matches()


class TestRecordIdentity:
    def test_a_file_imported_twice_is_refused_the_second_time_and_charges_once(self, world):
        world.add(ME, "1.00")
        path = usage_file(world, [f"{ME},2026-10-31T08:00:00+07:00,sms,1", f"{ME},2026-10-31T08:01:00+07:00,sms,1"])
        world.services.import_usage(path)
        with pytest.raises(BadImportFile, match=r"line 2: record seen before \(imported "):
            world.services.import_usage(path)
        assert balance(world) == (94, 0)
        assert world.sql("SELECT COUNT(*) FROM usage_records")[0][0] == 2

    def test_a_record_repeated_in_one_file_names_both_lines_and_imports_nothing(self, world):
        """The same instant written in another offset is the same record."""
        world.add(ME, "1.00")
        path = usage_file(world, [f"{ME},2026-10-31T08:00:00+07:00,sms,1", f"{ME},2026-10-31T09:00:00+07:00,sms,1",
                                  f"{ME},2026-10-31T01:00:00+00:00,sms,1"])
        with pytest.raises(BadImportFile, match=r"line 4: record seen before \(repeats line 2\)"):
            world.services.import_usage(path)
        assert balance(world) == (100, 0)
        assert world.sql("SELECT COUNT(*) FROM usage_records")[0][0] == 0

    def test_a_record_differing_in_quantity_is_another_record(self, world):
        world.add(ME, "1.00")
        world.services.import_usage(usage_file(world, [f"{ME},2026-10-31T08:00:00+07:00,data,1",
                                                       f"{ME},2026-10-31T08:00:00+07:00,data,2"]))
        assert world.sql("SELECT COUNT(*) FROM usage_records")[0][0] == 2


class TestBadLines:
    @pytest.mark.parametrize("line,message", [
        (f"{ME},yesterday,sms,1", "line 3: started_at is not an ISO-8601 time"),
        (f"{ME},2026-10-31T08:00:00+07:00,mms,1", "line 3: kind must be voice, sms or data"),
        (f"{ME},2026-10-31T08:00:00+07:00,voice,-5", "line 3: quantity must be a whole number of seconds"),
        (f"{ME},2026-10-31T08:00:00+07:00,data,1.5", "line 3: quantity must be a whole number of bytes"),
        (f"{ME},2026-10-31T08:00:00+07:00,sms,0", "line 3: an sms record counts at least one message"),
        (f"{OTHER},2026-10-31T08:00:00+07:00,sms,1", f"line 3: no live subscriber {OTHER}"),
        ("123,2026-10-31T08:00:00+07:00,sms,1", "line 3: "),
        (f"{ME},2026-12-31T08:00:00+07:00,sms,1", "line 3: started_at 2026-12-31T08:00:00\\+07:00 lies after"),
        (f"{ME},2026-10-31T08:00:00+07:00,sms", "line 3: expected 4 fields, got 3"),
    ])
    def test_a_bad_line_is_named_and_nothing_is_imported(self, world, line, message):
        world.add(ME, "1.00")
        path = usage_file(world, [f"{ME},2026-10-31T07:00:00+07:00,sms,1", line])
        with pytest.raises(BadImportFile, match=message):
            world.services.import_usage(path)
        assert balance(world) == (100, 0)
        assert world.sql("SELECT COUNT(*) FROM usage_records")[0][0] == 0
        assert world.sql("SELECT COUNT(*) FROM ledger WHERE kind = 'usage'")[0][0] == 0

    def test_a_wrong_header_is_refused(self, world):
        path = world.tmp / "u.csv"
        path.write_text("msisdn,when,kind,quantity\n", encoding="utf-8")
        with pytest.raises(BadImportFile, match="line 1: header must be msisdn,started_at,kind,quantity"):
            world.services.import_usage(path)


class TestChunks:
    def test_records_of_many_chunks_and_lines_are_charged_once_each(self, world, monkeypatch):
        """The import goes chunk by chunk; a line met again in a later chunk keeps its debits."""
        from gateway.services import usage

        monkeypatch.setattr(usage, "CHUNK", 3)
        world.add(ME, "1.00")
        world.add(OTHER, "1.00")
        base = START - timedelta(hours=5)
        lines = [f"{(ME, OTHER)[i % 2]},{(base + timedelta(minutes=i)).isoformat()},sms,1" for i in range(10)]
        report = world.services.import_usage(usage_file(world, lines))
        assert (report.records, report.lines, report.charged.minor) == (10, 2, 30)
        assert balance(world, ME) == (85, 0) and balance(world, OTHER) == (85, 0)
        world.assert_ledger_matches()

    def test_a_repeat_across_chunks_names_the_earlier_line(self, world, monkeypatch):
        from gateway.services import usage

        monkeypatch.setattr(usage, "CHUNK", 2)
        world.add(ME, "1.00")
        lines = [f"{ME},2026-10-31T08:0{i}:00+07:00,sms,1" for i in range(3)]
        lines += [f"{ME},2026-10-31T08:00:00+07:00,sms,1"]
        with pytest.raises(BadImportFile, match=r"line 5: record seen before \(repeats line 2\)"):
            world.services.import_usage(usage_file(world, lines))
        assert balance(world) == (100, 0)


def test_ledger_of_every_bucket_matches_after_imports(world):
    world.add(ME, "2.00")
    world.services.grant_promo(ME, world.money("0.50"))
    world.services.import_usage(usage_file(world, [f"{ME},2026-10-31T08:00:00+07:00,data,{1024 * 1024 * 30}"]))
    world.assert_ledger_matches()
    totals = world.services.ctx.store.read_uow().accounts.ledger_totals(
        world.sql("SELECT id FROM subscribers")[0][0])
    assert totals[Bucket.MAIN] + totals[Bucket.PROMO] == 250 - 60
