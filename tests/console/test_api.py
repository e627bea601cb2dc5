"""The console's JSON API over real HTTP on loopback, on both backends (``tests.support.console``)."""

from __future__ import annotations

import json
import re

import aiohttp
from aiohttp import web

from gateway.app import build_console, build_gateway
from gateway.domain.channels import Channel
from tests.support.backends import rows
from tests.support.console import OPERATOR, POSTPAID, PREPAID, STRANGER, VIEWER, Console, settings_for


def _numbers_in(body: object) -> set[str]:
    """Every whole phone number of the seeded lines found anywhere in ``body``."""
    text = json.dumps(body)
    return {n for n in (POSTPAID, PREPAID, STRANGER, POSTPAID[3:], PREPAID[3:]) if n in text}


class TestLookup:
    async def test_a_line_with_its_balances_ledger_consent_and_lost_reports(self, console: Console) -> None:
        """A number in national form finds the line: state, balances with expiry, the ledger newest first,
        every consent change with its channel and time, and the lost report with when it was resolved."""
        status, line = await console.api("/subscribers/9801234568")
        assert status == 200, line
        assert (line["msisdn"], line["state"], line["type"]) == (PREPAID, "active", "prepaid")
        assert line["balances"]["main"]["display"] == "Rs 150.00"
        assert line["balances"]["main"]["expires_at"].endswith("+05:45")
        assert [(e["kind"], e["delta"]["minor"]) for e in line["ledger"]] == [("topup", 100_00), ("opening", 50_00)]
        assert [(c["opt_in"], c["channel"]) for c in line["consent"]] == [(True, "ussd"), (False, "sms")]
        assert all(c["at"].endswith("+05:45") for c in line["consent"])
        [report] = line["lost_reports"]
        assert report["reference"] == console.seeded.lost_reference
        assert report["resolved_at"] is not None and line["lost"] is None
        assert [m["kind"] for m in line["messages"]] == ["marketing", "notification"]

    async def test_a_postpaid_line_shows_its_bills_and_cases(self, console: Console) -> None:
        """The postpaid line shows its deposit, the disputed bill, and its dispute and complaint."""
        status, line = await console.api(f"/subscribers/+{POSTPAID}")
        assert status == 200, line
        postpaid = line["postpaid"]
        assert postpaid["deposit"]["display"] == "Rs 5,000.00"
        [bill] = postpaid["bills"]
        assert (bill["amount"]["display"], bill["disputed"], bill["paid"]) == ("Rs 1,234.50", True, False)
        assert [d["reference"] for d in line["disputes"]] == [console.seeded.dispute]
        assert [c["reference"] for c in line["complaints"]] == [console.seeded.complaint]

    async def test_the_ledger_pages_back(self, console: Console) -> None:
        """``ledger_limit`` cuts the ledger; ``ledger_next`` names where the older entries begin."""
        _, first = await console.api(f"/subscribers/{PREPAID}?ledger_limit=1")
        assert [e["kind"] for e in first["ledger"]] == ["topup"] and first["ledger_next"] is not None
        _, older = await console.api(f"/subscribers/{PREPAID}?ledger_limit=1&ledger_before={first['ledger_next']}")
        assert [e["kind"] for e in older["ledger"]] == ["opening"]

    async def test_unknown_and_malformed_numbers(self, console: Console) -> None:
        """A number nobody has: 404; something that is no number of this operator: 400; both with a reason."""
        status, body = await console.api("/subscribers/9801111111")
        assert status == 404 and "unknown number" in body["error"]
        status, body = await console.api("/subscribers/12ab")
        assert status == 400 and "not a phone number" in body["error"]


