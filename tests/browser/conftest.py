"""Fixtures of the browser tests: one ``motcua serve`` and one Chromium for the whole run (starting them is most of
the cost), a fresh browser context — its own cookies, like another person's browser — for every user a test signs
in, and the check that no page of the test broke the Content-Security-Policy or threw a script error.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from tests.browser.harness import PageWatch, Server, User, create_users, launch, motcua, require_browser, serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

THANH_DONG = "LOCAL-HP-THANH-DONG"  # a ward of Hải Phòng since 01/07/2025: the test unit
LE_CHAN = "LOCAL-HP-LE-CHAN"  # another ward: its staff must not see Thành Đông's dossiers

OFFICER = User("lan.nguyen", ("officer",), (THANH_DONG,))
SPECIALIST = User("hung.pham", ("specialist",), (THANH_DONG,))
LEADER = User("tuan.le", ("leader",), (THANH_DONG,))
SECOND_OFFICER = User("thu.do", ("officer",), (THANH_DONG,))
OTHER_UNIT_OFFICER = User("mai.tran", ("officer",), (LE_CHAN,))
OPERATOR = User("van.hanh", ("operator", "auditor"))
USERS = (OFFICER, SPECIALIST, LEADER, SECOND_OFFICER, OTHER_UNIT_OFFICER, OPERATOR)

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium() -> str:
    return require_browser()


@pytest.fixture(scope="session")
def console(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``motcua serve`` over a scratch SQLite database holding :data:`USERS` (made by ``motcua user create``)."""
    folder = tmp_path_factory.mktemp("console")
    db = f"sqlite:///{folder / 'console.db'}"
    create_users(db, USERS)
    with serving(db, folder / "serve.log") as server:
        yield server
    assert "Traceback" not in server.printed(), f"the server failed while the browser tests ran: {server.log}"


@pytest.fixture(scope="session")
def desk_software(console: Server) -> Callable[[str], str]:
    """Receives a direct dossier of Thành Đông through the HTTP API, as the one-stop software beside the console
    does (for the tests whose subject is not the reception); the new dossier's code."""
    key = motcua("apikey", "create", "--actor", "Phần mềm một cửa", "--role", "officer", "--unit", THANH_DONG,
                 "--db", console.db).strip()

    def receive(applicant: str) -> str:
        body = {"procedure": "1.004873", "channel": "direct", "applicant": {"name": applicant}}
        request = urllib.request.Request(f"{console.url}/dossiers", data=json.dumps(body).encode(), method="POST",
                                         headers={"X-API-Key": key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            code: str = json.load(answer)["code"]
            return code

    return receive


@pytest.fixture(scope="package")
def browser(chromium: str) -> Iterator[Browser]:
    """Playwright's sync API runs an asyncio loop in this thread while it is open: it is closed when the browser
    tests end (package scope), so that the tests after them may run their own loops (``asyncio.run``)."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - imported once require_browser found it

    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@dataclass
class Visitor:
    """A person at their own browser (a fresh context): ``page`` is their tab, ``watch`` what it reported."""

    context: BrowserContext
    page: Page
    watch: PageWatch
    base: str

    def go(self, path: str) -> int:
        """Open ``path`` of the console server; the HTTP status of the answer."""
        answer = self.page.goto(self.base + path)
        assert answer is not None
        return answer.status


@pytest.fixture
def visitor(browser: Browser, console: Server) -> Iterator[Callable[..., Visitor]]:
    """Opens a new browser context per call (``viewport=`` to change its size); each is checked and closed at the
    test's end: a CSP violation or an uncaught script error on any of its pages fails the test."""
    opened: list[Visitor] = []

    def open_visitor(viewport: ViewportSize | None = None) -> Visitor:
        context = browser.new_context(viewport=viewport or VIEWPORT, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        context.set_default_timeout(15_000)
        page = context.new_page()
        watch = PageWatch()
        watch.attach(page)
        opened.append(Visitor(context, page, watch, console.url))
        return opened[-1]

    yield open_visitor
    for each in opened:
        each.context.close()
    for each in opened:
        each.watch.assert_clean()


def sign_in(visitor: Visitor, user: User, *, next_path: str = "/console/") -> None:
    """Sign ``user`` in through the sign-in form, as a person does, and land on ``next_path``."""
    page = visitor.page
    visitor.go(f"/console/sign-in?next={quote(next_path, safe='')}")
    page.get_by_label("Tên đăng nhập").fill(user.name)
    page.get_by_label("Mật khẩu").fill(user.password)
    page.get_by_role("button", name="Đăng nhập").click()
    landing = f"{visitor.base}{next_path}".split("?")[0]
    page.wait_for_url(lambda url: url.split("?")[0] == landing)  # not the sign-in page's own address

