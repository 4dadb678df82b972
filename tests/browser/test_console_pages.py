"""Every main page of the console, opened in the browser by an operator (who may open them all): it answers 200,
holds no inline script, style or event handler (the CSP would refuse them), breaks no CSP rule and throws no
script error while it loads, passes axe-core's accessibility check (no serious or critical violation: labelled
fields, contrast, names, landmarks…), fits a phone's width — and is photographed under test-output/screenshots/.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.conftest import OFFICER, OPERATOR, PHONE, SPECIALIST, Visitor, sign_in
from tests.browser.harness import accessibility_violations, inline_code, screenshot
from tests.browser.pages import fire

pytestmark = pytest.mark.browser

MAIN_PAGES = {  # screenshot name → path
    "desk": "/console/",
    "dossiers": "/console/dossiers?scope=all",
    "reports": "/console/reports",
    "bieu06": "/console/reports/bieu06",
    "par766": "/console/reports/par766",
    "plan": "/console/plan",
    "workflows": "/console/workflows",
    "workflow-tthc-dossier": "/console/workflows/tthc-dossier",
    "operations": "/console/operations",
    "operations-outbox": "/console/operations/outbox",
    "operations-sync": "/console/operations/sync",
    "audit": "/console/audit",
    "audit-verify": "/console/audit/verify",
    "audit-anchors": "/console/audit/anchors",
}
OVERFLOW_PROBE = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _checked(person: Visitor, name: str, path: str) -> list[str]:
    """What is wrong with the page at ``path`` (nothing: an empty list); its screenshot is taken either way."""
    status = person.go(path)  # returns once the page and its images (the charts) have loaded
    problems = [f"answered {status}"] if status != 200 else []
    problems += inline_code(person.page)  # before the screenshot, which marks the fields to hide their caret
    problems += accessibility_violations(person.page)
    screenshot(person.page, name)
    return [f"{path}: {problem}" for problem in problems]


def test_the_sign_in_page(visitor: Callable[..., Visitor]) -> None:
    problems = _checked(visitor(), "sign-in", "/console/sign-in")
    assert not problems, "\n".join(problems)


def test_every_main_page_for_an_operator(visitor: Callable[..., Visitor], desk_software: Callable[[str], str]) -> None:
    code = desk_software("Vũ Thị Nga")
    person = visitor()
    sign_in(person, OPERATOR)
    problems = [problem for name, path in {**MAIN_PAGES, "dossier": f"/console/dossiers/{code}"}.items()
                for problem in _checked(person, name, path)]
    assert not problems, "\n".join(problems)


def test_an_error_page(visitor: Callable[..., Visitor]) -> None:
    person = visitor()
    sign_in(person, OFFICER)
    assert person.go("/console/operations") == 403  # an officer is no operator
    problems = inline_code(person.page) + accessibility_violations(person.page)
    screenshot(person.page, "error-403")
    assert not problems, "\n".join(problems)


def test_the_desk_and_a_dossier_fit_a_phone(
    visitor: Callable[..., Visitor], desk_software: Callable[[str], str],
) -> None:
    code = desk_software("Đặng Văn Khoa")
    person = visitor(viewport=PHONE)
    sign_in(person, OFFICER)
    for name, path in (("phone-desk", "/console/"), ("phone-dossier", f"/console/dossiers/{code}")):
        person.go(path)
        screenshot(person.page, name)
        assert person.page.evaluate(OVERFLOW_PROBE) <= 0, f"{path} scrolls sideways on a {PHONE['width']} px screen"


def test_the_list_filters_in_place(visitor: Callable[..., Visitor], desk_software: Callable[[str], str]) -> None:
    """The list's filters work through htmx under the policy (no eval, no inline script): choosing a state
    replaces the results without reloading the page, and the address follows so the filtered list can be shared."""
    waiting, moved = desk_software("Ngô Thị Yến"), desk_software("Bùi Văn Long")
    person = visitor()
    sign_in(person, OFFICER, next_path=f"/console/dossiers/{moved}")
    fire(person.page, "Chuyển hồ sơ cho người xử lý", {"Người nhận hồ sơ": SPECIALIST.name})
    person.go("/console/dossiers")
    page = person.page
    page.evaluate("() => { window.sameDocument = true; }")
    with page.expect_response(lambda answer: "state=received" in answer.url) as filtered:
        page.get_by_label("Trạng thái").select_option(label="Được tiếp nhận")
    assert filtered.value.request.headers.get("hx-request") == "true", "the list was not asked for by htmx"
    results = page.locator("#results")
    results.get_by_role("link", name=waiting).wait_for()
    assert moved not in results.inner_text()
    assert page.evaluate("() => window.sameDocument === true"), "the page was reloaded instead of updated"
    assert "state=received" in page.url


def test_a_filter_changed_after_the_session_ended_goes_to_the_sign_in_page(visitor: Callable[..., Visitor]) -> None:
    """htmx follows a redirect inside its request: without a live session the list's results were replaced by
    nothing (the sign-in page has no results) and the user was never told to sign in again. The whole page goes to
    the sign-in form instead, which brings the user back to the filtered list."""
    person = visitor()
    sign_in(person, OFFICER, next_path="/console/dossiers")
    page = person.page
    person.context.clear_cookies()  # the session ended (expired, signed out in another tab)
    with page.expect_navigation():
        page.get_by_label("Trạng thái").select_option(label="Được tiếp nhận")
    page.wait_for_url("**/console/sign-in?next=*")
    assert "state%3Dreceived" in page.url
    assert page.get_by_label("Tên đăng nhập").is_visible()
