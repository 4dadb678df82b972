"""The dossier page: what it shows, the actions each role is offered, firing them through the user's scope (refusals
in words, a stale page), the replay at an instant, the chain check and the control sheet."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import timedelta
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from motcua.definitions.plans import load_plan, plan_paths
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.entrypoints.console.base import CONSOLE_POLICY
from motcua.entrypoints.console.dossier import STALE_MESSAGE, offered
from motcua.entrypoints.console.forms import form_fields, read_data
from motcua.workflow.errors import MalformedData
from motcua.workflow.plan.intake import load_tasks
from tests.unit.console.console_a import AN_THUONG, CAM_THUONG, PROVINCE, Site, csrf_of, site

DOSSIER = load_definition(WORKFLOWS_DIR / "tthc-dossier.v1.yaml")


@pytest.fixture
def office() -> Site:
    return site()


def _actions(html: str) -> set[str]:
    return set(re.findall(r'name="trigger" value="([a-z_]+)"', html))


def _post(browser, code: str, trigger: str, data: dict[str, str] | None = None, *,  # type: ignore[no-untyped-def]
          version: int | None = None, token: str | None = None):
    page = browser.get(f"/console/dossiers/{code}")
    seen = int(re.findall(r'name="version" value="(\d+)"', page.text)[0]) if version is None else version
    form = {"csrf_token": csrf_of(page.text) if token is None else token, "trigger": trigger, "version": str(seen),
            **{f"data.{name}": value for name, value in (data or {}).items()}}
    return browser.post(f"/console/dossiers/{code}/fire", data=form)


def test_the_page_shows_state_status_appointment_and_applicant(office: Site) -> None:
    code = office.codes["an_open"]
    page = office.browser("lan", ["officer"], units=[AN_THUONG]).get(f"/console/dossiers/{code}")
    assert page.status_code == 200
    assert "Được tiếp nhận" in page.text and "Mã trạng thái DVCQG 2" in page.text
    assert "Ngày hẹn trả" in page.text and "05/06/2025" in page.text
    assert "Trần Văn An" in page.text and "001203004567" in page.text
    assert "Hẹn trả ban đầu" in page.text  # how the appointment moved
    assert "Tiếp nhận hồ sơ" in page.text  # the timeline, by the definition's labels
    assert "nguyên vẹn" in page.text  # the chain check
    assert page.headers["content-security-policy"] == CONSOLE_POLICY


def test_each_role_is_offered_the_actions_its_roles_allow_from_this_state(office: Site) -> None:
    code = office.codes["an_assigned"]  # processing
    def offered_to(name: str, *roles: str) -> set[str]:
        return _actions(office.browser(name, list(roles), units=[AN_THUONG]).get(f"/console/dossiers/{code}").text)

    assert {"request_supplement", "submit_for_approval", "request_payment"} <= offered_to("hung", "specialist")
    page = office.browser("hung", ["specialist"], units=[AN_THUONG]).get(f"/console/dossiers/{code}").text
    assert re.search(r'<input type="number" id="[^"]*" name="data\.amount" value="" required step="1" min="0">', page)
    assert "approve" not in offered_to("hung2", "specialist")
    assert {"stop", "assign"} <= offered_to("tuan", "leader") and "submit_for_approval" not in offered_to(
        "tuan2", "leader")
    assert offered_to("tra", "inspector") == set()
    assert not {"mark_overdue", "transfer", "adopt_unit"} & offered_to("all", "officer", "specialist", "leader")


def test_the_offer_follows_the_definition() -> None:
    definition = DOSSIER
    received = {"lifecycle": "received", "deadline": "on_time", "records": "paper"}
    assert {action.trigger for action in offered(definition, received, frozenset({"officer"}))} == {
        "assign", "request_withdrawal", "digitize"}
    digitize = next(a for a in offered(definition, received, frozenset({"officer"})) if a.trigger == "digitize")
    assert [(f.name, f.input, f.required) for f in digitize.fields] == [("data.components", "number", True)]


def test_form_fields_follow_the_declared_data_types() -> None:
    triggers = DOSSIER.triggers
    payment = {f.name: f for f in form_fields(triggers["payment_received"].data)}
    assert payment["data.online"].input == "checkbox"
    assert payment["data.payment_channel"].input == "select"
    assert [value for value, _ in payment["data.payment_channel"].choices] == ["national", "provincial"]
    apology = {f.name: f for f in form_fields(triggers["apologize"].data)}
    assert apology["data.new_date"].input == "date" and apology["data.reason"].input == "textarea"
    assert apology["data.reason"].label == "Lý do quá hạn"
    assert read_data("request_payment", triggers["request_payment"].data, {"data.amount": "50000"}) == {"amount": 50000}
    amount = form_fields(triggers["request_payment"].data)[0]
    assert (amount.name, amount.least, amount.greatest) == ("data.amount", "0", None)  # the definition's min: 0
    with pytest.raises(MalformedData) as refused:
        read_data("request_payment", triggers["request_payment"].data, {"data.amount": "năm mươi"})
    assert "amount" in refused.value.problems


def test_firing_from_the_page_moves_the_dossier_as_the_user(office: Site) -> None:
    code = office.codes["an_open"]
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    answer = _post(browser, code, "assign", {"assignee": "Phạm Văn Hùng", "electronic": "true"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/console/dossiers/{code}?done=assign"
    case = office.motcua.service.get(code)
    assert case.state["lifecycle"] == "processing" and case.attributes["assignee"] == "Phạm Văn Hùng"
    last = office.motcua.service.history(code)[-1]
    assert last.actor == "lan" and last.trigger == "assign" and last.data["electronic"] is True
    assert "Đã thực hiện «Chuyển hồ sơ cho người xử lý»" in browser.get(answer.headers["location"]).text


def test_a_form_without_the_csrf_token_changes_nothing(office: Site) -> None:
    code = office.codes["an_open"]
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    for token in ("", "forged-token"):
        answer = _post(browser, code, "assign", {"assignee": "X"}, token=token)
        assert answer.status_code == 403
    assert office.motcua.service.get(code).state["lifecycle"] == "received"


def test_a_stale_page_is_told_someone_else_changed_the_dossier(office: Site) -> None:
    code = office.codes["an_open"]
    first = office.browser("lan", ["officer"], units=[AN_THUONG])
    second = office.browser("mai", ["officer"], units=[AN_THUONG])
    seen = office.motcua.service.get(code).version
    assert _post(first, code, "assign", {"assignee": "Phạm Văn Hùng"}, version=seen).status_code == 303

    answer = _post(second, code, "request_withdrawal", {"reason": "Không cần nữa"}, version=seen)

    assert answer.status_code == 409 and STALE_MESSAGE in answer.text
    assert f'href="/console/dossiers/{code}"' in answer.text  # reload
    assert office.motcua.service.get(code).state["lifecycle"] == "processing"


def test_an_action_posted_twice_is_done_once_and_the_second_post_is_told_it_was_done(office: Site) -> None:
    """A double click on "Phê duyệt": the second post carries the version the first one moved past. It changes
    nothing — and is not told that someone else changed the dossier (its own first post did): it is sent to the
    page saying the action was done. Another user's, another action's or other data's stale post is still a 409."""
    code = office.codes["an_open"]
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    seen = office.motcua.service.get(code).version
    first = _post(browser, code, "assign", {"assignee": "Phạm Văn Hùng"}, version=seen)
    again = _post(browser, code, "assign", {"assignee": "Phạm Văn Hùng"}, version=seen)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"] == f"/console/dossiers/{code}?done=assign"
    assert [entry.trigger for entry in office.motcua.service.history(code)].count("assign") == 1
    other = _post(browser, code, "request_withdrawal", {"reason": "Không cần nữa"}, version=seen)
    assert other.status_code == 409 and STALE_MESSAGE in other.text
    otherwise = _post(browser, code, "assign", {"assignee": "Lê Minh Tuấn"}, version=seen)  # another tab's
    assert otherwise.status_code == 409 and STALE_MESSAGE in otherwise.text
    colleague = office.browser("mai", ["officer"], units=[AN_THUONG])
    assert _post(colleague, code, "assign", {"assignee": "Phạm Văn Hùng"}, version=seen).status_code == 409


