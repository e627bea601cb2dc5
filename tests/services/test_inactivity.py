"""004 3(B).12 on the smart-np profile, both backends: six months unused deactivates a line,
``reissue`` within 180 days gives it back for the fee, then the number expires and may be added again.

Times are Asia/Kathmandu (+05:45): activity counts by the local day, and each
step happens at a local midnight, tested a moment before and at it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.clock import FixedClock
from gateway.domain.account import Bucket
from gateway.domain.errors import InvalidInput, UnknownSubscriber
from tests.support.backends import Backend
from tests.support.world import World, make_world

KTM = ZoneInfo("Asia/Kathmandu")
ME = "9779801234567"
ADDED = datetime(2026, 1, 15, 10, 0, tzinfo=KTM)
#: Six months after the local day 15 January, at the start of the next day.
DEACTIVATES = datetime(2026, 7, 16, 0, 0, tzinfo=KTM)
#: 180 local days after the deactivation.
EXPIRES = datetime(2027, 1, 12, 0, 0, tzinfo=KTM)
MOMENT = timedelta(microseconds=1)


@pytest.fixture
def np(backend: Backend, tmp_path: Path) -> World:
    """smart-np on the shared ``backend``, on a clock at ``ADDED``."""
    return make_world(tmp_path, FixedClock(ADDED), backend.store, backend.name, backend.where, "smart-np")


def state(np: World, at: datetime, msisdn: str = ME) -> str:
    np.clock.set(at)
    return str(np.services.show_subscriber(msisdn)["state"])


def run(np: World, at: datetime):
    np.clock.set(at)
    return np.services.run_lifecycle()


def reminders(np: World) -> list[str]:
    return [r[0] for r in np.sql("SELECT text FROM sms_outbox WHERE kind = 'reminder' ORDER BY id")]


class TestDeactivation:
    def test_a_line_unused_six_months_is_deactivated_at_the_local_midnight_after(self, np):
        np.add(ME, "200.00", valid_days=800)
        assert state(np, DEACTIVATES - MOMENT) == "active"
        assert run(np, DEACTIVATES - MOMENT).deactivated == 0
        assert state(np, DEACTIVATES) == "deactivated"
        report = run(np, DEACTIVATES)
        assert report.deactivated == 1
        assert np.sql("SELECT deactivated_at FROM subscribers")[0][0] is not None
        assert run(np, DEACTIVATES + timedelta(hours=1)).deactivated == 0

    def test_activity_late_on_a_local_day_counts_for_that_day_not_the_utc_one(self, np):
        """23:50 in Kathmandu on 1 March is 18:05 UTC the same day; 00:10 on 2 March is still 1 March in UTC."""
        np.add(ME, "200.00", valid_days=800)
        np.clock.set(datetime(2026, 3, 2, 0, 10, tzinfo=KTM))
        np.services.note_activity(ME)
        np.services.flush_activity()
        assert state(np, datetime(2026, 9, 3, 0, 0, tzinfo=KTM) - MOMENT) == "active"
        assert state(np, datetime(2026, 9, 3, 0, 0, tzinfo=KTM)) == "deactivated"

    def test_a_month_end_rolls_to_the_last_day_of_a_shorter_month(self, np):
        """Last used 31 August: six months is the end of 28 February; deactivated at 1 March 00:00."""
        np.clock.set(datetime(2026, 8, 31, 12, 0, tzinfo=KTM))
        np.add(ME, "200.00", valid_days=800)
        assert state(np, datetime(2027, 3, 1, 0, 0, tzinfo=KTM) - MOMENT) == "active"
        assert state(np, datetime(2027, 3, 1, 0, 0, tzinfo=KTM)) == "deactivated"

    def test_activity_is_written_at_most_once_a_day_per_line(self, np):
        np.add(ME, "200.00", valid_days=800)
        np.clock.set(datetime(2026, 2, 1, 9, 0, tzinfo=KTM))
        np.services.note_activity(ME)
        assert np.services.flush_activity() == 1
        np.clock.set(datetime(2026, 2, 1, 21, 0, tzinfo=KTM))
        np.services.note_activity(ME)
        assert np.services.flush_activity() == 0  # remembered in memory: nothing to write
        np.services.activity._noted.clear()  # another process, or a restart, the same day
        np.services.note_activity(ME)
        assert np.services.flush_activity() == 0  # the row says it is noted today: no row changes
        first = np.sql("SELECT last_active_at FROM subscribers")[0][0]
        np.clock.set(datetime(2026, 2, 2, 0, 0, tzinfo=KTM))
        np.services.note_activity(ME)
        assert np.services.flush_activity() == 1
        assert np.sql("SELECT last_active_at FROM subscribers")[0][0] != first

    def test_activity_on_a_deactivated_line_does_not_bring_it_back(self, np):
        np.add(ME, "200.00", valid_days=800)
        run(np, DEACTIVATES)
        np.services.note_activity(ME)
        np.services.flush_activity()
        assert state(np, DEACTIVATES + timedelta(days=1)) == "deactivated"

    def test_imported_usage_is_activity_from_when_it_started(self, np):
        np.add(ME, "200.00", valid_days=800)
        np.clock.set(datetime(2026, 4, 2, 12, 0, tzinfo=KTM))
        path = np.tmp / "u.csv"
        path.write_text(f"msisdn,started_at,kind,quantity\n{ME},2026-04-01T23:30:00+05:45,sms,1\n")
        np.services.import_usage(path)
        assert state(np, datetime(2026, 10, 2, 0, 0, tzinfo=KTM) - MOMENT) == "active"
        assert state(np, datetime(2026, 10, 2, 0, 0, tzinfo=KTM)) == "deactivated"

    def test_usage_started_after_the_deactivation_is_refused_not_charged(self, np):
        np.add(ME, "200.00", valid_days=800)
        np.clock.set(DEACTIVATES + timedelta(days=2))
        path = np.tmp / "u.csv"
        started = (DEACTIVATES + timedelta(hours=1)).isoformat()
        path.write_text(f"msisdn,started_at,kind,quantity\n{ME},{started},voice,60\n")
        report = np.services.import_usage(path)
        assert (report.refused, report.charged.minor) == (1, 0)
        assert np.services.show_subscriber(ME)["balances"]["main"]["minor"] == 20000


class TestReissue:
    def test_within_the_window_the_line_comes_back_for_the_fee_as_a_ledger_row(self, np):
        np.add(ME, "200.00", valid_days=800)
        run(np, DEACTIVATES)
        np.clock.set(EXPIRES - MOMENT)
        result = np.services.reissue(ME)
        assert result.fee.display() == "Rs 100.00"
        shown = np.services.show_subscriber(ME)
        assert shown["state"] == "active" and shown["balances"]["main"]["minor"] == 10000
        fee = [tuple(r) for r in np.sql("SELECT bucket, delta_minor, kind FROM ledger WHERE kind = 'reissue_fee'")]
        assert fee == [("main", -10000, "reissue_fee")]
        np.assert_ledger_matches()
        # Counted afresh from the reissue: six months later it is deactivated again.
        assert state(np, datetime(2027, 7, 12, 0, 0, tzinfo=KTM) - MOMENT) == "active"

    def test_a_line_the_job_has_not_reached_yet_can_be_reissued(self, np):
        np.add(ME, "200.00", valid_days=800)
        np.clock.set(DEACTIVATES + timedelta(days=3))
        np.services.reissue(ME)
        assert state(np, DEACTIVATES + timedelta(days=3)) == "active"

    def test_after_the_window_it_is_refused_with_the_reason(self, np):
        np.add(ME, "200.00", valid_days=800)
        run(np, DEACTIVATES)
        np.clock.set(EXPIRES)
        with pytest.raises(InvalidInput, match="the reissue window ended on 2027-01-12T00:00:00\\+05:45"):
            np.services.reissue(ME)
        assert np.services.show_subscriber(ME)["balances"]["main"]["minor"] == 20000

    def test_a_line_that_is_not_deactivated_is_refused(self, np):
        np.add(ME, "200.00", valid_days=800)
        np.clock.set(DEACTIVATES - MOMENT)
        with pytest.raises(InvalidInput, match="is not deactivated"):
            np.services.reissue(ME)

    def test_funds_below_the_fee_are_refused_and_nothing_changes(self, np):
        np.add(ME, "99.99", valid_days=800)
        run(np, DEACTIVATES)
        with pytest.raises(InvalidInput, match="do not cover the reissue fee Rs 100.00"):
            np.services.reissue(ME)
        assert state(np, DEACTIVATES) == "deactivated"

    def test_a_postpaid_line_has_the_fee_added_to_its_unbilled_usage(self, np):
        np.add(ME, "0", type_="postpaid")
        run(np, DEACTIVATES)
        np.services.reissue(ME)
        assert np.sql("SELECT unbilled_minor FROM subscribers")[0][0] == 10000
        assert [tuple(r) for r in np.sql("SELECT bucket, kind FROM ledger WHERE kind = 'reissue_fee'")] == [
            ("unbilled", "reissue_fee")]


class TestExpiry:
    def test_unclaimed_the_number_expires_keeps_its_history_and_can_be_added_again(self, np):
        np.add(ME, "200.00", valid_days=800)
        run(np, DEACTIVATES)
        assert run(np, EXPIRES - MOMENT).line_expired == 0
        assert state(np, EXPIRES) == "expired"  # evaluated before the job ran
        report = run(np, EXPIRES)
        assert report.line_expired == 1
        shown = np.services.show_subscriber(ME)
        assert shown["state"] == "expired" and shown["balances"]["main"]["minor"] == 0
        assert shown["expired_at"] == EXPIRES.isoformat()
        np.assert_ledger_matches()
        with pytest.raises(UnknownSubscriber):
            np.services.reissue(ME)
        np.add(ME, "50.00")
        assert state(np, EXPIRES + timedelta(days=1)) == "active"
        assert np.sql("SELECT COUNT(*) FROM subscribers WHERE msisdn = ?", ME)[0][0] == 2

    def test_a_line_expires_in_one_run_when_the_job_never_saw_it_deactivated(self, np):
        np.add(ME, "200.00", valid_days=800)
        report = run(np, EXPIRES)
        assert (report.deactivated, report.line_expired) == (1, 1)


class TestReminders:
    def test_each_reminder_before_each_step_is_sent_once(self, np):
        """reminder_days = [30, 7]: before the deactivation and before the expiry, in the subscriber's language."""
        np.add(ME, "200.00", language="ne", valid_days=800)
        before = [DEACTIVATES - timedelta(days=30), DEACTIVATES - timedelta(days=7)]
        assert run(np, before[0] - MOMENT).reminders == 0
        assert run(np, before[0]).reminders == 1
        assert run(np, before[0] + timedelta(hours=1)).reminders == 0
        assert run(np, before[1]).reminders == 1
        assert run(np, before[1] + timedelta(days=1)).reminders == 0
        run(np, DEACTIVATES)
        assert run(np, EXPIRES - timedelta(days=30)).reminders == 1
        assert run(np, EXPIRES - timedelta(days=7)).reminders == 1
        assert run(np, EXPIRES - timedelta(days=6)).reminders == 0
        texts = reminders(np)
        assert len(texts) == 4
        assert "16/07/2026" in texts[0] and "निष्क्रिय" in texts[0]
        assert "12/01/2027" in texts[3] and "Rs 100.00" in texts[3]

    def test_a_late_job_sends_the_nearest_reminder_only(self, np):
        np.add(ME, "200.00", valid_days=800)
        assert run(np, DEACTIVATES - timedelta(days=3)).reminders == 1
        assert run(np, DEACTIVATES - timedelta(days=2)).reminders == 0

    def test_a_line_used_again_is_reminded_again_before_its_new_deadline(self, np):
        np.add(ME, "200.00", valid_days=800)
        run(np, DEACTIVATES - timedelta(days=7))
        np.services.note_activity(ME)
        np.services.flush_activity()
        assert run(np, datetime(2027, 1, 8, 0, 0, tzinfo=KTM) - timedelta(days=7)).reminders == 1


