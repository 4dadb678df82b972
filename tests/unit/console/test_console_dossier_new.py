"""Receiving a dossier at the desk from the browser: the form from the opening's data, the scope, the refusals."""

from __future__ import annotations

import re
import threading
import time

import pytest

from motcua.entrypoints.console import reception
from motcua.workflow.access.cases import ScopedCases
from motcua.workflow.engine.queries import CaseFilter
from tests.unit.console.console_a import AN_THUONG, CAM_THUONG, PROCEDURE, Site, csrf_of, site

APPLICANT = {"data.applicant_name": "Lê Thị Hoa", "data.applicant_id": "001199000111", "data.channel": "direct",
             "data.procedure": PROCEDURE, "data.summary": "Xin xác nhận tình trạng hôn nhân"}


@pytest.fixture
def office() -> Site:
    return site()


def _post(browser, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_of(browser.get("/console/dossiers/new").text)
    return browser.post("/console/dossiers/new", data={"csrf_token": token, **data})


def test_the_form_is_labelled_from_the_opening_data(office: Site) -> None:
    page = office.browser("lan", ["officer"], units=[AN_THUONG]).get("/console/dossiers/new")
    assert page.status_code == 200
    for label in ("Mã thủ tục hành chính", "Kênh thực hiện", "Chủ hồ sơ", "Số định danh cá nhân", "Tiếp nhận hồ sơ"):
        assert label in page.text
    assert f'<option value="{PROCEDURE}"' in page.text
    assert '<label for="new-data-applicant_name">' in page.text and 'id="new-data-applicant_name"' in page.text


def test_the_browser_keeps_no_applicants_details_for_the_next_one(office: Site) -> None:
    """A desk's computer serves one applicant after another: the form asks the browser not to offer one's name,
    identity number or telephone to the next (autofill)."""
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    form = re.search(r'<form class="card" method="post" action="/console/dossiers/new"[^>]*>',
                     browser.get("/console/dossiers/new").text)
    assert form is not None and 'autocomplete="off"' in form.group(0)
    code = _post(browser, APPLICANT).headers["location"].split("?")[0]
    actions = re.findall(r'<form method="post" action="[^"]*/fire"[^>]*>', browser.get(code).text)
    assert actions and all('autocomplete="off"' in action for action in actions)


def test_an_officer_receives_a_dossier_at_their_unit(office: Site) -> None:
    answer = _post(office.browser("lan", ["officer"], units=[AN_THUONG]), APPLICANT)
    assert answer.status_code == 303
    code = answer.headers["location"].removeprefix("/console/dossiers/").removesuffix("?done=receive")
    case = office.motcua.service.get(code)
    assert case.state["lifecycle"] == "received" and case.attributes["receiving_unit"] == AN_THUONG
    assert case.attributes["applicant_name"] == "Lê Thị Hoa" and case.attributes["appointment"]
    assert [entry.actor for entry in office.motcua.service.history(code)] == ["lan", "lan"]


def test_a_unit_outside_the_scope_is_refused_before_a_number_is_drawn(office: Site) -> None:
    before = office.motcua.store.find(CaseFilter(), limit=100).items
    answer = _post(office.browser("lan", ["officer"], units=[AN_THUONG]),
                   {**APPLICANT, "data.receiving_unit": CAM_THUONG})
    assert answer.status_code == 422 and "ngoài phạm vi" in answer.text
    assert office.motcua.store.find(CaseFilter(), limit=100).items == before
    assert 'value="Lê Thị Hoa"' in answer.text  # what was typed is kept


def test_missing_or_unknown_data_is_refused_in_words(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    nameless = _post(browser, {**APPLICANT, "data.applicant_name": ""})
    assert nameless.status_code == 422 and "Chủ hồ sơ" in nameless.text
    unknown = _post(browser, {**APPLICANT, "data.procedure": "9.999999"})
    assert unknown.status_code == 422 and "không có trong danh mục" in unknown.text
    before = office.motcua.store.find(CaseFilter(), limit=100).items
    for shaped_otherwise in ("0011 9900 0111", "001199000111;--", "Lê Thị Hoa", "x" * 33):
        refused = _post(browser, {**APPLICANT, "data.applicant_id": shaped_otherwise})
        assert refused.status_code == 422 and "chỉ gồm chữ cái và chữ số" in refused.text, shaped_otherwise
    assert office.motcua.store.find(CaseFilter(), limit=100).items == before  # nothing written, no number drawn
    assert _post(browser, {**APPLICANT, "data.applicant_id": "0100109106-001"}).status_code == 303  # a branch


def test_the_applicants_texts_have_the_http_apis_bounds_said_beside_the_field(office: Site) -> None:
    """A name, a telephone number and an e-mail are one line each, the telephone number 100 characters at most: the
    console stores nothing the HTTP API refuses, and says so in Vietnamese beside the field, what was typed kept."""
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    before = office.motcua.store.find(CaseFilter(), limit=100).items
    for field, value in (("applicant_name", "Lê Thị Hoa\nNguyễn Thị Giả mạo"), ("phone", "09" * 700),
                         ("email", "a@b\tc")):
        refused = _post(browser, {**APPLICANT, f"data.{field}": value})
        assert refused.status_code == 422, field
        assert "chỉ một dòng, tối đa" in refused.text and "Chưa hợp lệ" in refused.text, field
    too_long = _post(browser, {**APPLICANT, "data.phone": "09" * 700})
    assert "Chưa hợp lệ: chỉ một dòng, tối đa 100 ký tự" in too_long.text and 'value="Lê Thị Hoa"' in too_long.text
    assert office.motcua.store.find(CaseFilter(), limit=100).items == before  # nothing written, no number drawn
    form = browser.get("/console/dossiers/new").text
    assert 'id="new-data-phone" name="data.phone" value="" maxlength="100"' in form
    accepted = _post(browser, {**APPLICANT, "data.phone": "0912 345 678", "data.email": "hoa@example.vn",
                               "data.address": "Số 12, ngõ 3\nPhố Huế"})
    assert accepted.status_code == 303


def test_only_officers_receive_and_only_with_the_csrf_token(office: Site) -> None:
    assert office.browser("hung", ["specialist"], units=[AN_THUONG]).get("/console/dossiers/new").status_code == 403
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    assert browser.post("/console/dossiers/new", data=APPLICANT).status_code == 403


_FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def _form_of(browser) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The hidden fields of a reception form as the browser got it (the CSRF token and the form's own key)."""
    page = browser.get("/console/dossiers/new").text
    key = _FORM_KEY.search(page)
    assert key is not None, "the reception form carries its own key"
    return {"csrf_token": csrf_of(page), "form_key": key[1]}


def test_a_form_posted_twice_receives_one_dossier(office: Site) -> None:
    """A double click, a reload of the answer, a retry after a lost answer: the same form posted again opens no second
    dossier, and the browser is sent to the dossier the first post opened."""
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    before = len(office.motcua.store.find(CaseFilter(), limit=100).items)
    form = {**_form_of(browser), **APPLICANT}
    first = browser.post("/console/dossiers/new", data=form)
    again = browser.post("/console/dossiers/new", data=form)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert len(office.motcua.store.find(CaseFilter(), limit=100).items) == before + 1
    other = browser.post("/console/dossiers/new", data={**form, "data.applicant_name": "Người khác"})
    assert other.status_code == 409 and "đã được gửi" in other.text  # the key of a form already used, other values
    assert len(office.motcua.store.find(CaseFilter(), limit=100).items) == before + 1
    assert browser.post("/console/dossiers/new", data={**_form_of(browser), **APPLICANT}).status_code == 303


def test_a_refused_form_comes_back_with_a_new_key_and_its_correction_is_received(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    form = {**_form_of(browser), **APPLICANT}
    refused = browser.post("/console/dossiers/new", data={**form, "data.applicant_name": ""})
    assert refused.status_code == 422
    key = _FORM_KEY.search(refused.text)
    assert key is not None and key[1] != form["form_key"]
    assert browser.post("/console/dossiers/new", data={**form, "form_key": key[1]}).status_code == 303
    assert browser.post("/console/dossiers/new", data={**form, "form_key": "<short>"}).status_code == 400


def test_a_form_whose_first_post_failed_half_way_opens_the_number_it_reserved(office: Site,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The first post drew a number, kept it on its claim, then failed (a 500): the same form posted again opens
    the dossier under that number — no second number is drawn for one form."""
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    form = {**_form_of(browser), **APPLICANT}
    register = ScopedCases.register

    def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ScopedCases, "register", failing)
    assert browser.post("/console/dossiers/new", data=form).status_code == 500
    monkeypatch.setattr(ScopedCases, "register", register)
    again = browser.post("/console/dossiers/new", data=form)
    assert again.status_code == 303
    assert again.headers["location"] == f"/console/dossiers/{AN_THUONG}-250602-0003?done=receive"


def _held_reception(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """The reception's registration held until ``release`` is set (``registering`` set when it starts): the real
    registration, slow as a busy database makes it."""
    registering, release = threading.Event(), threading.Event()
    register = ScopedCases.register

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        registering.set()
        assert release.wait(timeout=10)
        return register(*args, **kwargs)

    monkeypatch.setattr(ScopedCases, "register", held)
    return registering, release


def _post_in_thread(browser, form: dict[str, str], answers: list) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=lambda: answers.append(browser.post("/console/dossiers/new", data=form)))
    thread.start()
    return thread


def test_a_form_posted_again_while_its_first_post_runs_waits_for_it_and_goes_to_its_dossier(
        office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """A double click while the first post is still receiving: the second post waits for it (a few seconds at
    most), then is sent to the dossier the first opened — not a 409 page, not a second dossier."""
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    form = {**_form_of(browser), **APPLICANT}
    before = len(office.motcua.store.find(CaseFilter(), limit=100).items)
    registering, release = _held_reception(monkeypatch)
    first: list = []  # type: ignore[type-arg]
    second: list = []  # type: ignore[type-arg]
    threads = [_post_in_thread(browser, form, first)]
    try:
        assert registering.wait(timeout=10)
        threads.append(_post_in_thread(browser, form, second))
        time.sleep(0.5)  # the second post is waiting on the first one's claim
        assert not second, "the second post waits while the first runs"
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=20)
    [done], [again] = first, second
    assert done.status_code == again.status_code == 303, again.text
    assert again.headers["location"] == done.headers["location"]
    assert len(office.motcua.store.find(CaseFilter(), limit=100).items) == before + 1


def test_a_first_post_running_longer_than_the_wait_leaves_the_second_a_409_in_words(
        office: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    form = {**_form_of(browser), **APPLICANT}
    monkeypatch.setattr(reception, "IN_FLIGHT_WAIT", 0.2)
    registering, release = _held_reception(monkeypatch)
    first: list = []  # type: ignore[type-arg]
    thread = _post_in_thread(browser, form, first)
    try:
        assert registering.wait(timeout=10)
        again = browser.post("/console/dossiers/new", data=form)
        assert again.status_code == 409 and "đang được tiếp nhận" in again.text
    finally:
        release.set()
        thread.join(timeout=20)
    assert first[0].status_code == 303
