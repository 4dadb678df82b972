"""The console's review on every backend (memory, an SQLite file, PostgreSQL): a control character in an address
or a sign-in name is refused alike everywhere (PostgreSQL refuses a NUL in a query: it once made a misleading
409), and guesses are counted by the SQL store as by the memory one."""

from __future__ import annotations

import re

from motcua.adapters.users import SignInPolicy, sign_in
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.engine.queries import CaseFilter
from tests.unit.console.console_a import AN_THUONG, PASSWORD, PROCEDURE, Site, csrf_of

_SIGN_IN = re.compile(r'name="signin_token" value="([^"]+)"')


def test_a_control_character_in_an_address_is_a_400_in_words_on_every_backend(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    for address in ("/console/dossiers?officer=a%00b", "/console/dossiers?q=%00", "/console/dossiers?after=a%00",
                    "/console/dossiers/a%00b", "/console/reports/bieu06?unit=%00", "/console/sign-in?next=%0a"):
        answer = browser.get(address)
        assert answer.status_code == 400 and "ký tự điều khiển" in answer.text, address


def test_a_sign_in_name_with_a_nul_is_refused_as_a_wrong_one_on_every_backend(office: Site) -> None:
    office.add_user("lan", ["officer"])
    browser = office.anonymous()
    token = _SIGN_IN.search(browser.get("/console/sign-in").text)
    assert token is not None
    answer = browser.post("/console/sign-in", data={"name": "lan\x00", "password": PASSWORD,
                                                    "signin_token": token[1]})
    assert answer.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng" in answer.text


def test_guesses_lock_the_user_out_on_every_backend(office: Site) -> None:
    office.add_user("lan", ["officer"])
    policy, now = SignInPolicy(max_failures=3), office.clock.now()
    for attempt in range(3):
        assert sign_in(office.users, "lan", f"đoán-sai-lần-{attempt}", now, policy) is None
    locked = office.users.user("lan")
    assert locked is not None and locked.locked(now) and locked.failures == 0
    assert sign_in(office.users, "lan", PASSWORD, now, policy) is None  # locked: even the right password


def test_a_reception_form_posted_twice_opens_one_dossier_on_every_backend(office: Site) -> None:
    """The form's key is claimed in the SQL idempotency records as in memory: the second post is sent to the first
    post's dossier."""
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    page = browser.get("/console/dossiers/new").text
    key = re.search(r'name="form_key" value="([^"]+)"', page)
    assert key is not None
    form = {"csrf_token": csrf_of(page), "form_key": key[1], "data.procedure": PROCEDURE,
            "data.channel": "direct", "data.applicant_name": "Lê Thị Hoa"}
    first = browser.post("/console/dossiers/new", data=form)
    again = browser.post("/console/dossiers/new", data=form)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    dossiers = office.motcua.store.find(CaseFilter(definition_key=DOSSIER_WORKFLOW), limit=100).items
    assert len(dossiers) == 4  # the site's three, and this one