class TestOutbox:
    async def test_filter_by_number_state_and_kind(self, console: Console) -> None:
        """Each filter narrows the list; together they find the one message."""
        _, everything = await console.api("/outbox")
        assert len(everything["messages"]) == 4
        _, mine = await console.api("/outbox?msisdn=9801234568")
        assert {m["destination"] for m in mine["messages"]} == {PREPAID}
        _, skipped = await console.api("/outbox?status=skipped")
        assert {(m["destination"], m["error"]) for m in skipped["messages"]} == {
            (POSTPAID, "opted out"), (STRANGER, "not a subscriber")}
        _, one = await console.api("/outbox?msisdn=9801234568&kind=notification&status=queued")
        assert [m["text"][:24] for m in one["messages"]] == ["You received a top-up of"]
        assert one["filter"] == {"msisdn": PREPAID, "status": "queued", "kind": "notification", "campaign_id": None}

    async def test_pages_newest_first(self, console: Console) -> None:
        """``limit`` and ``before`` walk the outbox newest first without repeating a message."""
        _, first = await console.api("/outbox?limit=3")
        _, rest = await console.api(f"/outbox?limit=3&before={first['next']}")
        ids = [m["id"] for m in first["messages"] + rest["messages"]]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4 and rest["next"] is None

    async def test_bad_filters_are_refused_with_the_reason(self, console: Console) -> None:
        """An unknown state or kind, a malformed number, id or limit: 400 naming what is wrong."""
        for query, reason in (("status=sent", "status: one of"), ("kind=spam", "kind: one of"),
                              ("msisdn=xyz", "not a phone number"), ("before=ten", "before: a whole number"),
                              ("limit=0", "limit: from 1 to 200")):
            status, body = await console.api(f"/outbox?{query}")
            assert (status, reason in body["error"]) == (400, True), (query, body)
        assert (await console.api("/outbox/abc"))[0] == 400
        assert (await console.api("/outbox/999999"))[0] == 404

    async def test_a_message_is_followed_to_its_receipt(self, console: Console) -> None:
        """A queued SMS, then accepted by the SMSC and delivered: its page shows the SMSC message id, the
        receipt's stat and when it came."""
        [topup] = [m for m in console.queued_to(PREPAID) if m["kind"] == "notification"]
        status, before = await console.api(f"/outbox/{topup['id']}")
        assert (status, before["status"], before["parts"], before["receipt"]) == (200, "queued", [], None)
        console.deliver(topup["id"], "0A1B2C3D")
        _, after = await console.api(f"/outbox/{topup['id']}")
        assert after["status"] == "delivered" and after["smsc"].startswith("selfcare@")
        assert after["receipt"]["stat"] == "DELIVRD" and after["receipt"]["at"] > after["submitted_at"]
        assert [(p["part"], p["smsc_message_id"], p["receipt"]["stat"]) for p in after["parts"]] == [
            (1, "0A1B2C3D", "DELIVRD")]

    async def test_a_long_message_shows_each_part_and_its_receipt(self, console: Console) -> None:
        """A two-part message: one SMSC id and one receipt per part; one part undelivered fails the message."""
        [marketing] = [m for m in console.queued_to(PREPAID) if m["kind"] == "marketing"]
        console.deliver(marketing["id"], "P-1", "P-2", stat="UNDELIV")
        _, shown = await console.api(f"/outbox/{marketing['id']}")
        assert shown["status"] == "undeliverable"
        assert [(p["smsc_message_id"], p["status"], p["receipt"]["stat"]) for p in shown["parts"]] == [
            ("P-1", "undeliverable", "UNDELIV"), ("P-2", "undeliverable", "UNDELIV")]


class TestCampaigns:
    async def test_progress_from_queued_to_delivered(self, console: Console) -> None:
        """The campaign counts its skipped numbers at once, then its sent, delivered and rate as receipts come."""
        campaign = console.seeded.campaign
        _, queued = await console.api(f"/campaigns/{campaign}")
        assert (queued["total"], queued["queued"], queued["skipped"], queued["sent"]) == (3, 1, 2, 0)
        assert queued["delivery_rate"] is None
        [message] = [m for m in console.queued_to(PREPAID) if m["kind"] == "marketing"]
        console.deliver(message["id"], "C-1")
        _, done = await console.api(f"/campaigns/{campaign}")
        assert (done["queued"], done["sent"], done["delivered"], done["failed"], done["delivery_rate"]) == (
            0, 1, 1, 0, 1.0)
        _, listed = await console.api("/campaigns")
        assert [c["id"] for c in listed["campaigns"]] == [campaign]
        _, its = await console.api(f"/outbox?campaign={campaign}")
        assert {m["destination"] for m in its["messages"]} == {PREPAID, POSTPAID, STRANGER}


