"""Signing in, the desk, the dossier page and its actions on every backend (memory, an SQLite file, PostgreSQL):
sessions, lock-outs and the version a page saw behave the same on the SQL store as in memory."""

from __future__ import annotations

import re

from motcua.adapters.users import SignInPolicy, session_key
from tests.unit.console.console_a import CAM_THUONG, Site, csrf_of, session_of


def test_a_day_at_the_desk_on_every_backend(office: Site) -> None:
    office.add_user("lan", ["officer"])
    browser = office.anonymous()
    assert office.sign_in(browser, "lan").status_code == 303
    session_id = session_of(browser)
    assert session_id is not None and office.users.session(session_key(session_id)) is not None

    desk = browser.get("/console/")
    assert desk.status_code == 200 and "Hồ sơ đang giải quyết (2)" in desk.text
    code = office.codes["an_open"]
    page = browser.get(f"/console/dossiers/{code}")
    version = re.findall(r'name="version" value="(\d+)"', page.text)[0]
    form = {"csrf_token": csrf_of(page.text), "trigger": "assign", "version": version, "data.assignee": "lan"}
    assert browser.post(f"/console/dossiers/{code}/fire", data=form).status_code == 303
    assert office.motcua.service.get(code).attributes["assignee"] == "lan"
    again = browser.post(f"/console/dossiers/{code}/fire", data=form)  # the same form posted again: done once
    assert again.status_code == 303 and again.headers["location"] == f"/console/dossiers/{code}?done=assign"
    assert [entry.trigger for entry in office.motcua.service.history(code)].count("assign") == 1
    stale = browser.post(f"/console/dossiers/{code}/fire",  # another action from the same page, now stale
                         data={**form, "trigger": "request_withdrawal", "data.reason": "Không cần nữa"})
    assert stale.status_code == 409 and "Hồ sơ đã được người khác thay đổi" in stale.text
    assert browser.get(f"/console/dossiers/{office.codes['cam_open']}").status_code == 404

    assert browser.post("/console/sign-out", data={"csrf_token": csrf_of(desk.text)}).status_code == 303
    assert office.users.session(session_key(session_id)) is None


def test_the_lock_out_is_kept_in_the_database(office: Site) -> None:
    office.add_user("hoa", ["officer"], units=[CAM_THUONG])
    for _ in range(SignInPolicy().max_failures):
        assert office.sign_in(office.anonymous(), "hoa", "wrong-password!").status_code == 401
    stored = office.users.user("hoa")
    assert stored is not None and stored.locked(office.clock.now())
    assert office.sign_in(office.anonymous(), "hoa").status_code == 401
    office.clock.advance(SignInPolicy().lock_for)
    assert office.sign_in(office.anonymous(), "hoa").status_code == 303