def test_missing_data_is_refused_in_words_with_the_fields_label(office: Site) -> None:
    code = office.codes["an_assigned"]
    answer = _post(office.browser("hung", ["specialist"], units=[AN_THUONG]), code, "request_supplement")
    assert answer.status_code == 422 and "Giấy tờ cần bổ sung" in answer.text
    assert "Traceback" not in answer.text


def test_a_guard_refusal_is_said_in_words(office: Site) -> None:
    code = office.codes["an_assigned"]
    browser = office.browser("hung", ["specialist", "officer"], units=[AN_THUONG])
    assert _post(browser, code, "request_supplement", {"reason": "Bản sao"}).status_code == 303
    assert _post(browser, code, "supplement_received").status_code == 303

    again = _post(browser, code, "request_supplement", {"reason": "Thêm lần nữa"})

    assert again.status_code == 422 and "«Yêu cầu bổ sung giấy tờ» bị từ chối" in again.text


def test_a_role_that_may_not_is_refused_in_words(office: Site) -> None:
    code = office.codes["an_open"]
    answer = _post(office.browser("tra", ["inspector"], province=PROVINCE), code, "assign", {"assignee": "X"},
                   version=2)
    assert answer.status_code == 422 and "Vai trò của bạn không được thực hiện" in answer.text
    assert office.motcua.service.get(code).state["lifecycle"] == "received"


