"""Regression tests of the console's second review, of what its forms and filters take: each one a hole, closed.

- a text field of an action's form let the browser take 4,000 characters where the engine takes 2,000, and the refusal
  said "too long or a character not allowed" without the bound;
- the desk linked an officer whose name is longer than 128 characters to a list that refused the name (a 400 page),
  while the HTTP API's filter takes a name as long as any (``NAME_MAX``).
"""

from __future__ import annotations

import html
import re

import pytest

from motcua.workflow.engine.bounds import NAME_MAX, TEXT_MAX
from tests.unit.console.console_a import AN_THUONG, Site, csrf_of, site


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
