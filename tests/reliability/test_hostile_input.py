"""Hostile and broken requests to ``POST /ussd`` of a real ``serve``: never a 500, never a change."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.audit import audit, money_state
from tests.support.seed import Seed, seed
from tests.support.servers import Server, profile_with

FIELDS = ["sessionId", "serviceCode", "phoneNumber", "text", "networkCode"]
CODES = ["*100#", "*124#", "*123#", "*1204#", "*123*1234567890#", "*100*1*2#", "*#", "**#", "*999#"]
NASTY = ["' OR 1=1 --", "1'; DROP TABLE vouchers; --", "\x00", "%00", "\r\nX-Injected: 1", "\u202e\u0000",
         "*" * 200, "0" * 256, "98*98*98*98", "00*0*00", "១២៣", "\udcff".encode("utf-8", "surrogatepass").decode(
             "utf-8", "replace")]

values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(NASTY + CODES),
    st.lists(st.text(alphabet="0123456789*#", max_size=12), max_size=400).map("*".join),
    st.integers(0, 10**22).map(str),
)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Seed]]:
    tmp: Path = tmp_path_factory.mktemp("hostile")
    data = seed(tmp / "gateway.db", subscribers=3, vouchers=3)
    server = Server(tmp, GATEWAY_OPERATOR_PROFILE=profile_with(tmp, 0))
    server.start()
    before = money_state(server.db)
    yield server, data
    assert server.proc is not None and server.proc.poll() is None, "serve died"
    assert money_state(server.db) == before  # no valid PIN was ever sent
    assert server.terminate() == 0
    audit(server.db)
    assert "Traceback" not in server.log.read_text()


def check(status: int, body: str) -> None:
    assert status == 200 and (body.startswith("CON ") or body.startswith("END ")) or 400 <= status < 500, (
        status, body)


def phone(data: Seed) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(data.numbers + ["+" + data.numbers[0], "0" + data.numbers[1][3:]]), values)


class TestHostileForms:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def test_random_forms_get_a_screen_or_a_4xx(self, target, data) -> None:
        """Random Unicode, control characters, SQL, hundreds of ``*`` segments: a screen or a 4xx, never a 500."""
        server, seeded = target
        form = {
            "sessionId": data.draw(st.one_of(st.sampled_from(["s1", "s2"]), values)),
            "serviceCode": data.draw(st.one_of(st.sampled_from(CODES), values)),
            "phoneNumber": data.draw(phone(seeded)),
            "text": data.draw(values),
        }
        drop = data.draw(st.sets(st.sampled_from(FIELDS)))
        pairs = [(k, v) for k, v in form.items() if k not in drop]
        pairs += data.draw(st.lists(st.tuples(st.sampled_from(FIELDS + ["x"]), values), max_size=3))
        body = urllib.parse.urlencode(pairs).encode()
        check(*server.raw("POST", "/ussd", body, {"Content-Type": "application/x-www-form-urlencoded"}))

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=st.binary(max_size=600), content_type=st.sampled_from([
        "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
        "application/json", "text/plain", "multipart/form-data; boundary=xyz", "multipart/form-data",
        "application/x-www-form-urlencoded; charset=nonsense", ""]))
    def test_raw_bodies_and_wrong_content_types(self, target, body: bytes, content_type: str) -> None:
        """Bytes that are not UTF-8, JSON, broken multipart or no content type at all: a 4xx, never a 500."""
        server, _ = target
        headers = {"Content-Type": content_type} if content_type else {}
        check(*server.raw("POST", "/ussd", body, headers))

    @pytest.mark.parametrize("body, content_type", [
        (b"sessionId=a&serviceCode=%2A124%23&phoneNumber=%FF%FE&text=", "application/x-www-form-urlencoded"),
        (b"sessionId=\xff\xfe&serviceCode=*124#&phoneNumber=1&text=", "application/x-www-form-urlencoded"),
        (b'{"sessionId": "a"}', "application/json"),
        (b"--xyz\r\nContent-Disposition: form-data; name=\"text\"; filename=\"a\"\r\n\r\n1\r\n--xyz--\r\n",
         "multipart/form-data; boundary=xyz"),
        (b"--xyz\r\nContent-Disposition: form-data; name=\"sessionId\"\r\n\r\n\xff\r\n--xyz--\r\n",
         "multipart/form-data; boundary=xyz"),
        (b"sessionId=a&serviceCode=*124#&phoneNumber=012345678&text=" + b"1*" * 3000,
         "application/x-www-form-urlencoded"),
    ])
    def test_known_awkward_bodies(self, target, body: bytes, content_type: str) -> None:
        """Undecodable percent-escapes, raw non-UTF-8 bytes, file parts and oversized bodies are refused with a 4xx."""
        server, _ = target
        check(*server.raw("POST", "/ussd", body, {"Content-Type": content_type}))

    def test_other_methods_and_paths(self, target) -> None:
        """GET /ussd, PUT, and unknown paths are 4xx."""
        server, _ = target
        for method, path in (("GET", "/ussd"), ("PUT", "/ussd"), ("POST", "/../../etc/passwd"), ("POST", "/%00")):
            status, _ = server.raw(method, path, b"", {})
            assert 400 <= status < 500, (method, path, status)
