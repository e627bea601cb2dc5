"""Phone numbers are stored as E.164 digits without '+'."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.errors import InvalidMsisdn
from gateway.domain.msisdn import NumberPlan, mask

KH = NumberPlan("855", "0", (8, 9))


@pytest.mark.parametrize(
    "text", ["+85512345678", "85512345678", "012345678", "0085512345678", "+855 12-345-678", "12345678"])
def test_spellings_normalise_to_one_number(text):
    """International, bare and national spellings all name the same subscriber."""
    assert KH.normalise(text) == "85512345678"


@pytest.mark.parametrize("text", ["", "0123", "+1 202 555 0100", "85512a45678", "+", "0"*30, "٠١٢٣٤٥٦٧٨"])
def test_refuses_other_things(text):
    """Short, foreign, lettered or non-ASCII numbers are refused with InvalidMsisdn."""
    with pytest.raises(InvalidMsisdn):
        KH.normalise(text)


@given(st.text(max_size=40))
def test_normalise_returns_digits_or_raises(text):
    """Any input either becomes a well-formed number of this country or is refused."""
    try:
        result = KH.normalise(text)
    except InvalidMsisdn:
        return
    assert result.isdigit() and result.startswith("855") and len(result) - 3 in (8, 9)


def test_mask_keeps_only_country_code_and_last_digits():
    """Logs show 855*****678, never the whole number."""
    assert mask("85512345678") == "855*****678"
    assert KH.national("85512345678") == "012345678"
