"""004 3(B).12 as dates in Asia/Kathmandu: six calendar months from the local day, 180 local days after."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.domain.inactivity import InactivityRule, add_months, deactivation_at, expiry_at, reminder_due
from gateway.domain.money import Currency, Money

KTM = ZoneInfo("Asia/Kathmandu")
RULE = InactivityRule(6, 180, Money(10000, Currency("NPR", 2, "Rs ")), (30, 7), KTM)


def test_months_keep_the_day_or_take_the_month_end():
    assert add_months(date(2026, 1, 15), 6) == date(2026, 7, 15)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)


def test_any_time_of_the_last_local_day_deactivates_at_the_same_local_midnight():
    for moment in (datetime(2026, 1, 15, 0, 0, tzinfo=KTM), datetime(2026, 1, 15, 23, 59, tzinfo=KTM)):
        assert deactivation_at(moment, RULE) == datetime(2026, 7, 16, tzinfo=KTM)


def test_the_window_is_180_local_days():
    assert expiry_at(datetime(2026, 7, 16, tzinfo=KTM), RULE) == datetime(2027, 1, 12, tzinfo=KTM)


def test_the_reminder_due_is_the_nearest_window_holding_now():
    deadline = datetime(2026, 7, 16, tzinfo=KTM)
    assert reminder_due(deadline, deadline - timedelta(days=31), RULE.reminder_days) is None
    assert reminder_due(deadline, deadline - timedelta(days=30), RULE.reminder_days) == 30
    assert reminder_due(deadline, deadline - timedelta(days=8), RULE.reminder_days) == 30
    assert reminder_due(deadline, deadline - timedelta(days=7), RULE.reminder_days) == 7
    assert reminder_due(deadline, deadline, RULE.reminder_days) is None
