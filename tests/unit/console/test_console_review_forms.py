"""Regression tests of the console's second review, of what its forms and filters take: each one a hole, closed.

- a text field of an action's form let the browser take 4,000 characters where the engine takes 2,000, and the refusal
  said "too long or a character not allowed" without the bound;
- a form field sent twice (``trigger``, an applicant's name) was taken silently, the last value winning; a query
  parameter sent twice likewise (the HTTP API refuses both);
- the desk linked an officer whose name is longer than 128 characters to a list that refused the name (a 400 page),
  while the HTTP API's filter takes a name as long as any (``NAME_MAX``).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest

from motcua.workflow.engine.bounds import NAME_MAX, TEXT_MAX
from tests.unit.console.console_a import AN_THUONG, PROCEDURE, Site, csrf_of, site

_FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def office() -> Site:
    return site()


def _action(page: str, trigger: str) -> str:
    """The form of ``trigger`` on a dossier's page."""
    found = re.search(rf'<form[^>]*/fire"[^>]*>(?:(?!</form>).)*name="trigger" value="{trigger}".*?</form>', page,
                      re.S)
    assert found is not None, f"the page offers {trigger}"
    return found[0]


def test_a_text_field_takes_the_engines_bound_and_its_refusal_says_it(office: Site) -> None:
    code = office.codes["an_open"]
    browser = office.browser("lan", ["officer", "specialist", "leader"], units=[AN_THUONG])
    page = browser.get(f"/console/dossiers/{code}")
    assert f'maxlength="{TEXT_MAX}"' in _action(page.text, "request_withdrawal")
    before = office.motcua.store.load(code)
    refused = browser.post(f"/console/dossiers/{code}/fire", data={
        "csrf_token": csrf_of(page.text), "trigger": "request_withdrawal", "version": str(before.version),
        "data.reason": "x" * (TEXT_MAX + 1)})
    assert refused.status_code == 422
    assert "tối đa 2.000 ký tự" in refused.text and "quá dài hoặc" not in refused.text
    assert office.motcua.store.load(code) == before
    reception = browser.get("/console/dossiers/new").text
    summary = re.search(r'<textarea[^>]*name="data.summary"[^>]*>', reception)
    assert summary is not None and f'maxlength="{TEXT_MAX}"' in summary[0]


def test_the_desk_links_an_officer_of_any_name_to_the_list_of_their_dossiers(office: Site) -> None:
    name = ("Nguyễn Văn " * 45).strip()  # 494 characters: a name the HTTP API's filter takes
    assert 128 < len(name) <= NAME_MAX
    code = office.receive("long", AN_THUONG, assignee=name)
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    desk = browser.get("/console/").text
    links = [html.unescape(link) for link in re.findall(r'href="(/console/dossiers\?officer=[^"]+)"', desk)]
    assert len(links) == 3  # the user's own ("mine"), Phạm Văn Hùng's, and this one's
    for link in links:
        assert browser.get(link).status_code == 200, link
    listed = browser.get("/console/dossiers", params={"officer": name})
    assert listed.status_code == 200 and f"/console/dossiers/{code}" in listed.text
    assert browser.get("/console/dossiers", params={"officer": "n" * (NAME_MAX + 1)}).status_code == 400


def test_an_action_field_sent_twice_is_refused_in_words_and_nothing_moves(office: Site) -> None:
    code = office.codes["an_open"]
    browser = office.browser("lan", ["officer", "specialist", "leader"], units=[AN_THUONG])
    page = browser.get(f"/console/dossiers/{code}")
    before = office.motcua.store.load(code)
    posted = [("csrf_token", csrf_of(page.text)), ("trigger", "assign"), ("version", str(before.version)),
              ("data.assignee", "Phạm Văn Hùng"), ("trigger", "request_withdrawal"), ("data.reason", "rút")]
    answer = browser.post(f"/console/dossiers/{code}/fire", content=urlencode(posted).encode(), headers=_FORM)
    assert answer.status_code == 400 and "gửi hai lần" in answer.text
    assert office.motcua.store.load(code) == before


def test_a_reception_field_sent_twice_is_refused_in_words_and_opens_nothing(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    form = browser.get("/console/dossiers/new")
    opened = len(list(office.motcua.store.cases()))
    posted = [("csrf_token", csrf_of(form.text)), ("data.procedure", PROCEDURE), ("data.channel", "direct"),
              ("data.applicant_name", "Trần Văn B"), ("data.applicant_name", "Lê Thị C")]
    answer = browser.post("/console/dossiers/new", content=urlencode(posted).encode(), headers=_FORM)
    assert answer.status_code == 400 and "gửi hai lần" in answer.text
    assert len(list(office.motcua.store.cases())) == opened


def test_a_query_parameter_sent_twice_is_a_400_page(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    for address in ("/console/dossiers?state=received&state=processing", "/console/reports/bieu06?period=2025"
                    "&period=2024", f"/console/dossiers/{office.codes['an_open']}?at=2025-06-02T09:00&at=x"):
        answer = browser.get(address)
        assert answer.status_code == 400 and "gửi hai lần" in answer.text, address
    assert browser.get("/console/dossiers?state=received&deadline=on_time").status_code == 200


def test_the_officer_a_dossier_goes_to_takes_a_names_bound_and_its_refusal_says_it(office: Site) -> None:
    """The assignee is what the desk lists and filters a dossier by: one line of at most NAME_MAX characters, the
    input holding that many, the refusal of a longer one saying so (not the 2,000 of free text)."""
    code = office.codes["an_open"]
    browser = office.browser("lan", ["officer", "specialist", "leader"], units=[AN_THUONG])
    page = browser.get(f"/console/dossiers/{code}")
    assignee = re.search(r'<input[^>]*name="data.assignee"[^>]*>', _action(page.text, "assign"))
    assert assignee is not None and f'maxlength="{NAME_MAX}"' in assignee[0]
    before = office.motcua.store.load(code)
    refused = browser.post(f"/console/dossiers/{code}/fire", data={
        "csrf_token": csrf_of(page.text), "trigger": "assign", "version": str(before.version),
        "data.assignee": "x" * (NAME_MAX + 1)})
    assert refused.status_code == 422 and "chỉ một dòng, tối đa 500 ký tự" in refused.text
    assert office.motcua.store.load(code) == before
