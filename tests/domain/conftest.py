from datetime import timedelta

import pytest

from gateway.domain.money import Money
from gateway.domain.policy import AttemptLimit, ExpiryLifecycle, Policy
from tests.support.domain import USD


@pytest.fixture
def policy() -> Policy:
    """The smart-kh periods, spelled out so a test reads without the profile file."""
    return Policy(
        currency=USD,
        default_valid_days=30,
        restore_window=timedelta(days=7),
        promo_valid_days=30,
        lifecycle=ExpiryLifecycle(outgoing_barred=timedelta(days=60), fully_barred=timedelta(days=30)),
        pin_attempts=AttemptLimit(5, timedelta(hours=24), timedelta(hours=24)),
        lost_attempts=AttemptLimit(5, timedelta(hours=24), timedelta(hours=24)),
        lost_attempts_per_number=AttemptLimit(10, timedelta(hours=24), timedelta(hours=24)),
        expiry_reminder_days=3,
        max_voucher=Money(10_000, USD),
        max_balance=Money(100_000, USD),
    )
