"""The first-run setup on every backend (memory, an SQLite file, PostgreSQL): two setups posted at once through the
console make one user, and the page is gone after."""

from __future__ import annotations

import threading

from tests.unit.console.console_a import PASSWORD, Site
from tests.unit.console.test_console_setup import SETUP_TOKEN, opened


def test_two_setups_at_once_make_one_user_on_every_backend(office: Site) -> None:
    code = opened(office)
    browsers = [office.anonymous() for _ in range(3)]
    forms = []
    for browser in browsers:
        token = SETUP_TOKEN.search(browser.get("/console/setup").text)
        assert token is not None
        forms.append({"code": code, "name": f"nguoi-{len(forms)}", "password": PASSWORD, "again": PASSWORD,
                      "setup_token": token[1]})
    start = threading.Barrier(len(browsers))
    answers: dict[str, int] = {}

    def post(index: int) -> None:
        start.wait()
        answers[forms[index]["name"]] = browsers[index].post("/console/setup", data=forms[index]).status_code

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [user] = office.users.users()
    assert user.roles == ("operator",) and user.units is None
    assert answers[user.name] == 303 and sorted(answers.values()) == [303, 404, 404]
    assert office.anonymous().get("/console/setup").status_code == 404
