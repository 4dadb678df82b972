"""Signing in and out of the console: sessions, CSRF, lock-out, headers, error pages, and the users' commands."""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from motcua.adapters.keys import key_roles
from motcua.adapters.users import (
    CONSOLE_ROLES,
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
