"""The USSD form parser reads exactly what ``urllib.parse.parse_qsl`` reads."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

from hypothesis import given
from hypothesis import strategies as st

from gateway.ussd.web import parse_form

PIECES = st.sampled_from(["a", "=", "&", "%", "+", "*", "2A", "3D", "%2A", "%E2%82%AC", "%ZZ", "é", " ", "1",
                          "text", "sessionId"])


@given(st.lists(PIECES, max_size=25).map("".join), st.sampled_from(["utf-8", "latin-1"]))
def test_any_body_parses_as_parse_qsl_does(query: str, charset: str) -> None:
    expected = dict(parse_qsl(query, keep_blank_values=True, encoding=charset, errors="replace"))
    assert parse_form(query, charset) == expected


def test_an_aggregator_form() -> None:
    body = "sessionId=ATUid_1&serviceCode=%2A100%23&phoneNumber=%2B85512345678&text=1%2A2&networkCode="
    assert parse_form(body) == {"sessionId": "ATUid_1", "serviceCode": "*100#", "phoneNumber": "+85512345678",
                                "text": "1*2", "networkCode": ""}
    assert parse_form("text=" + quote("ញ", encoding="utf-8")) == {"text": "ញ"}
