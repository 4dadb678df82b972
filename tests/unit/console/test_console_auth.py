"""Signing in and out of the console: sessions, CSRF, lock-out, headers, error pages, and the users' commands."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from motcua.adapters import users
from motcua.adapters.keys import key_roles
from motcua.adapters.users import (
    CONSOLE_ROLES,
    VERIFYING_AT_ONCE,
    Passwords,
    SignInPolicy,
    new_user,
    policy_from_settings,
    session_key,
    sign_in,
)
from motcua.entrypoints.cli.main import app as cli
from motcua.entrypoints.console import desk
from motcua.entrypoints.console.app import mount_console
from motcua.entrypoints.console.base import CONSOLE_POLICY, SESSION_COOKIE, Console, safe_next
from motcua.entrypoints.console.throttle import AddressThrottle, address_key
from motcua.entrypoints.http.serve import built_app
from motcua.workflow.errors import InvalidInput, StorageUnavailable
from tests.unit.console.console_a import (
    AN_THUONG,
    PASSWORD,
    START,
    Site,
    csrf_of,
    plant,
    session_of,
)

A_ROUTES = ("/console/", "/console/dossiers", "/console/dossiers/LOCAL-HD-AN-THUONG-250602-0001",
            "/console/dossiers/LOCAL-HD-AN-THUONG-250602-0001/control-sheet.xlsx")
REFUSED = "Tên đăng nhập hoặc mật khẩu không đúng"
pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _session_cookie(answer: object) -> str:
    header = ";".join(value for name, value in answer.headers.multi_items()  # type: ignore[attr-defined]
                      if name == "set-cookie" and value.startswith(f"{SESSION_COOKIE}="))
    assert header, "the answer sets the session cookie"
    return header


def test_every_page_sends_a_browser_without_a_session_to_sign_in(office: Site) -> None:
    browser = office.anonymous()
    for route in A_ROUTES:
        answer = browser.get(route)
        assert answer.status_code == 303, route
        assert answer.headers["location"].startswith("/console/sign-in?next=%2Fconsole%2F")
        assert answer.headers["content-security-policy"] == CONSOLE_POLICY


def test_an_htmx_request_without_a_session_sends_the_whole_page_to_sign_in(office: Site) -> None:
    """htmx follows a 303 inside its request (the list's results were swapped for the sign-in page's: none)."""
    answer = office.anonymous().get("/console/dossiers?state=received", headers={"HX-Request": "true"})
    assert answer.status_code == 204
    assert answer.headers["hx-redirect"] == "/console/sign-in?next=%2Fconsole%2Fdossiers%3Fstate%3Dreceived"
    assert answer.headers["content-security-policy"] == CONSOLE_POLICY


def test_signing_in_makes_a_new_http_only_session_and_goes_back_to_the_page(office: Site) -> None:
    office.add_user("lan", ["officer"])
    browser = office.anonymous()
    plant(browser, "chosen-by-an-attacker")

    answer = office.sign_in(browser, "lan", next_url="/console/dossiers?state=received")

    assert answer.status_code == 303 and answer.headers["location"] == "/console/dossiers?state=received"
    cookie = _session_cookie(answer)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    session_id = session_of(browser)
    assert session_id != "chosen-by-an-attacker" and len(session_id) >= 40
    assert office.users.session(session_key("chosen-by-an-attacker")) is None
    assert browser.get("/console/").status_code == 200


def test_a_second_sign_in_replaces_the_session_the_browser_had(office: Site) -> None:
    office.add_user("lan", ["officer"])
    browser = office.anonymous()
    office.sign_in(browser, "lan")
    first = session_of(browser)

    office.sign_in(browser, "lan")

    assert session_of(browser) != first
    assert office.users.session(session_key(first)) is None  # fixation: the old id is worth nothing now


def test_the_cookie_is_secure_over_https(office: Site) -> None:
    office.add_user("lan", ["officer"])
    answer = office.sign_in(office.anonymous(https=True), "lan")
    assert "Secure" in _session_cookie(answer)


def test_a_wrong_password_and_an_unknown_name_are_refused_alike(office: Site) -> None:
    office.add_user("lan", ["officer"])
    wrong = office.sign_in(office.anonymous(), "lan", "not-the-password")
    unknown = office.sign_in(office.anonymous(), "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert REFUSED in wrong.text and REFUSED in unknown.text
    assert SESSION_COOKIE not in wrong.cookies and SESSION_COOKIE not in unknown.cookies


def test_repeated_failures_lock_the_user_out_for_a_while(office: Site) -> None:
    office.add_user("lan", ["officer"])
    browser = office.anonymous()
    for _ in range(SignInPolicy().max_failures):
        assert office.sign_in(browser, "lan", "wrong-password!").status_code == 401

    locked = office.sign_in(browser, "lan")  # the right password, locked out: refused the same way
    assert locked.status_code == 401 and REFUSED in locked.text
    office.clock.advance(SignInPolicy().lock_for + timedelta(seconds=1))

    assert office.sign_in(browser, "lan").status_code == 303
    assert office.users.user("lan").failures == 0


def test_a_success_resets_the_count_of_failures(office: Site) -> None:
    office.add_user("lan", ["officer"])
    policy = SignInPolicy(max_failures=3)
    store, now = office.users, office.clock.now()
    assert sign_in(store, "lan", "wrong-password!", now, policy) is None
    assert sign_in(store, "lan", "wrong-password!", now, policy) is None
    assert sign_in(store, "lan", PASSWORD, now, policy) is not None
    assert sign_in(store, "lan", "wrong-password!", now, policy) is None
    assert store.user("lan").locked_until is None and store.user("lan").failures == 1


def test_the_sign_in_form_refuses_a_post_without_its_token(office: Site) -> None:
    office.add_user("lan", ["officer"])
    answer = office.anonymous().post("/console/sign-in", data={"name": "lan", "password": PASSWORD})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.cookies


def test_sign_in_never_sends_the_browser_to_another_site(office: Site) -> None:
    office.add_user("lan", ["officer"])
    for target in ("https://evil.example/", "//evil.example/", "/console/\\evil", "/elsewhere", "/console/ x"):
        answer = office.sign_in(office.anonymous(), "lan", next_url=target)
        assert answer.headers["location"] == "/console/", target
    assert safe_next("/console/dossiers?state=received") == "/console/dossiers?state=received"


def test_signing_out_needs_the_csrf_token_and_ends_the_session(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    token = csrf_of(browser.get("/console/").text)
    session_id = session_of(browser)

    assert browser.post("/console/sign-out").status_code == 403
    assert browser.post("/console/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert browser.get("/console/").status_code == 200  # still signed in

    answer = browser.post("/console/sign-out", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    assert office.users.session(session_key(session_id)) is None
    plant(browser, session_id)  # a copy of the old cookie opens nothing
    assert browser.get("/console/").status_code == 303


def test_an_expired_session_signs_the_user_out(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    office.clock.advance(timedelta(hours=8, seconds=1))
    assert browser.get("/console/").status_code == 303


def test_a_form_posted_after_the_session_expired_goes_back_to_its_page_after_signing_in(office: Site) -> None:
    """Signing in never lands on the address a form was posted to (a GET there is a 405 page: the sign-out, an
    action of a dossier): the browser goes back to the page the form was on, or to the desk."""
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    code = office.codes["an_open"]
    page = f"http://testserver/console/dossiers/{code}?at=2025-06-02T10%3A00"
    token = csrf_of(browser.get(f"/console/dossiers/{code}").text)
    office.clock.advance(timedelta(hours=8, seconds=1))
    fired = browser.post(f"/console/dossiers/{code}/fire", data={"csrf_token": token, "trigger": "assign"},
                         headers={"referer": page})
    assert fired.status_code == 303
    back = quote(page.removeprefix("http://testserver"), safe="")
    assert fired.headers["location"] == f"/console/sign-in?next={back}"
    for referer in (None, "https://elsewhere.example/console/dossiers", "http://testserver/api/dossiers"):
        headers = {} if referer is None else {"referer": referer}
        out = browser.post("/console/sign-out", data={"csrf_token": token}, headers=headers)
        assert out.status_code == 303 and out.headers["location"] == "/console/sign-in?next=%2Fconsole%2F", referer


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(office: Site) -> None:
    office.add_user("lan", ["officer"])
    browser = office.anonymous()
    office.sign_in(browser, "lan")
    assert office.users.disable("lan", office.clock.now())
    assert browser.get("/console/").status_code == 303
    assert office.sign_in(office.anonymous(), "lan").status_code == 401


def test_console_pages_carry_the_security_headers_and_no_inline_script_or_style(office: Site) -> None:
    browser = office.browser("lan", ["officer", "leader"], units=[AN_THUONG])
    pages = [browser.get(route) for route in A_ROUTES[:3]] + [office.anonymous().get("/console/sign-in")]
    for page in pages:
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == CONSOLE_POLICY
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "same-origin"
        assert page.headers["cache-control"] == "no-store"
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None
        assert " style=" not in page.text and "<style" not in page.text
        assert re.search(r"\son[a-z]+=", page.text) is None


def test_the_api_keeps_its_own_stricter_policy(office: Site) -> None:
    answer = office.anonymous().get("/healthz")
    assert "form-action 'none'" in answer.headers["content-security-policy"]
    assert office.anonymous().get("/nowhere").headers["content-type"] == "application/problem+json"


def test_the_root_goes_to_the_console_and_static_files_are_served(office: Site) -> None:
    browser = office.anonymous()
    assert browser.get("/").headers["location"] == "/console/"
    assert browser.get("/console/static/htmx.min.js").status_code == 200
    assert browser.get("/console/static/console.css").headers["content-type"].startswith("text/css")


def test_an_unknown_console_address_is_a_page_without_a_trace(office: Site) -> None:
    answer = office.browser("lan", ["officer"], units=[AN_THUONG]).get("/console/no-such-page")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CONSOLE_POLICY


def test_a_failure_is_a_page_without_a_stack_trace(office: Site, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(desk, "tally", broken)
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    with caplog.at_level(logging.ERROR, logger="motcua.console"):
        answer = browser.get("/console/")
    assert answer.status_code == 500 and "Hệ thống gặp lỗi" in answer.text
    assert "Traceback" not in answer.text and "secret detail" not in answer.text and "RuntimeError" not in answer.text
    assert answer.headers["content-security-policy"] == CONSOLE_POLICY
    assert any(record.exc_info for record in caplog.records)  # logged for the operator, not shown


def test_the_password_is_never_stored_nor_logged(office: Site, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        user = office.add_user("lan", ["officer"])
        office.sign_in(office.anonymous(), "lan")
        office.sign_in(office.anonymous(), "lan", "a-wrong-password")
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert PASSWORD not in caplog.text and "a-wrong-password" not in caplog.text


def test_user_commands_create_list_and_disable(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'users.db'}"
    runner = CliRunner()
    created = runner.invoke(cli, ["user", "create", "--name", "lan", "--role", "officer", "--unit", AN_THUONG,
                                  "--db", db], input=f"{PASSWORD}\n")
    assert created.exit_code == 0, created.output
    assert "lan (officer), units LOCAL-HD-AN-THUONG" in created.output and PASSWORD not in created.output
    operator = runner.invoke(cli, ["user", "create", "--name", "ops", "--role", "operator", "--role", "auditor",
                                   "--all-units", "--db", db], input=f"{PASSWORD}\n")
    assert operator.exit_code == 0, operator.output
    home = runner.invoke(cli, ["user", "create", "--name", "desk", "--role", "officer", "--unit", "000.00.00.H23",
                               "--db", db], input=f"{PASSWORD}\n")
    assert home.exit_code == 0, home.output  # the home unit of a desk without a register (the demo's)
    again = runner.invoke(cli, ["user", "create", "--name", "lan", "--role", "officer", "--unit", AN_THUONG,
                                "--db", db], input=f"{PASSWORD}\n")
    assert again.exit_code == 2 and "already a user" in again.output

    listed = runner.invoke(cli, ["user", "list", "--db", db])
    assert "lan" in listed.output and "ops" in listed.output and "every unit" in listed.output
    assert runner.invoke(cli, ["user", "disable", "lan", "--db", db]).exit_code == 0
    assert runner.invoke(cli, ["user", "disable", "lan", "--db", db]).exit_code == 2

    with sqlite3.connect(tmp_path / "users.db") as connection:
        rows = connection.execute("SELECT name, password_hash, disabled_at FROM console_user ORDER BY name").fetchall()
    assert [row[0] for row in rows] == ["desk", "lan", "ops"] and rows[1][2] is not None
    assert all(row[1].startswith("$argon2id$") for row in rows)
    assert PASSWORD.encode() not in (tmp_path / "users.db").read_bytes()


@pytest.mark.parametrize(("arguments", "message"), [
    (["--role", "officer"], "give exactly one of"),
    (["--role", "officer", "--unit", AN_THUONG, "--all-units"], "give exactly one of"),
    (["--role", "system", "--all-units"], "system"),
    (["--role", "applicant", "--all-units"], "applicant"),
    (["--role", "superadmin", "--all-units"], "unknown role"),
    (["--role", "officer", "--unit", "LOCAL-NOWHERE"], "unknown unit"),
])
def test_user_create_refuses_a_bad_grant(tmp_path: Path, arguments: list[str], message: str) -> None:
    answer = CliRunner().invoke(cli, ["user", "create", "--name", "lan", *arguments, "--db",
                                      f"sqlite:///{tmp_path / 'u.db'}"], input=f"{PASSWORD}\n")
    assert answer.exit_code == 2 and message in answer.output


def test_user_create_refuses_a_short_password(tmp_path: Path) -> None:
    answer = CliRunner().invoke(cli, ["user", "create", "--name", "lan", "--role", "officer", "--all-units", "--db",
                                      f"sqlite:///{tmp_path / 'u.db'}"], input="short\n")
    assert answer.exit_code == 2 and "password" in answer.output and "short" not in answer.output


def test_console_roles_are_known_to_no_workflow_and_names_are_shaped() -> None:
    assert not set(CONSOLE_ROLES) & key_roles()
    for name in ("x y", "", "a" * 65, "<script>"):
        with pytest.raises(InvalidInput):
            new_user(name, PASSWORD, ["officer"], START)
    assert new_user("nguyen_van.an@xa-1", PASSWORD, ["officer"], START).name == "nguyen_van.an@xa-1"


def test_the_sign_in_policy_is_read_from_the_settings() -> None:
    assert policy_from_settings({}) == SignInPolicy()
    chosen = policy_from_settings({"MOTCUA_CONSOLE_MAX_FAILURES": "3", "MOTCUA_CONSOLE_LOCK_MINUTES": "60",
                                   "MOTCUA_CONSOLE_SESSION_HOURS": "1", "MOTCUA_CONSOLE_SECURE_COOKIE": "always",
                                   "MOTCUA_CONSOLE_ADDRESS_FAILURES": "50"})
    assert chosen == SignInPolicy(3, timedelta(minutes=60), timedelta(hours=1), secure_cookie=True,
                                  address_failures=50)
    for name, value in (("MOTCUA_CONSOLE_MAX_FAILURES", "0"), ("MOTCUA_CONSOLE_LOCK_MINUTES", "ten"),
                        ("MOTCUA_CONSOLE_SECURE_COOKIE", "yes"), ("MOTCUA_CONSOLE_ADDRESS_FAILURES", "-1")):
        with pytest.raises(InvalidInput) as refused:
            policy_from_settings({name: value})
        assert refused.value.field == name


def test_a_secure_cookie_setting_marks_it_over_plain_http_too(office: Site) -> None:
    office.add_user("lan", ["officer"])
    console = Console(office.motcua, office.users, office.clock, SignInPolicy(secure_cookie=True))
    app = FastAPI()
    mount_console(app, console)
    form = TestClient(app, follow_redirects=False).get("/console/sign-in")
    cookie = form.headers["set-cookie"]
    assert cookie.startswith("motcua_signin=") and "Secure" in cookie  # over plain HTTP: the setting decides


def test_an_unreachable_database_is_a_503_page(office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*_: object) -> None:
        raise StorageUnavailable("connection refused by 10.0.0.5")

    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    monkeypatch.setattr(desk, "tally", unavailable)
    answer = browser.get("/console/")
    assert answer.status_code == 503 and "thử lại" in answer.text and "10.0.0.5" not in answer.text


def test_the_server_motcua_serve_builds_serves_the_console() -> None:
    with built_app("memory://") as (app, _, _), TestClient(app, follow_redirects=False) as browser:
        assert browser.get("/").headers["location"] == "/console/"
        page = browser.get("/console/sign-in")
        assert page.status_code == 200 and "Đăng nhập" in page.text
        assert page.headers["content-security-policy"] == CONSOLE_POLICY


# -- the per-address throttle --------------------------------------------------------------------------------------


def _from(office: Site, host: str) -> TestClient:
    return TestClient(office.app, follow_redirects=False, client=(host, 50000))


def test_one_address_guessing_at_many_names_is_throttled_not_the_others(office: Site, caplog: pytest.LogCaptureFixture,
                                                                        ) -> None:
    """Password spraying: one guess at each of many users locks none of them out; the address is stopped instead,
    the password not even checked — and an office at another address signs in as usual."""
    limit = SignInPolicy().address_failures
    for number in range(limit + 1):
        office.add_user(f"user{number}", ["officer"])
    sprayer = _from(office, "203.0.113.7")
    with caplog.at_level(logging.INFO):
        for number in range(limit):
            assert office.sign_in(sprayer, f"user{number}", "Mat-khau-pho-bien-1").status_code == 401
        stopped = office.sign_in(sprayer, f"user{limit}")  # the right password: refused all the same
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) == 15 * 60
    assert "quá nhiều lần đăng nhập không thành công từ địa chỉ này" in stopped.text
    assert "Hãy thử lại sau 15 phút" in stopped.text and SESSION_COOKIE not in stopped.cookies
    assert office.users.user(f"user{limit}").failures == 0  # not counted at the user: its password was not checked
    assert all(office.users.user(f"user{number}").failures == 1 for number in range(limit))
    assert "203.0.113.7" not in caplog.text  # an address is personal data: never logged
    assert office.sign_in(_from(office, "198.51.100.20"), f"user{limit}").status_code == 303
    office.clock.advance(SignInPolicy().lock_for)
    assert office.sign_in(sprayer, f"user{limit}").status_code == 303  # the window has ended


def test_an_ipv6_client_is_counted_by_its_64_network() -> None:
    throttle = AddressThrottle(limit=2)
    now = START
    throttle.failed("2001:db8:1:2::10", now)
    throttle.failed("2001:db8:1:2:ffff::99", now)  # another address of the same /64
    assert throttle.wait("2001:db8:1:2::abcd", now) == throttle.window
    assert throttle.wait("2001:db8:1:3::10", now) is None  # the next /64
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1" == address_key("192.0.2.1")
    assert address_key(None) == address_key("") == ""


def test_an_ipv6_address_carrying_an_ipv4_one_is_counted_by_that_ipv4_address() -> None:
    """6to4 gives the holder of one IPv4 address a /48 (65,536 networks /64: 65,536 times the limit); Teredo and the
    NAT64 prefix put many IPv4 clients in one /64 (one of them would throttle all). Each is its IPv4 address."""
    assert address_key("2002:c000:201:1::1") == address_key("2002:c000:201:ffff::2") == "192.0.2.1"
    assert address_key("2001:0:4136:e378:8000:63bf:3fff:fdd2") == "192.0.2.45"  # Teredo: the client, not its server
    assert address_key("2001:0:4136:e378:8000:63bf:3fff:fdd3") == "192.0.2.44"
    assert address_key("64:ff9b::192.0.2.7") == "192.0.2.7" != address_key("64:ff9b::192.0.2.8")


def test_a_success_does_not_clear_the_address_count(office: Site) -> None:
    """An account of the attacker's own, signed into now and then, must not reset the count; the limit is the
    policy's (MOTCUA_CONSOLE_ADDRESS_FAILURES), the window its lock-out's."""
    office.add_user("own", ["officer"])
    console = Console(office.motcua, office.users, office.clock, SignInPolicy(address_failures=3))
    assert console.throttle.limit == 3 and console.throttle.window == SignInPolicy().lock_for
    app = FastAPI()
    mount_console(app, console)
    client = TestClient(app, follow_redirects=False, client=("192.0.2.9", 50000))
    for _ in range(2):
        assert office.sign_in(client, "own", "wrong-password!").status_code == 401
    assert office.sign_in(client, "own").status_code == 303  # a success in between …
    assert office.sign_in(client, "nobody", "wrong-password!").status_code == 401
    assert office.sign_in(client, "own").status_code == 429  # … did not reset the count: three failures


def test_sign_ins_sent_at_once_from_one_address_are_checked_no_more_than_its_limit(office: Site) -> None:
    """The server verifies on a thread pool: guesses that all arrive before the first is answered must not all pass
    the throttle (each counted only once refused let a flood through, the limit checked against failures written
    later); each is counted before its password is checked, as the per-user lock-out counts."""
    console = Console(office.motcua, office.users, office.clock, SignInPolicy(address_failures=3))
    app = FastAPI()
    mount_console(app, console)
    browsers = [TestClient(app, follow_redirects=False, client=("192.0.2.50", 50000 + n)) for n in range(10)]
    forms = [browser.get("/console/sign-in") for browser in browsers]
    tokens = [re.search(r'name="signin_token" value="([^"]+)"', form.text)[1] for form in forms]  # type: ignore[index]
    answers: list[int] = []

    def guess(browser: TestClient, token: str, number: int) -> None:
        answers.append(browser.post("/console/sign-in", data={
            "name": f"user{number}", "password": "Mat-khau-pho-bien-1", "signin_token": token}).status_code)

    with ExitStack() as held:
        for _ in range(VERIFYING_AT_ONCE):  # every turn to verify taken: the guesses wait, all in flight
            held.enter_context(users.PASSWORDS.turn())
        threads = [threading.Thread(target=guess, args=(browser, token, n))
                   for n, (browser, token) in enumerate(zip(browsers, tokens, strict=True))]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == [401] * 3 + [429] * 7


def test_a_sign_in_answered_busy_is_not_counted_at_its_address(office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """No turn to verify the password came: no guess was made, so its count is taken back."""
    monkeypatch.setattr(users, "PASSWORDS", Passwords(PasswordHasher.from_parameters(CHEAPEST), wait=0.1))
    office.add_user("lan", ["officer"])
    console = Console(office.motcua, office.users, office.clock, SignInPolicy(address_failures=1))
    app = FastAPI()
    mount_console(app, console)
    client = TestClient(app, follow_redirects=False, client=("192.0.2.60", 50000))
    with ExitStack() as held:
        for _ in range(VERIFYING_AT_ONCE):
            held.enter_context(users.PASSWORDS.turn())
        assert office.sign_in(client, "lan", "wrong-password!").status_code == 503
    assert office.sign_in(client, "lan").status_code == 303  # the busy answer was not its one failure


def test_the_throttle_forgets_the_least_recently_failed_address_past_its_capacity() -> None:
    throttle = AddressThrottle(limit=1, capacity=2)
    for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        throttle.failed(host, START)
    assert throttle.wait("192.0.2.1", START) is None  # forgotten
    assert throttle.wait("192.0.2.2", START) is not None and throttle.wait("192.0.2.3", START) is not None
