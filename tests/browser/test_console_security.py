"""The console's security as a browser meets it: a new session id at sign-in, the cookie's flags, CSRF refused
without the token, the headers, no stack trace on an error page, and the sign-in done by keyboard alone.

Every page these tests open is also watched for Content-Security-Policy violations and script errors (the
``visitor`` fixture fails the test on one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from motcua.entrypoints.console.base import CONSOLE_POLICY
from tests.browser.conftest import OFFICER, Visitor, sign_in
from tests.browser.harness import PageWatch, Server, inline_code

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

pytestmark = pytest.mark.browser

SESSION = "motcua_session"
EXPECTED_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def _session(visitor: Visitor) -> dict[str, object]:
    found = [dict(cookie) for cookie in visitor.context.cookies() if cookie["name"] == SESSION]
    assert len(found) == 1, f"one session cookie expected, found {len(found)}"
    return found[0]


def test_signing_in_makes_a_new_session_whatever_the_browser_brought(visitor: Callable[..., Visitor]) -> None:
    person = visitor()
    planted = "fixated-by-an-attacker-0123456789"
    person.context.add_cookies([{"name": SESSION, "value": planted, "domain": "127.0.0.1", "path": "/console"}])
    sign_in(person, OFFICER)
    first = _session(person)
    assert first["value"] != planted
    assert first["httpOnly"] is True
    assert first["sameSite"] == "Strict"
    assert first["path"] == "/console"

    person.go("/console/sign-in")
    sign_in(person, OFFICER)
    assert _session(person)["value"] != first["value"], "a second sign-in keeps the first session's id"


def test_a_session_id_from_before_sign_in_does_not_open_the_desk(visitor: Callable[..., Visitor]) -> None:
    person = visitor()
    person.context.add_cookies([{"name": SESSION, "value": "guessed-session-id", "domain": "127.0.0.1",
                                 "path": "/console"}])
    person.go("/console/")
    assert "/console/sign-in" in person.page.url


def test_a_form_without_its_csrf_token_is_refused(visitor: Callable[..., Visitor]) -> None:
    person = visitor()
    sign_in(person, OFFICER)
    page = person.page
    form = page.locator("form[action='/console/sign-out']")
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_navigation(), page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        form.get_by_role("button", name="Đăng xuất").click()
    assert posted.value.status == 403
    assert "Biểu mẫu đã hết hạn hoặc không hợp lệ" in page.inner_text("main")

    forged = person.context.request.post(f"{person.base}/console/sign-out", form={"csrf_token": "not-the-token"},
                                         max_redirects=0)
    assert forged.status == 403
    assert person.go("/console/") == 200, "the refused sign-out must leave the session alive"
    assert "/console/sign-in" not in page.url


def test_every_answer_carries_the_browser_headers(visitor: Callable[..., Visitor]) -> None:
    person = visitor()
    for path in ("/console/sign-in", "/console/no-such-page"):
        answer = person.page.goto(person.base + path)
        assert answer is not None
        headers = answer.headers
        for name, value in EXPECTED_HEADERS.items():
            assert headers.get(name) == value, f"{path}: {name}"
        assert headers.get("referrer-policy") in {"same-origin", "no-referrer"}
        policy = headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy


def test_an_unknown_page_is_a_page_without_a_stack_trace(visitor: Callable[..., Visitor], console: Server) -> None:
    person = visitor()
    sign_in(person, OFFICER)
    assert person.go("/console/dossiers/NO-SUCH-CODE-000") == 404
    text = person.page.inner_text("body")
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "Traceback" not in console.printed()


def test_signing_in_by_keyboard_alone(visitor: Callable[..., Visitor]) -> None:
    person = visitor()
    person.go("/console/sign-in")
    page = person.page
    page.evaluate("document.activeElement && document.activeElement.blur()")  # start from the top, not autofocus
    for _ in range(20):  # Tab from the top of the page (past the skip link, the header's links) to the name field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == "name":
            break
    else:
        raise AssertionError("Tab never reached the name field")
    page.keyboard.type(OFFICER.name)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "password"
    page.keyboard.type(OFFICER.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{person.base}/console/")
    assert _session(person)["value"]


def test_the_watch_catches_what_the_policy_refuses(browser: Browser, console: Server) -> None:
    """The check every test relies on is not blind: a page under the console's policy with an inline script and an
    inline style is reported twice by the browser, and the probe finds both in its markup."""
    context = browser.new_context()
    try:
        page = context.new_page()
        watch = PageWatch()
        watch.attach(page)
        policy = {"Content-Security-Policy": CONSOLE_POLICY, "Content-Type": "text/html; charset=utf-8"}
        body = '<!doctype html><title>x</title><p style="color: red">x</p><script>document.title = "ran"</script>'
        page.route(f"{console.url}/probe", lambda route: route.fulfill(status=200, headers=policy, body=body))
        with page.expect_console_message(lambda message: "inline script" in message.text):  # the last one
            page.goto(f"{console.url}/probe")
        assert page.title() == "x", "the inline script ran: the policy was not applied"
        assert len(watch.csp_violations) == 2, watch.csp_violations
        assert sorted(inline_code(page)) == ["inline <script>", 'style="…" on <p>']
    finally:
        context.close()


def test_a_list_update_the_server_fails_says_so_in_vietnamese(visitor: Callable[..., Visitor]) -> None:
    """A filter of the dossier list is an htmx request: when the server (or the proxy before it) answers 5xx, or
    nothing, the page says so in Vietnamese — it swapped nothing, silently, before — and the next update that works
    takes the message away."""
    person = visitor()
    sign_in(person, OFFICER, next_path="/console/dossiers")
    page = person.page
    alert = page.locator("#update-error")
    assert alert.is_hidden()

    def failing(route: Route) -> None:
        if route.request.headers.get("hx-request") == "true":
            route.fulfill(status=502, body="Bad Gateway", headers={"Content-Type": "text/plain"})
        else:
            route.continue_()

    page.route("**/console/dossiers?*", failing)
    with page.expect_response(lambda answer: answer.status == 502):
        page.get_by_label("Phạm vi").select_option("all")
    alert.wait_for(state="visible")
    assert alert.get_attribute("role") == "alert"
    assert "Máy chủ gặp lỗi" in alert.inner_text() and "502" in alert.inner_text()

    page.unroute("**/console/dossiers?*")
    page.route("**/console/dossiers?*", lambda route: route.abort("connectionrefused"))
    page.get_by_label("Phạm vi").select_option("ended")
    page.wait_for_function("document.getElementById('update-error').textContent.includes('Không kết nối')")

    page.unroute("**/console/dossiers?*")
    with page.expect_response(lambda answer: answer.status == 200 and "scope=open" in answer.url):
        page.get_by_label("Phạm vi").select_option("open")
    alert.wait_for(state="hidden")