def test_the_balance_screen_says_the_line_is_deactivated_and_how_to_get_it_back(np):
    np.add(ME, "200.00", valid_days=800)
    np.clock.set(DEACTIVATES)
    view = np.services.check_balance(ME)
    text = np.services.ctx.notices.balance(view, "en")  # type: ignore[union-attr]
    assert "deactivated" in text and "12/01/2027" in text and "Rs 100.00" in text


def test_postpaid_usage_goes_onto_unbilled_one_ledger_row_a_record(np):
    np.add(ME, "0", type_="postpaid")
    np.clock.set(datetime(2026, 2, 1, 12, 0, tzinfo=KTM))
    path = np.tmp / "u.csv"
    path.write_text(f"msisdn,started_at,kind,quantity\n{ME},2026-02-01T08:00:00+05:45,voice,61\n"
                    f"{ME},2026-02-01T09:00:00+05:45,data,{1024 * 1024}\n")
    report = np.services.import_usage(path)
    assert (report.unbilled.minor, report.charged.minor) == (200 + 100, 0)
    assert np.sql("SELECT unbilled_minor FROM subscribers")[0][0] == 300
    sid = np.sql("SELECT id FROM subscribers")[0][0]
    assert np.services.ctx.store.read_uow().accounts.ledger_totals(sid)[Bucket.UNBILLED] == 300
    assert len(np.sql("SELECT id FROM ledger WHERE bucket = 'unbilled' AND kind = 'usage'")) == 2