def test_a_timer_trigger_cannot_be_posted(office: Site) -> None:
    answer = _post(office.browser("lan", ["officer"], units=[AN_THUONG]), office.codes["an_open"], "mark_overdue")
    assert answer.status_code == 400


def test_a_dossier_outside_the_scope_is_the_same_page_as_an_unknown_code(office: Site) -> None:
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    outside = office.codes["cam_open"]
    hidden = browser.get(f"/console/dossiers/{outside}")
    unknown = browser.get("/console/dossiers/LOCAL-HD-CAM-THUONG-250602-9999")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text == unknown.text and outside not in hidden.text
    assert browser.get(f"/console/dossiers/{outside}/control-sheet.xlsx").status_code == 404
    token = csrf_of(browser.get("/console/").text)
    fired = browser.post(f"/console/dossiers/{outside}/fire", data={"csrf_token": token, "trigger": "assign",
                                                                     "version": "2", "data.assignee": "X"})
    assert fired.status_code == 404 and fired.text == unknown.text
    assert office.motcua.service.get(outside).version == 2
    other = office.browser("hoa", ["officer"], units=[CAM_THUONG]).get(f"/console/dossiers/{outside}")
    assert other.status_code == 200


def test_the_page_shows_the_dossier_as_it_stood_at_an_instant(office: Site) -> None:
    code = office.codes["an_assigned"]
    browser = office.browser("lan", ["officer"], units=[AN_THUONG])
    office.clock.advance(timedelta(hours=2))
    office.fire(code, "submit_for_approval", {"approver": "Lê Minh Tuấn"})

    then = browser.get(f"/console/dossiers/{code}", params={"at": "2025-06-02T10:00"})
    now = browser.get(f"/console/dossiers/{code}")
    before = browser.get(f"/console/dossiers/{code}", params={"at": "2025-06-01T10:00"})

    assert "Hồ sơ như tại 02/06/2025 10:00" in then.text
    shown = then.text[then.text.index("Hồ sơ như tại"):]
    assert "Đang xử lý" in shown and "Chờ lãnh đạo phê duyệt" not in shown
    assert "Chờ lãnh đạo phê duyệt" in now.text
    assert "chưa được đăng ký tại thời điểm đó" in before.text
    assert browser.get(f"/console/dossiers/{code}", params={"at": "hôm qua"}).status_code == 400


