"""The operator profiles as data: smart-np (004_1cabed6f540fdada.txt) beside smart-kh (000_...)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.domain.money import Money
from gateway.domain.policy import DepositRule, ExpiryLifecycle, InactivityLifecycle, LatePenalty
from gateway.profile import PROFILES_DIR, load_profile


def test_smart_np_number_plan_currency_zone_and_languages():
    """977 ten-digit mobiles written 98XXXXXXXX or +97798XXXXXXXX, NPR with paisa, Kathmandu, en + ne."""
    np = load_profile("smart-np")
    assert np.number_plan.normalise("9801234567") == "9779801234567"
    assert np.number_plan.normalise("+977 980-1234567") == "9779801234567"
    assert np.number_plan.national("9779801234567") == "9801234567"
    assert Money(123450, np.currency).display() == "Rs 1,234.50"
    assert str(np.time_zone) == "Asia/Kathmandu"
    assert np.languages == ("en", "ne")


def test_a_ten_digit_national_number_starting_like_the_country_code_is_national():
    """Without a trunk prefix, 10 digits are a national number even when they begin 977."""
    np = load_profile("smart-np")
    assert np.number_plan.normalise("9771234567") == "9779771234567"


def test_004_clause_7_4_and_7_7_postpaid_terms_are_profile_data():
    """Due 15 days after issue (7.4); dues above 95% of the deposit give notice (7.7); no late fee."""
    postpaid = load_profile("smart-np").policy.postpaid
    assert postpaid is not None and postpaid.due_days == 15
    assert postpaid.deposit_rule == DepositRule(95, timedelta(days=7))
    assert postpaid.late_penalty is None
    assert postpaid.reminder_days == (3, 1)


def test_004_clause_3b12_inactivity_life_cycle_is_chosen_by_data():
    """smart-np's lines age by inactivity (6 months, reissue within 180 days), smart-kh's by expiry."""
    np, kh = load_profile("smart-np").policy, load_profile("smart-kh").policy
    assert isinstance(np.lifecycle, InactivityLifecycle)
    assert (np.lifecycle.inactive_months, np.lifecycle.reissue_window) == (6, timedelta(days=180))
    assert kh.lifecycle == ExpiryLifecycle(timedelta(days=60), timedelta(days=30))


def test_000_pay_for_the_services_late_penalty_is_smart_kh_data():
    """1% a month on an overdue amount: 100 basis points; smart-kh has no deposit rule."""
    postpaid = load_profile("smart-kh").policy.postpaid
    assert postpaid is not None
    assert postpaid.late_penalty == LatePenalty(100) and postpaid.deposit_rule is None


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = (PROFILES_DIR / "smart-np.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "variant.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_profile_without_a_postpaid_table_has_no_postpaid_lines(tmp_path):
    """No [postpaid] table: policy.postpaid is None (the menus then offer no Bill)."""
    text = (PROFILES_DIR / "smart-np.toml").read_text(encoding="utf-8")
    path = tmp_path / "prepaid-only.toml"
    path.write_text(text[: text.index("[postpaid]")], encoding="utf-8")
    profile = load_profile(str(path))
    assert profile.policy.postpaid is None and not profile.has_postpaid


@pytest.mark.parametrize("old,new,message", [
    ('kind = "inactivity"', 'kind = "forever"', "lifecycle.kind"),
    ("deposit_notice_days = 7", "", "go together"),
    ("inactive_months = 6", "inactive_months = 6\noutgoing_barred_days = 60", "unknown key"),
    ('reissue_fee = "100.00"', 'reissue_fee = "1.234"', "reissue_fee"),
    ("ussd_resume_seconds = 120", "ussd_resume_seconds = 7200", "ussd_resume_seconds: at most 3600"),
    ("ussd_resume_seconds = 120", "ussd_resume_seconds = -1", "ussd_resume_seconds: must not be negative"),
    ("ussd_resume_seconds = 120\n", "", "ussd_resume_seconds: missing"),
])
def test_a_malformed_profile_is_refused_naming_the_key(tmp_path, old, new, message):
    """Unknown life-cycle kinds, half a deposit rule, keys of the other kind, bad amounts: refused."""
    with pytest.raises(ConfigError, match=message):
        load_profile(str(_variant(tmp_path, old, new)))


def test_both_profiles_offer_a_dialogue_back_for_two_minutes():
    """``ussd_resume_seconds``: the operator's choice (no clause), 120 s on both; 0 would turn it off."""
    assert load_profile("smart-kh").ussd_resume_seconds == load_profile("smart-np").ussd_resume_seconds == 120