class TestDisputes:
    async def test_resolving_tells_the_subscriber_by_sms(self, console: Console) -> None:
        """Upheld with part of the amount credited: the same outcome as ``disputes resolve``, the final bill
        queued to the subscriber by SMS, and the action in the audit trail."""
        reference = console.seeded.dispute
        status, done = await console.api(f"/disputes/{reference.lower()}/resolve", method="POST",
                                         json={"outcome": "upheld", "credit": "234.50", "note": "Sorry"})
        assert status == 200, done
        assert (done["status"], done["credit"]["display"], done["final"]["display"], done["told"]) == (
            "upheld", "Rs 234.50", "Rs 1,000.00", True)
        [sms] = [m for m in console.queued_to(POSTPAID) if m["kind"] == "notification"]
        assert reference in sms["text"] and "Rs 1,000.00" in sms["text"] and "Sorry" in sms["text"]
        _, queue = await console.api("/disputes?open=true")
        assert queue == {"offered": True, "disputes": []}
        _, trail = await console.api("/actions")
        [action] = trail["actions"]
        assert (action["action"], action["target"], action["outcome"], action["role"]) == (
            "dispute_resolve", reference, "done", "operator")
        assert action["actor"].startswith("operator:tok-") and OPERATOR not in json.dumps(trail)

    async def test_the_same_checks_as_the_cli(self, console: Console) -> None:
        """A credit over the disputed amount or with a rejection, an unknown outcome or reference: refused
        with the reason, nothing changed; resolving twice: 409."""
        reference = console.seeded.dispute
        for body, status, reason in (
                ({"outcome": "upheld", "credit": "2000"}, 400, "more than the disputed"),
                ({"outcome": "rejected", "credit": "1"}, 400, "credit goes with upheld"),
                ({"outcome": "upheld", "credit": "1.234"}, 400, ""),
                ({"outcome": "maybe"}, 400, "outcome: 'upheld' or 'rejected'")):
            got, answer = await console.api(f"/disputes/{reference}/resolve", method="POST", json=body)
            assert (got, reason in answer["error"]) == (status, True), (body, answer)
        assert (await console.api("/disputes/DP-NONE-NONE/resolve", method="POST",
                                  json={"outcome": "rejected"}))[0] == 404
        _, queue = await console.api("/disputes?open=1")
        assert [d["reference"] for d in queue["disputes"]] == [reference]
        path = f"/disputes/{reference}/resolve"
        assert (await console.api(path, method="POST", json={"outcome": "rejected"}))[0] == 200
        status, body = await console.api(f"/disputes/{reference}/resolve", method="POST", json={"outcome": "rejected"})
        assert status == 409 and "already" in body["error"]
        _, trail = await console.api("/actions")
        assert [a["outcome"] for a in trail["actions"]].count("refused") == 6

    async def test_a_body_that_is_not_a_json_object(self, console: Console) -> None:
        """A body that is not JSON, or JSON that is not an object: 400."""
        async with console.http.post(f"{console.url}/admin/api/disputes/{console.seeded.dispute}/resolve",
                                     data=b"outcome=upheld", headers={"Authorization": f"Bearer {OPERATOR}"}) as r:
            assert r.status == 400 and "JSON object" in (await r.json())["error"]
        path = f"/disputes/{console.seeded.dispute}/resolve"
        assert (await console.api(path, method="POST", json=["upheld"]))[0] == 400


class TestComplaints:
    async def test_closing_answers_by_sms(self, console: Console) -> None:
        """The answer goes to the subscriber by SMS and the complaint is closed with it."""
        reference = console.seeded.complaint
        status, closed = await console.api(f"/complaints/{reference}/close", method="POST",
                                           json={"note": "A tower was repaired on Friday."})
        assert status == 200, closed
        assert (closed["status"], closed["note"]) == ("closed", "A tower was repaired on Friday.")
        [sms] = [m for m in console.queued_to(POSTPAID) if m["kind"] == "notification"]
        assert "A tower was repaired on Friday." in sms["text"]
        _, queue = await console.api("/complaints")
        assert [(c["reference"], c["status"]) for c in queue["complaints"]] == [(reference, "closed")]

    async def test_an_empty_answer_is_refused(self, console: Console) -> None:
        """No note: 400, the complaint stays open and nothing is sent."""
        status, body = await console.api(f"/complaints/{console.seeded.complaint}/close", method="POST",
                                         json={"note": "   "})
        assert status == 400 and "must not be empty" in body["error"]
        _, queue = await console.api("/complaints?open=yes")
        assert len(queue["complaints"]) == 1
        assert [m for m in console.queued_to(POSTPAID) if m["kind"] == "notification"] == []


class TestVouchers:
    async def test_counts_by_state_and_never_a_pin(self, console: Console) -> None:
        """Three vouchers of one batch: two active, one used; past their last day the active ones count as
        expired. No PIN, and no hash of one, is in the answer."""
        status, stock = await console.api("/vouchers")
        assert status == 200
        [batch] = stock["batches"]
        assert (batch["batch"], batch["amount"]["display"], batch["counts"], batch["total"]) == (
            "december", "Rs 100.00", {"active": 2, "used": 1, "expired": 0}, 3)
        text = json.dumps(stock)
        assert not any(pin in text for pin in console.seeded.pins)
        hashes = [r[0] for r in rows(console.gateway.store, "SELECT pin_hash FROM vouchers")]
        assert not any(h in text for h in hashes)


