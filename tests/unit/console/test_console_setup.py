"""The console's first run: the setup code ``motcua serve`` prints (never logs), ``/console/setup`` making the first
user (an operator of every unit) and signing them in, the page gone once a user exists, wrong codes refused and
locked out, the form's CSRF token, two setups at once making one user."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path

import httpx2
import pytest
import structlog
from fastapi.testclient import TestClient

from motcua.adapters.backends import open_backend
from motcua.adapters.logging import configure_logging
from motcua.adapters.users import SignInPolicy, new_user, session_key
from motcua.entrypoints.console.base import CONSOLE_POLICY, Console
from motcua.entrypoints.console.first_run import (
    NO_TERMINAL_IN_MEMORY_MESSAGE,
    NO_TERMINAL_MESSAGE,
    FirstRun,
    SetupCheck,
    announce,
    refuse_with_workers,
    setup_address,
)
from motcua.entrypoints.http.serve import ServeOptions, _no_setup_with_workers, _offer_setup
from tests.unit.console.console_a import PASSWORD, START, Site, session_of

_BANNER = re.compile(r"^Mã thiết lập bảng điều khiển: ((?:[A-Z2-7]{4}-){7}[A-Z2-7]{4})  — mở "
                     r"http://127\.0\.0\.1:8000/console/setup$")
SETUP_TOKEN = re.compile(r'name="setup_token" value="([^"]+)"')
WRONG = "Mã thiết lập không đúng"
pytestmark = pytest.mark.usefixtures("cheap_hashing")


def console_of(office: Site) -> Console:
    console = office.app.state.console
    assert isinstance(console, Console)
    return console


class Terminal(io.StringIO):
    """What a server's terminal shows: standard error when it is a terminal."""

    def isatty(self) -> bool:
        return True


def opened(office: Site) -> str:
    """Open the setup as ``motcua serve`` does; the code it printed."""
    out = Terminal()
    assert announce(console_of(office).first_run, office.users, setup_address("127.0.0.1", 8000), out)
    found = _BANNER.match(out.getvalue().rstrip("\n"))
    assert found is not None, out.getvalue()
    return found[1]


def set_up(client: TestClient, code: str, *, name: str = "quan-tri", password: str = PASSWORD,
           again: str | None = None) -> httpx2.Response:
    form = client.get("/console/setup")
    assert form.status_code == 200
    token = SETUP_TOKEN.search(form.text)
    assert token is not None
    return client.post("/console/setup", data={"code": code, "name": name, "password": password,
                                               "again": password if again is None else again,
                                               "setup_token": token[1]})


