"""The desk and the lists of dossiers: what each user's scope shows, the counts and their links, paging, search."""

from __future__ import annotations

import re
import unicodedata

import pytest

from motcua.entrypoints.console import desk
from motcua.entrypoints.console.base import UNREADABLE_MESSAGE
from motcua.workflow.engine.bounds import NAME_MAX
from tests.unit.console.console_a import AN_THUONG, APPLICANT, CAM_THUONG, PROVINCE, Site, site


@pytest.fixture(scope="module")
def office() -> Site:
    built = site()
    built.fire(built.codes["an_open"], "assign", {"assignee": "lan"})
    built.fire(built.codes["an_open"], "request_supplement", {"reason": "Bản sao giấy khai sinh"})
    return built


def _codes(html: str) -> set[str]:
    return set(re.findall(r'href="/console/dossiers/([A-Z0-9-]+)"', html))


def _tile(html: str, label: str) -> tuple[int, str]:
    found = re.search(rf'<a class="tile[^"]*" href="([^"]+)"><strong>(\d+)</strong><span>{label}</span>', html)
    assert found is not None, label
    return int(found[2]), found[1].replace("&amp;", "&")


def test_the_desk_counts_the_open_dossiers_of_the_users_units(office: Site) -> None:
    page = office.browser("lan", ["officer"], units=[AN_THUONG]).get("/console/")
    assert page.status_code == 200
    assert "Hồ sơ đang giải quyết (2)" in page.text
    assert _tile(page.text, "Yêu cầu bổ sung giấy tờ") == (1, "/console/dossiers?state=supplement_requested")
    assert _tile(page.text, "Hồ sơ tôi đang xử lý") == (1, "/console/dossiers?officer=lan")
    assert "Phạm Văn Hùng" in page.text  # by officer
    assert "/console/dossiers?procedure=1.004873" in page.text  # by procedure, linked


def test_a_province_user_counts_every_unit_of_the_province(office: Site) -> None:
    page = office.browser("tra", ["inspector"], province=PROVINCE).get("/console/")
    assert "Hồ sơ đang giải quyết (3)" in page.text


@pytest.mark.parametrize(("units", "province", "footer"), [
    (None, None, "tất cả đơn vị"),  # the scope's own label, "every unit", is the API's
    ([AN_THUONG], None, AN_THUONG),
    (None, PROVINCE, f"tỉnh/thành phố {PROVINCE}"),
], ids=["every-unit", "units", "province"])
def test_the_footer_names_the_users_scope_in_vietnamese(office: Site, units: list[str] | None, province: str | None,
                                                        footer: str) -> None:
    page = office.browser(f"footer-{footer[:3]}", ["officer"], units=units, province=province).get("/console/")
    foot = re.search(r'<footer class="foot">(.*?)</footer>', page.text, re.S)
    assert foot is not None and foot[1].endswith(f" · {footer}") and "every unit" not in page.text


def test_a_tile_links_to_the_list_it_counts(office: Site) -> None:
    browser = office.browser("lan2", ["officer"], units=[AN_THUONG])
    count, url = _tile(browser.get("/console/").text, "Yêu cầu bổ sung giấy tờ")
    listed = browser.get(url)
    assert listed.status_code == 200 and _codes(listed.text) == {office.codes["an_open"]}
    assert count == 1


def test_the_list_shows_only_the_users_scope(office: Site) -> None:
    an = office.browser("lan3", ["officer"], units=[AN_THUONG]).get("/console/dossiers")
    cam = office.browser("hoa", ["officer"], units=[CAM_THUONG]).get("/console/dossiers")
    assert _codes(an.text) == {office.codes["an_open"], office.codes["an_assigned"]}
    assert _codes(cam.text) == {office.codes["cam_open"]}