class TestViewer:
    async def test_every_number_is_masked(self, console: Console) -> None:
        """The viewer gets the same data with every number masked (``977******4568``), in fields and in text."""
        console.services.file_complaint(PREPAID, f"Call me back on {PREPAID[3:]} please", Channel.SMS)
        for path in ("/subscribers/9801234568", f"/subscribers/{POSTPAID}", "/outbox", "/disputes", "/complaints",
                     f"/outbox/{console.queued_to(PREPAID)[0]['id']}", "/"):
            status, body = await console.api(path, token=VIEWER)
            assert status == 200, (path, body)
            assert _numbers_in(body) == set(), (path, _numbers_in(body))
        _, line = await console.api("/subscribers/9801234568", token=VIEWER)
        assert line["msisdn"] == "977******4568" and line["lost_reports"][0]["reporter"] == "977******4568"
        _, complaints = await console.api("/complaints", token=VIEWER)
        assert "980***4568" in complaints["complaints"][-1]["text"]

    async def test_acting_is_refused(self, console: Console) -> None:
        """The viewer may not resolve or close: 403, the cases stay open, and the attempt is on the trail."""
        status, body = await console.api(f"/disputes/{console.seeded.dispute}/resolve", token=VIEWER,
                                         method="POST", json={"outcome": "rejected"})
        assert status == 403 and "viewer" in body["error"]
        status, _ = await console.api(f"/complaints/{console.seeded.complaint}/close", token=VIEWER,
                                      method="POST", json={"note": "no"})
        assert status == 403
        _, disputes = await console.api("/disputes?open=1")
        _, complaints = await console.api("/complaints?open=1")
        assert len(disputes["disputes"]) == len(complaints["complaints"]) == 1
        _, trail = await console.api("/actions", token=VIEWER)
        assert [(a["role"], a["outcome"]) for a in trail["actions"]] == [("viewer", "refused")] * 2

    async def test_the_session_says_which_role(self, console: Console) -> None:
        """``/admin/api/session`` names the role and the token by its id, never the token."""
        _, me = await console.api("/session", token=VIEWER)
        assert (me["role"], me["may_act"], me["numbers_masked"]) == ("viewer", False, True)
        assert re.fullmatch(r"viewer:tok-[0-9a-f]{8}", me["actor"])


class TestRefusedWithoutAToken:
    async def test_no_token_bad_token_or_scheme(self, console: Console) -> None:
        """No token, a wrong one, or another scheme: 401 with a reason and a Bearer challenge."""
        for headers in ({}, {"Authorization": "Bearer not-the-token-at-all-0000"},
                        {"Authorization": f"Basic {OPERATOR}"}, {"Authorization": "Bearer"}):
            async with console.http.get(f"{console.url}/admin/api/subscribers/{PREPAID}", headers=headers) as r:
                assert r.status == 401, headers
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
                assert "msisdn" not in await r.text()

    async def test_unknown_paths_reveal_nothing_before_sign_in(self, console: Console) -> None:
        """Without a token every path under /admin/api/ answers 401, known or not."""
        for path in ("/outbox", "/nothing-here", "/disputes/X/resolve"):
            assert (await console.api(path, token=None))[0] == 401


async def test_a_profile_without_disputes_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On smart-kh (no written requests) the queues answer ``offered: false`` instead of failing."""
    gateway = build_gateway(settings_for(tmp_path, "", profile="smart-kh"))
    app, close = build_console(gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {OPERATOR}"}) as http:
            base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin/api"
            async with http.get(f"{base}/disputes") as r:
                assert (r.status, await r.json()) == (200, {"offered": False, "disputes": []})
            async with http.post(f"{base}/disputes/DP-AAAA-AAAA/resolve", json={"outcome": "rejected"}) as r:
                assert r.status == 404 and "does not offer" in (await r.json())["error"]
    finally:
        await runner.cleanup()
        close()
        gateway.close()



class TestLogs:
    async def test_every_action_is_logged_with_who_and_never_a_token(self, console: Console) -> None:
        """An action, a refused one, a lookup and a refused token each log one line naming the role and the
        token by its id; no line holds a token, in any field."""
        from structlog.testing import capture_logs

        with capture_logs() as lines:
            await console.api(f"/complaints/{console.seeded.complaint}/close", method="POST", json={"note": "Done."})
            await console.api(f"/disputes/{console.seeded.dispute}/resolve", token=VIEWER, method="POST",
                              json={"outcome": "rejected"})
            await console.api(f"/subscribers/{PREPAID}", token=VIEWER)
            await console.api("/outbox", token="a-token-nobody-was-given")
        events = [(line["event"], line.get("role"), line.get("outcome")) for line in lines
                  if line["event"].startswith("console_")]
        assert events == [("console_action", "operator", "done"), ("console_action", "viewer", "refused"),
                          ("console_lookup", "viewer", None), ("console_refused", None, None)]
        actors = [line["actor"] for line in lines if "actor" in line]
        assert all(re.fullmatch(r"(operator|viewer):tok-[0-9a-f]{8}", actor) for actor in actors), actors
        text = json.dumps(lines, default=str)
        assert OPERATOR not in text and VIEWER not in text and "a-token-nobody-was-given" not in text
