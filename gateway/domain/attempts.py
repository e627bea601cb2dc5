"""Counting failed attempts, and the lockout they earn.

Used for wrong voucher PINs (issue: 5 failures within 24 hours lock the number
out of top-up for 24 hours) and for lost-SIM reports whose number and ID
number do not match (per reporting phone). A lock, once earned, is stored, so
it holds across restarts and channels; while locked, attempts are refused
without being checked and are not counted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.policy import AttemptLimit


@dataclass(frozen=True)
class AttemptState:
    attempts_left: int
    locked_until: datetime | None


def count_failures_since(now: datetime, last_lock_until: datetime | None, limit: AttemptLimit) -> datetime:
    """Failures before this moment no longer count (the window, or the last lock)."""
    start = now - limit.window
    if last_lock_until is not None and last_lock_until > start:
        return last_lock_until
    return start


def is_locked(last_lock_until: datetime | None, now: datetime) -> bool:
    return last_lock_until is not None and now < last_lock_until


def after_failure(failures_in_window: int, now: datetime, limit: AttemptLimit) -> AttemptState:
    """State after a failure; ``failures_in_window`` includes this one."""
    if failures_in_window >= limit.max_failures:
        return AttemptState(0, now + limit.lockout)
    return AttemptState(limit.max_failures - failures_in_window, None)