def test_the_list_filters_by_the_declared_states_and_the_index(office: Site) -> None:
    browser = office.browser("lan4", ["officer"], units=[AN_THUONG])
    by_officer = browser.get("/console/dossiers", params={"officer": "Phạm Văn Hùng"})
    assert _codes(by_officer.text) == {office.codes["an_assigned"]}
    by_state = browser.get("/console/dossiers", params={"state": "processing"})
    assert _codes(by_state.text) == {office.codes["an_assigned"]}
    assert "Đang xử lý" in by_state.text  # the filter said in words, the definition's label
    by_procedure = browser.get("/console/dossiers", params={"procedure": "1.004873", "scope": "all"})
    assert len(_codes(by_procedure.text)) == 2
    assert _codes(browser.get("/console/dossiers", params={"scope": "ended"}).text) == set()


@pytest.mark.parametrize("params", [{"state": "no-such-state"}, {"deadline": "late"}, {"scope": "some"}])
def test_a_filter_the_workflow_does_not_declare_is_refused(office: Site, params: dict[str, str]) -> None:
    answer = office.browser(f"lan-{next(iter(params.values()))}", ["officer"], units=[AN_THUONG]).get(
        "/console/dossiers", params=params)
    assert answer.status_code == 400 and "Bộ lọc không hợp lệ" in answer.text


def test_the_list_is_paged_by_code(office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk, "PAGE_SIZE", 1)
    browser = office.browser("tra2", ["inspector"], province=PROVINCE)
    seen: list[str] = []
    url: str | None = "/console/dossiers"
    while url is not None:
        page = browser.get(url)
        seen.extend(sorted(_codes(page.text)))
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = found[1].replace("&amp;", "&") if found else None
    assert seen == sorted(office.codes.values())


def test_search_by_code_opens_the_dossier_in_scope_only(office: Site) -> None:
    code = office.codes["cam_open"]
    cam = office.browser("hoa2", ["officer"], units=[CAM_THUONG]).get("/console/dossiers", params={"q": code})
    assert cam.status_code == 303 and cam.headers["location"] == f"/console/dossiers/{code}"
    an = office.browser("lan5", ["officer"], units=[AN_THUONG]).get("/console/dossiers", params={"q": code})
    assert an.status_code == 200 and _codes(an.text) == set()  # as for a code never issued


def test_search_by_identity_number_lists_the_applicants_dossiers(office: Site) -> None:
    page = office.browser("lan6", ["officer"], units=[AN_THUONG]).get(
        "/console/dossiers", params={"q": APPLICANT.id_number})
    assert _codes(page.text) == {office.codes["an_open"], office.codes["an_assigned"]}


def test_an_over_long_query_is_refused_as_a_page(office: Site) -> None:
    answer = office.browser("lan7", ["officer"], units=[AN_THUONG]).get("/console/dossiers", params={"q": "x" * 500})
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")


def test_a_filter_typed_decomposed_finds_what_the_composed_one_finds(office: Site) -> None:
    """The list's filters read as NFC (motcua.entrypoints.http.composed): "Phạm Văn Hùng" typed on a Mac or with
    Unikey's "tổ hợp" mode ("a" then U+0323) is the name the dossier holds, whether the form sends "+" or "%20"."""
    browser = office.browser("lan-nfd", ["officer"], units=[AN_THUONG])
    decomposed = unicodedata.normalize("NFD", "Phạm Văn Hùng")
    assert decomposed != "Phạm Văn Hùng"
    composed = _codes(browser.get("/console/dossiers", params={"officer": "Phạm Văn Hùng"}).text)
    assert composed == {office.codes["an_assigned"]}
    assert _codes(browser.get("/console/dossiers", params={"officer": decomposed}).text) == composed
    assert _codes(browser.get("/console/dossiers?officer=Pha%CC%A3m+Va%CC%86n+Hu%CC%80ng").text) == composed
    page = browser.get("/console/dossiers", params={"officer": decomposed})
    assert "người xử lý Phạm Văn Hùng" in page.text  # the filter said back as the composed name


def test_a_filter_is_bounded_by_its_composed_length(office: Site) -> None:
    browser = office.browser("lan-bound", ["officer"], units=[AN_THUONG])
    limit = NAME_MAX  # the list's officer filter: a name, as the HTTP API's
    fits = browser.get("/console/dossiers", params={"officer": unicodedata.normalize("NFD", "ạ" * limit)})
    assert fits.status_code == 200 and _codes(fits.text) == set()
    over = browser.get("/console/dossiers", params={"officer": "ạ" * (limit + 1)})
    assert over.status_code == 400