def test_serve_prints_one_code_on_stderr_only_when_there_is_no_user(office: Site, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # standard error is the server's terminal
    options = ServeOptions("memory://")
    _offer_setup(office.app, options)
    printed = capsys.readouterr()
    assert printed.out == ""
    [line] = printed.err.splitlines()
    found = _BANNER.match(line)
    assert found is not None and len(found[1].replace("-", "")) == 32  # 160 bits in base32
    assert console_of(office).first_run.is_open

    office.add_user("lan", ["officer"])
    _offer_setup(office.app, options)  # a restart on a database with a user: no code
    assert capsys.readouterr().err == ""
    assert not console_of(office).first_run.is_open


def test_every_code_is_new_and_only_its_hash_is_kept() -> None:
    first_run = FirstRun()
    codes = [first_run.open() for _ in range(3)]
    assert len(set(codes)) == 3
    kept = repr([getattr(first_run, name) for name in FirstRun.__dataclass_fields__]).upper()
    assert all(code.replace("-", "") not in kept and code not in kept for code in codes)
    policy = SignInPolicy()
    assert first_run.check(codes[0], START, policy) is SetupCheck.WRONG  # the one before is void
    assert first_run.check(codes[-1].lower().replace("-", " "), START, policy) is SetupCheck.ACCEPTED  # as typed
    first_run.close()
    assert first_run.check(codes[-1], START, policy) is SetupCheck.CLOSED


def test_setup_makes_the_first_operator_signs_them_in_then_is_gone(office: Site) -> None:
    code = opened(office)
    browser = office.anonymous()
    brought = "a-session-id-the-browser-brought"
    browser.cookies.set("motcua_session", brought, domain="testserver.local", path="/console")
    done = set_up(browser, code)
    assert done.status_code == 303 and done.headers["location"] == "/console/"
    [user] = office.users.users()
    assert (user.name, user.roles, user.units, user.province) == ("quan-tri", ("operator",), None, None)
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    session_id = session_of(browser)
    assert session_id not in {None, brought}
    session = office.users.session(session_key(session_id or ""))
    assert session is not None and session.user == "quan-tri"

    desk = browser.get("/console/")
    assert desk.status_code == 200 and "quan-tri" in desk.text
    assert browser.get(f"/console/dossiers/{office.codes['cam_open']}").status_code == 200  # every unit
    assert browser.get("/console/operations").status_code == 200
    assert not console_of(office).first_run.is_open
    for client in (browser, office.anonymous()):
        assert client.get("/console/setup").status_code == 404
        again = client.post("/console/setup", data={"code": code, "name": "khac", "password": PASSWORD,
                                                    "again": PASSWORD, "setup_token": "x"})
        assert again.status_code == 404
    assert [user.name for user in office.users.users()] == ["quan-tri"]


def test_a_wrong_code_is_refused_in_words_counted_and_locks_the_page(office: Site) -> None:
    code = opened(office)
    browser = office.anonymous()
    policy = SignInPolicy()
    for _ in range(policy.max_failures - 1):
        wrong = set_up(browser, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
        assert wrong.status_code == 401 and WRONG in wrong.text
    locked = set_up(browser, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
    assert locked.status_code == 429 and "tạm khóa" in locked.text
    assert set_up(browser, code).status_code == 429  # the right code waits out the lock too
    assert not office.users.has_users()
    office.clock.advance(policy.lock_for)
    assert set_up(browser, code).status_code == 303


def test_the_name_and_the_password_have_the_bounds_of_user_create(office: Site) -> None:
    code = opened(office)
    browser = office.anonymous()
    cases = [("quan tri", PASSWORD, None, "Tên đăng nhập gồm"), ("quan-tri", "ngắn", None, "Mật khẩu có từ 10"),
             ("quan-tri", PASSWORD, PASSWORD + "x", "Hai lần nhập mật khẩu không giống nhau")]
    for name, password, again, words in cases:
        refused = set_up(browser, code, name=name, password=password, again=again)
        assert refused.status_code == 422 and words in refused.text
    assert not office.users.has_users() and console_of(office).first_run.is_open  # not counted as wrong codes
    too_long = set_up(browser, code, password="x" * 257)
    assert too_long.status_code == 400 and not office.users.has_users()


def test_the_form_is_refused_without_its_token(office: Site) -> None:
    code = opened(office)
    form = office.anonymous().get("/console/setup")
    assert form.headers["content-security-policy"] == CONSOLE_POLICY and form.headers["x-frame-options"] == "DENY"
    cookie = form.headers["set-cookie"]
    assert "motcua_setup=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    fields = {"code": code, "name": "quan-tri", "password": PASSWORD, "again": PASSWORD}
    assert office.anonymous().post("/console/setup", data=fields).status_code == 403
    forged = office.anonymous().post("/console/setup", data={**fields, "setup_token": "guessed"})
    assert forged.status_code == 403 and "hết hạn" in forged.text
    browser = office.anonymous()
    browser.get("/console/setup")  # the cookie is set; the form field is another's
    assert browser.post("/console/setup", data={**fields, "setup_token": "guessed"}).status_code == 403
    assert not office.users.has_users() and console_of(office).first_run.is_open


def test_a_user_made_by_the_command_meanwhile_voids_the_code(office: Site) -> None:
    code = opened(office)
    browser = office.anonymous()
    form = browser.get("/console/setup")
    office.add_user("lan", ["officer"])  # `motcua user create` on the same database
    token = SETUP_TOKEN.search(form.text)
    assert token is not None
    late = browser.post("/console/setup", data={"code": code, "name": "quan-tri", "password": PASSWORD,
                                                "again": PASSWORD, "setup_token": token[1]})
    assert late.status_code == 404 and not console_of(office).first_run.is_open
    assert [user.name for user in office.users.users()] == ["lan"]


def test_without_a_code_there_is_no_page_and_sign_in_names_the_command(office: Site) -> None:
    browser = office.anonymous()
    assert browser.get("/console/setup").status_code == 404
    page = browser.get("/console/sign-in").text
    assert "motcua user create --name TÊN --role operator --all-units" in page and 'href="/console/setup"' not in page
    opened(office)
    page = browser.get("/console/sign-in").text
    assert 'href="/console/setup"' in page and "mã thiết lập" in page
    office.add_user("lan", ["officer"])
    page = browser.get("/console/sign-in").text
    assert "Chưa có tài khoản nào" not in page


def test_two_setups_at_once_make_one_user(office: Site) -> None:
    code = opened(office)
    browsers = [office.anonymous() for _ in range(2)]
    tokens = []
    for browser in browsers:
        found = SETUP_TOKEN.search(browser.get("/console/setup").text)
        assert found is not None
        tokens.append(found[1])
    start = threading.Barrier(2)
    answers: dict[str, int] = {}

    def post(index: int) -> None:
        start.wait()
        answer = browsers[index].post("/console/setup", data={
            "code": code, "name": f"nguoi-{index}", "password": PASSWORD, "again": PASSWORD,
            "setup_token": tokens[index]})
        answers[f"nguoi-{index}"] = answer.status_code

    threads = [threading.Thread(target=post, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [user] = office.users.users()
    assert answers[user.name] == 303 and sorted(answers.values()) == [303, 404]


def test_the_setup_form_posted_twice_lands_on_the_console_not_a_404(office: Site) -> None:
    """A double click on the setup form: the second post of the same form (its token, its cookie) is sent to the
    console — the desk, signed in by the first post's session, else the sign-in form — not to a 404 page; a post of
    another form stays a 404 once the user is made."""
    code = opened(office)
    browser = office.anonymous()
    token = SETUP_TOKEN.search(browser.get("/console/setup").text)
    assert token is not None
    fields = {"code": code, "name": "quan-tri", "password": PASSWORD, "again": PASSWORD, "setup_token": token[1]}
    cookie = browser.cookies.get("motcua_setup", path="/console/setup")
    assert cookie is not None
    first = browser.post("/console/setup", data=fields)
    assert first.status_code == 303
    # the second click was sent before the first answer came (the form's cookie with it): the browser kept the first
    # answer's session, or not (it went on to the second post's answer)
    browser.cookies.set("motcua_setup", cookie, domain="testserver.local", path="/console/setup")
    without_session = office.anonymous()
    without_session.cookies.set("motcua_setup", cookie, domain="testserver.local", path="/console/setup")
    for again in (browser.post("/console/setup", data=fields), without_session.post("/console/setup", data=fields)):
        assert again.status_code == 303 and again.headers["location"] == "/console/", again.text
    assert browser.get("/console/").status_code == 200  # signed in by the first post
    assert without_session.get("/console/").headers["location"].startswith("/console/sign-in")
    assert [user.name for user in office.users.users()] == ["quan-tri"]
    other = office.anonymous()
    other.cookies.set("motcua_setup", "another-form", domain="testserver.local", path="/console/setup")
    assert other.post("/console/setup", data={**fields, "setup_token": "another-form"}).status_code == 404


def test_a_double_click_at_once_makes_one_user_and_both_posts_land_on_the_console(office: Site) -> None:
    """The two posts of one form run at once: one makes the user, the other waits for it and is sent on."""
    code = opened(office)
    browser = office.anonymous()
    token = SETUP_TOKEN.search(browser.get("/console/setup").text)
    cookie = browser.cookies.get("motcua_setup", path="/console/setup")
    assert token is not None and cookie is not None
    clicks = [office.anonymous() for _ in range(2)]
    for click in clicks:
        click.cookies.set("motcua_setup", cookie, domain="testserver.local", path="/console/setup")
    start = threading.Barrier(2)
    answers: list[httpx2.Response] = []

    def post(client: TestClient) -> None:
        start.wait()
        answers.append(client.post("/console/setup", data={
            "code": code, "name": "quan-tri", "password": PASSWORD, "again": PASSWORD, "setup_token": token[1]}))

    threads = [threading.Thread(target=post, args=(click,)) for click in clicks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [303, 303]
    assert {answer.headers["location"] for answer in answers} == {"/console/"}
    assert [user.name for user in office.users.users()] == ["quan-tri"]


def test_with_workers_the_server_says_to_use_user_create(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    _no_setup_with_workers(url)
    said = capsys.readouterr().err
    assert "--workers" in said and "motcua user create --name TÊN --role operator --all-units" in said
    assert "Mã thiết lập" not in said
    backend = open_backend(url)
    try:
        assert backend.users.add_user(new_user("lan", PASSWORD, ["operator"], START))
        assert not refuse_with_workers(backend.users)
    finally:
        backend.close()
    _no_setup_with_workers(url)
    assert capsys.readouterr().err == ""


@contextmanager
def _logging_into(buffer: io.StringIO) -> Iterator[None]:
    """motcua's logging (JSON lines, every level) into ``buffer``, as ``motcua serve`` configures it; restored."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        with redirect_stderr(buffer):
            configure_logging(json=True, level=logging.DEBUG)
            yield
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_the_code_never_reaches_a_log_line(office: Site) -> None:
    buffer = Terminal()  # a terminal showing the log lines as JSON (MOTCUA_LOG_JSON=1) and the code
    with _logging_into(buffer):
        _offer_setup(office.app, ServeOptions("memory://"))  # the banner goes to the same stderr as the logs
        code = _BANNER.match(buffer.getvalue().splitlines()[0])
        assert code is not None
        browser = office.anonymous()
        assert set_up(browser, code[1][::-1]).status_code == 401
        assert set_up(browser, code[1].lower()).status_code == 303
        assert browser.get("/console/setup").status_code == 404
    lines = buffer.getvalue().splitlines()
    assert len(lines) > 2 and _BANNER.match(lines[0])
    logged = [json.loads(line) for line in lines[1:]]  # every other line is a log line (JSON)
    assert {"console.setup.refused", "console.setup.done"} <= {entry["event"] for entry in logged}
    text = "\n".join(lines[1:]).upper()
    for secret in (code[1], code[1].replace("-", ""), PASSWORD.upper()):
        assert secret.upper() not in text



def test_no_code_is_made_when_standard_error_is_not_a_terminal(office: Site) -> None:
    buffer = io.StringIO()  # a file, a pipe to a log shipper, a container's log: where the JSON log lines go too
    with _logging_into(buffer):
        _offer_setup(office.app, ServeOptions("sqlite:///motcua.db"))  # a database that keeps its users
        assert office.anonymous().get("/console/setup").status_code == 404
    said = buffer.getvalue()
    assert said.splitlines()[0] == NO_TERMINAL_MESSAGE and "motcua user create --name TÊN" in said
    assert not _BANNER.search(said) and not console_of(office).first_run.is_open


def test_in_memory_without_a_terminal_the_server_says_only_a_terminal_opens_the_console(
    office: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    _offer_setup(office.app, ServeOptions("memory://"))  # captured: standard error is not a terminal
    said = capsys.readouterr().err
    assert said.splitlines() == [NO_TERMINAL_IN_MEMORY_MESSAGE] and "motcua user create --name" not in said
    assert not console_of(office).first_run.is_open
