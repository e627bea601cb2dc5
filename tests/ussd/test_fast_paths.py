"""The shortcuts of the hot path say exactly what the general code says.

Each step of a dialogue parses a form, measures its screen and writes dates;
these pieces take a quicker route for the usual input (ASCII escapes, GSM
text, a known form type). A subscriber must not be able to tell: every
answer is compared with the general code's, on generated input.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.profile import load_profile
from gateway.ussd.africastalking import BadRequest, parse
from gateway.ussd.web import parse_form
from menus.paging import _GSM_BASIC, _GSM_EXTENSION, gsm_length
from menus.replies import Replies
from menus.texts import Catalog


def _septets_char_by_char(text: str) -> int | None:
    total = 0
    for ch in text:
        if ch in _GSM_BASIC:
            total += 1
        elif ch in _GSM_EXTENSION:
            total += 2
        else:
            return None
    return total


TEXT = st.text(st.sampled_from(sorted(_GSM_BASIC)[:40] + ["€", "[", "~", "ញ", "é", "\n", " ", "ü"]), max_size=60)


@given(TEXT)
def test_screen_length_is_counted_as_character_by_character(text: str) -> None:
    assert gsm_length(text) == _septets_char_by_char(text)


ESCAPED = st.lists(st.sampled_from(["%2A", "%2a", "%23", "%2B", "%20", "%7E", "%7F", "%80", "%E1%9E%89", "%C3%A9",
                                    "%", "%2", "%G1", "a", "1", "*", "+"]), max_size=12).map("".join)


@given(st.lists(st.tuples(ESCAPED, ESCAPED), max_size=5), st.sampled_from(["utf-8", "UTF-8", "latin-1", "ascii"]))
def test_escaped_fields_decode_as_parse_qsl_decodes_them(pairs: list[tuple[str, str]], charset: str) -> None:
    query = "&".join(f"{name}={value}" for name, value in pairs)
    expected = dict(parse_qsl(query, keep_blank_values=True, encoding=charset, errors="replace"))
    assert parse_form(query, charset) == expected


def test_a_khmer_answer_still_decodes() -> None:
    assert parse_form("text=1%2A" + quote("ញ")) == {"text": "1*ញ"}


@pytest.fixture(scope="module")
def replies() -> Replies:
    profile = load_profile("smart-kh")
    return Replies(Catalog.load(profile.languages), profile)


MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                       timezones=st.just(UTC))


@given(MOMENTS)
def test_dates_and_times_read_as_strftime_writes_them(replies: Replies, moment: datetime) -> None:
    local = moment.astimezone(replies.profile.time_zone)
    assert replies.date(moment) == local.strftime("%d/%m/%Y")
    assert replies.time(moment) == local.strftime("%H:%M %d/%m/%Y")


def test_no_date_is_a_dash(replies: Replies) -> None:
    assert (replies.date(None), replies.time(None)) == ("-", "-")
    # 17:05 on 23 December in Phnom Penh (UTC+7)
    assert replies.time(datetime(2026, 12, 23, 10, 5, tzinfo=UTC)) == "17:05 23/12/2026"
    assert replies.date(datetime(2026, 12, 31, 17, 0, tzinfo=UTC) + timedelta(minutes=1)) == "01/01/2027"


@pytest.mark.parametrize(("form", "reason"), [
    ({"serviceCode": "*1#", "phoneNumber": "1", "text": ""}, "sessionId: missing"),
    ({"sessionId": "s", "serviceCode": "*1#", "phoneNumber": "1"},
     "text: missing (send an empty text on the first request)"),
    ({"sessionId": "s" * 257, "serviceCode": "*1#", "phoneNumber": "1", "text": ""}, "sessionId: malformed"),
    ({"sessionId": " ", "serviceCode": "*1#", "phoneNumber": "1", "text": ""}, "sessionId: empty"),
    ({"sessionId": "s", "serviceCode": "*#", "phoneNumber": "1", "text": ""},
     "serviceCode: expected a code like *100#"),
    ({"sessionId": "s", "serviceCode": "*1**2#", "phoneNumber": "1", "text": ""},
     "serviceCode: expected a code like *100#"),
    ({"sessionId": "s", "serviceCode": "**#", "phoneNumber": "1", "text": ""},
     "serviceCode: expected a code like *100#"),
])
def test_a_bad_form_is_refused_naming_the_field(form: dict[str, str], reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(form)
    assert str(caught.value) == reason


def test_a_code_dialled_whole_puts_its_segments_first() -> None:
    request = parse({"sessionId": " s1 ", "serviceCode": "*123*4567#", "phoneNumber": "+855", "text": "1*2"})
    assert (request.session_id, request.service_code, request.answers, request.network_code) == (
        "s1", "*123#", ("4567", "1", "2"), "")