@pytest.mark.parametrize("query", ["officer=%FF", "officer=Ph%E1%BA", "q=%C0%AF"])
def test_a_query_that_is_not_utf8_is_a_page_saying_so(office: Site, query: str) -> None:
    answer = office.browser(f"lan-{query[:3]}{len(query)}", ["officer"], units=[AN_THUONG]).get(
        f"/console/dossiers?{query}")
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
    assert UNREADABLE_MESSAGE in answer.text


def test_a_path_that_is_not_utf8_is_the_not_found_page(office: Site) -> None:
    answer = office.browser("lan-path", ["officer"], units=[AN_THUONG]).get("/console/dossiers/%FF")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")


ROLES = ("officer", "specialist", "leader", "inspector", "owner", "operator", "auditor")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_the_desk_the_list_and_the_dossiers_of_its_units_only(office: Site, role: str) -> None:
    browser = office.browser(f"{role}-an", [role], units=[AN_THUONG])
    mine, other = office.codes["an_assigned"], office.codes["cam_open"]
    assert browser.get("/console/").status_code == 200
    assert _codes(browser.get("/console/dossiers").text) == {office.codes["an_open"], mine}
    assert browser.get(f"/console/dossiers/{mine}").status_code == 200
    assert browser.get(f"/console/dossiers/{mine}/control-sheet.xlsx").status_code == 200
    assert browser.get(f"/console/dossiers/{other}").status_code == 404
    assert browser.get(f"/console/dossiers/{other}/control-sheet.xlsx").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_every_role_of_every_unit_sees_everything(office: Site, role: str) -> None:
    browser = office.browser(f"{role}-all", [role])
    assert _codes(browser.get("/console/dossiers").text) == set(office.codes.values())
    assert all(browser.get(f"/console/dossiers/{code}").status_code == 200 for code in office.codes.values())


def test_the_navigation_shows_each_role_its_pages(office: Site) -> None:
    officer = office.browser("nav-officer", ["officer"], units=[AN_THUONG]).get("/console/").text
    operator = office.browser("nav-operator", ["operator"]).get("/console/").text
    auditor = office.browser("nav-auditor", ["auditor"]).get("/console/").text
    assert 'href="/console/operations"' not in officer and 'href="/console/audit"' not in officer
    assert 'href="/console/operations"' in operator and 'href="/console/audit"' in operator
    assert 'href="/console/operations"' not in auditor and 'href="/console/audit"' in auditor


def test_the_desk_says_when_it_counted_only_the_first_dossiers(office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk, "DESK_SCAN_MAX", 2)
    page = office.browser("tra3", ["inspector"], province=PROVINCE).get("/console/")
    assert "Hồ sơ đang giải quyết (2)" in page.text and "Chỉ tính 2 hồ sơ đầu tiên" in page.text


def test_a_field_row_links_to_the_desk_narrowed_to_its_procedures(office: Site) -> None:
    browser = office.browser("lan4", ["officer"], units=[AN_THUONG])
    page = browser.get("/console/").text
    links = re.findall(r'<td><a href="(/console/\?field=[^"#]+)#theo-thu-tuc">([^<]+)</a></td>', page)
    assert links, "every field row links to its procedures"
    url, name = links[0]
    narrowed = browser.get(url.replace("&amp;", "&"))
    assert narrowed.status_code == 200 and f"Theo thủ tục — lĩnh vực {name}" in narrowed.text
    procedures = set(re.findall(r'href="/console/dossiers\?procedure=([0-9.]+)"', narrowed.text))
    assert procedures and all(office.motcua.catalogue.get(code).field_name == name for code in procedures)
    unknown = browser.get("/console/", params={"field": "<không có>"})
    assert unknown.status_code == 200 and "lĩnh vực &lt;" not in unknown.text and "— lĩnh vực" not in unknown.text
