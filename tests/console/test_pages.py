"""The console's pages, signing in with the form, and the CSRF check of its forms (real HTTP, both backends)."""

from __future__ import annotations

import re
from datetime import timedelta

from gateway.domain.channels import Channel
from tests.support.console import OPERATOR, POSTPAID, PREPAID, VIEWER, Console


async def sign_in(console: Console, token: str = OPERATOR, next_path: str = "/admin/") -> tuple[int, str, object]:
    return await console.page("/admin/login", token=None, method="POST", data={"token": token, "next": next_path})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


class TestSignIn:
    async def test_the_form_gives_a_strict_http_only_cookie(self, console: Console) -> None:
        """A good token: 303 to the page asked for, a session cookie (HttpOnly, SameSite=Strict, path /admin,
        not the token); then pages open with the cookie alone."""
        status, _, headers = await sign_in(console, next_path="/admin/disputes")
        assert (status, headers["Location"]) == (303, "/admin/disputes")
        cookie = headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie and OPERATOR not in cookie
        status, html, _ = await console.page("/admin/disputes", token=None)
        assert status == 200 and console.seeded.dispute in html and "Sign out" in html

    async def test_a_bad_token_is_refused(self, console: Console) -> None:
        """A token that is not ours: 401, the form again with the reason, and no cookie."""
        status, html, headers = await sign_in(console, "guess-guess-guess-guess")
        assert status == 401 and "not accepted" in html and "Set-Cookie" not in headers
        assert (await console.page("/admin/disputes", token=None))[0] == 303

    async def test_a_page_without_sign_in_goes_to_the_form(self, console: Console) -> None:
        """No token and no cookie: to the sign-in form, which comes back to the page asked for."""
        status, _, headers = await console.page("/admin/outbox?status=queued", token=None)
        assert status == 303 and headers["Location"].startswith("/admin/login?next=")
        status, html, _ = await console.page(headers["Location"], token=None)
        assert status == 200 and 'value="/admin/outbox?status=queued"' in html

    async def test_sign_in_goes_nowhere_but_the_console(self, console: Console) -> None:
        """A ``next`` pointing elsewhere is replaced by the console's front page."""
        for target in ("https://evil.example/", "//evil.example/admin", "/ussd"):
            _, _, headers = await sign_in(console, next_path=target)
            assert headers["Location"] == "/admin/", target

    async def test_sign_out_ends_the_session(self, console: Console) -> None:
        """After signing out the same cookie opens nothing."""
        await sign_in(console)
        _, html, _ = await console.page("/admin/", token=None)
        status, _, headers = await console.page("/admin/logout", token=None, method="POST",
                                                data={"csrf": csrf_of(html)})
        assert (status, headers["Location"]) == (303, "/admin/login")
        assert (await console.page("/admin/", token=None))[0] == 303

    async def test_a_session_ends_after_its_minutes(self, console: Console) -> None:
        """``[admin] session_minutes`` later the cookie is refused and the browser signs in again."""
        await sign_in(console)
        console.clock.advance(timedelta(minutes=console.gateway.settings.admin.session_minutes + 1))
        assert (await console.page("/admin/", token=None))[0] == 303


class TestForms:
    async def test_resolving_from_the_page_with_its_csrf_token(self, console: Console) -> None:
        """The form with its CSRF token resolves the dispute, queues the SMS and says so on the next page."""
        await sign_in(console)
        _, html, _ = await console.page("/admin/disputes?open=1", token=None)
        status, _, headers = await console.page(
            f"/admin/disputes/{console.seeded.dispute}/resolve", token=None, method="POST",
            data={"outcome": "rejected", "note": "", "csrf": csrf_of(html)})
        assert (status, headers["Location"]) == (303, "/admin/disputes?open=1")
        _, after, _ = await console.page("/admin/disputes?open=1", token=None)
        assert f"{console.seeded.dispute} rejected" in after and "told by SMS" in after
        assert any(m["kind"] == "notification" for m in console.queued_to(POSTPAID))

    async def test_a_form_without_or_with_a_wrong_csrf_token_is_refused(self, console: Console) -> None:
        """A cookie-borne POST without the session's CSRF token, or with another: 403, nothing resolved."""
        await sign_in(console)
        path = f"/admin/complaints/{console.seeded.complaint}/close"
        for data in ({"note": "ok"}, {"note": "ok", "csrf": "forged-forged-forged"}):
            status, html, _ = await console.page(path, token=None, method="POST", data=data)
            assert status == 403 and "CSRF" in html, data
        _, queue = await console.api("/complaints?open=1")
        assert len(queue["complaints"]) == 1

    async def test_the_api_with_the_cookie_needs_the_csrf_header(self, console: Console) -> None:
        """A JSON POST made with the cookie (a script on the page) needs ``X-CSRF-Token``."""
        await sign_in(console)
        _, html, _ = await console.page("/admin/complaints", token=None)
        path = f"/complaints/{console.seeded.complaint}/close"
        assert (await console.api(path, token=None, method="POST", json={"note": "ok"}))[0] == 403
        status, body = await console.api(path, token=None, method="POST", json={"note": "Fixed."},
                                         headers={"X-CSRF-Token": csrf_of(html)})
        assert (status, body["status"]) == (200, "closed")

    async def test_a_refused_form_shows_the_reason(self, console: Console) -> None:
        """Bad input from the page: 400, the reason on a page linking back to the queue."""
        await sign_in(console)
        _, html, _ = await console.page("/admin/disputes", token=None)
        status, page, _ = await console.page(
            f"/admin/disputes/{console.seeded.dispute}/resolve", token=None, method="POST",
            data={"outcome": "upheld", "credit": "99999", "csrf": csrf_of(html)})
        assert status == 400 and "more than the disputed" in page and 'href="/admin/disputes"' in page