def test_the_control_sheet_downloads_as_a_workbook(office: Site) -> None:
    code = office.codes["an_assigned"]
    answer = office.browser("lan", ["officer"], units=[AN_THUONG]).get(f"/console/dossiers/{code}/control-sheet.xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert f"phieu-kiem-soat-{code}.xlsx" in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    text = " ".join(str(cell.value) for row in book.active.iter_rows() for cell in row if cell.value)
    assert code in text


def test_a_broken_chain_is_shown(office: Site) -> None:
    code = office.codes["an_open"]
    entries = office.motcua.store._entries[code]  # type: ignore[attr-defined]
    entries[-1] = replace(entries[-1], actor="someone else")  # tampered after it was sealed
    page = office.browser("kt", ["auditor", "officer"], units=[AN_THUONG]).get(f"/console/dossiers/{code}")
    assert "KHÔNG nguyên vẹn" in page.text


def test_a_field_naming_a_person_suggests_the_users_who_see_the_dossier(office: Site) -> None:
    office.browser("hung", ["specialist"], units=[AN_THUONG])
    office.browser("hoa", ["specialist"], units=[CAM_THUONG])  # does not see An Thượng's dossiers
    office.browser("tuan", ["leader"], units=[AN_THUONG])
    page = office.browser("lan", ["officer"], units=[AN_THUONG]).get(f"/console/dossiers/{office.codes['an_open']}")
    datalist = re.search(r'<datalist id="assign-data-assignee-list">(.*?)</datalist>', page.text)
    assert datalist is not None and 'list="assign-data-assignee-list"' in page.text
    assert re.findall(r'<option value="([^"]+)">', datalist[1]) == ["hung"]


def test_a_plan_task_whose_code_holds_slashes_opens_and_moves_like_a_dossier(office: Site) -> None:
    """A reform-plan task's code is ``PLAN/TASK[/PERIOD]``: its page, its actions and the operations page's link to
    it were 404s (the route's code stopped at the first slash), so an ``owner`` could move nothing in the console."""
    plan = load_plan(plan_paths()[0])
    load_tasks(office.motcua.service, office.motcua.rules, plan, unit=AN_THUONG)
    code = plan.occurrences()[0].code
    assert "/" in code
    owner = office.browser("tuan", ["owner"], units=[AN_THUONG])
    assert f'<a href="/console/dossiers/{code}">{code}</a>' in owner.get("/console/plan").text  # the plan links it
    page = owner.get(f"/console/dossiers/{code}")
    assert page.status_code == 200 and "Bắt đầu thực hiện" in page.text
    started = _post(owner, code, "start")
    assert started.status_code == 303
    assert started.headers["location"] == f"/console/dossiers/{quote(code, safe='')}?done=start"
    assert "Đã thực hiện «Bắt đầu thực hiện»" in owner.get(started.headers["location"]).text
    assert office.motcua.service.get(code).state["lifecycle"] == "in_progress"
    assert owner.get(f"/console/dossiers/{code}/control-sheet.xlsx").status_code == 404  # a dossier's only
    elsewhere = office.browser("cam", ["owner"], units=[CAM_THUONG]).get(f"/console/dossiers/{code}")
    assert elsewhere.status_code == 404  # another unit's task: not found, as a code never issued
    operator = office.browser("van-hanh", ["operator"], units=[AN_THUONG])
    links = set(re.findall(r'href="(/console/dossiers/[^"]+)"', operator.get("/console/operations").text))
    task_links = [link for link in links if link.count("/") > 3]
    assert task_links and all(operator.get(link).status_code == 200 for link in task_links)