class TestWhatEachRoleSees:
    async def test_the_viewer_has_no_buttons_and_masked_numbers(self, console: Console) -> None:
        """Signed in as the viewer: the queues show no form and no whole number."""
        await sign_in(console, VIEWER)
        for path in ("/admin/disputes", "/admin/complaints", f"/admin/subscribers/{POSTPAID}", "/admin/outbox"):
            status, html, _ = await console.page(path, token=None)
            assert status == 200, path
            assert "<form method=\"post\" action=\"/admin/disputes" not in html
            assert "/close\"" not in html and POSTPAID not in html and PREPAID not in html, path
            assert "977******4567" in html or path == "/admin/outbox", path

    async def test_the_operator_sees_the_actions(self, console: Console) -> None:
        """The operator's queue pages carry the resolve and close forms."""
        _, html, _ = await console.page("/admin/disputes")
        assert f'action="/admin/disputes/{console.seeded.dispute}/resolve"' in html
        _, html, _ = await console.page("/admin/complaints")
        assert f'action="/admin/complaints/{console.seeded.complaint}/close"' in html


class TestPages:
    async def test_every_page_answers_html_with_its_data(self, console: Console) -> None:
        """Each page shows what its API gives: the line, a message, the campaign, the stock, the trail."""
        message = console.queued_to(PREPAID)[0]["id"]
        for path, expected in (("/admin/", "Open disputes"), (f"/admin/subscribers/{PREPAID}", "Rs 150.00"),
                               ("/admin/subscribers?msisdn=", "Look up"), ("/admin/outbox", "Dashain offer"),
                               (f"/admin/outbox/{message}", "Parts and receipts"),
                               ("/admin/campaigns", "Dashain offer"),
                               (f"/admin/campaigns/{console.seeded.campaign}", "opted out or not a subscriber"),
                               ("/admin/vouchers", "december"), ("/admin/actions", "Nothing done")):
            status, html, headers = await console.page(path)
            assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/html"), path
            assert expected in html, path
            assert headers["Content-Security-Policy"].startswith("default-src 'self'")

    async def test_a_typed_number_goes_to_its_line(self, console: Console) -> None:
        """The lookup form's number, in any form, goes to the line's page; a bad one is 400 with the reason."""
        status, _, headers = await console.page("/admin/subscribers?msisdn=980-123-4568")
        assert (status, headers["Location"]) == (303, f"/admin/subscribers/{PREPAID}")
        status, html, _ = await console.page("/admin/subscribers?msisdn=hello")
        assert status == 400 and "not a phone number" in html

    async def test_text_from_subscribers_is_shown_as_text(self, console: Console) -> None:
        """A complaint written as markup is escaped on the page, never run."""
        console.services.file_complaint(PREPAID, '<script>alert("x")</script> & <b>bold</b>', Channel.SMS)
        _, html, _ = await console.page("/admin/complaints")
        assert "<script>alert" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html

    async def test_a_message_waiting_for_its_receipt_reloads_itself(self, console: Console) -> None:
        """Until its receipt the message page reloads; once delivered it stays still."""
        [message] = [m for m in console.queued_to(PREPAID) if m["kind"] == "notification"]
        _, waiting, _ = await console.page(f"/admin/outbox/{message['id']}")
        assert 'http-equiv="refresh"' in waiting
        console.deliver(message["id"], "R-1")
        _, settled, _ = await console.page(f"/admin/outbox/{message['id']}")
        assert 'http-equiv="refresh"' not in settled and "DELIVRD" in settled and "R-1" in settled

    async def test_the_stylesheet_ships_in_the_package(self, console: Console) -> None:
        """The page's one stylesheet is served without sign-in; another name is 404."""
        status, css, headers = await console.page("/admin/static/console.css", token=None)
        assert status == 200 and headers["Content-Type"].startswith("text/css") and "@media" in css
        assert (await console.page("/admin/static/openapi.json", token=None))[0] == 404
