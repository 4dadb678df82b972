"""Refusals said in Vietnamese: the engine's typed errors carry English messages (the HTTP API's), the console says
each kind in words of its own — by the error's type, its field, its rule — never quoting the English, and a kind it
does not know in a plain sentence; nothing a person typed, nothing the request named."""

from __future__ import annotations

import re

import pytest

from motcua.entrypoints.console.refusals import OTHERWISE, FormProblems, problem_words, refusal_text
from motcua.workflow.dossiers.desk import DOSSIER_WORKFLOW
from motcua.workflow.dossiers.limits import SUPPLEMENT_RULE
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.labels import trigger_label
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import (
    GuardRejected,
    InvalidInput,
    MalformedData,
    MotcuaError,
    NotFound,
    RuleRefused,
    StorageFailure,
)
from motcua.workflow.feedback.intake import Feedback, open_feedback
from tests.unit.console.console_a import AN_THUONG, PROCEDURE, Site, csrf_of

STATE = {"lifecycle": "processing"}
ENGLISH = re.compile(r"\b(missing|is not|before today|unknown unit|not in force|refused by|should|rejected)\b")


@pytest.fixture
def dossier_definition(office: Site) -> WorkflowDefinition:
    return office.motcua.workflows.latest(DOSSIER_WORKFLOW).definition


def said(definition: WorkflowDefinition, trigger: str, error: MotcuaError) -> str:
    text = refusal_text(definition, trigger, error)
    assert ENGLISH.search(text) is None, text
    assert str(error) not in text, text
    return text


def test_each_kind_of_refusal_is_said_without_the_engines_english(dossier_definition: WorkflowDefinition) -> None:
    definition = dossier_definition
    rule = said(definition, "apologize", RuleRefused(
        "apologize", STATE, ["redating_allowed"], rule="feedback.extensions", source="Điều 11 Nghị định 20/2008",
        reason="the answer's deadline may be extended 1 time(s), already 1"))
    assert rule.endswith("bị từ chối theo quy định (Điều 11 Nghị định 20/2008): thời hạn trả lời đã được gia hạn đủ "
                         "số lần cho phép.")
    reasoned = said(definition, "request_supplement", RuleRefused(
        "request_supplement", STATE, ["supplement_request_allowed"], rule=SUPPLEMENT_RULE, source="Điều 9",
        reason="hồ sơ đã được yêu cầu bổ sung 1 lần (lần đầu ngày 03/06/2025); chỉ được yêu cầu 1 lần"))
    assert reasoned.endswith("(Điều 9): hồ sơ đã được yêu cầu bổ sung 1 lần (lần đầu ngày 03/06/2025); chỉ được "
                             "yêu cầu 1 lần.")  # the dossier rules' reasons are the engine's Vietnamese
    unknown_rule = said(definition, "apologize", RuleRefused(
        "apologize", STATE, ["x"], rule="some.new_rule", source="Điều 9", reason="an English reason"))
    assert unknown_rule.endswith("bị từ chối theo quy định (Điều 9).")
    guard = said(definition, "apologize", GuardRejected("apologize", STATE, ["has_no_pending_letter"]))
    assert "has_no_pending_letter" not in guard and "một điều kiện của quy trình chưa thỏa" in guard
    dated = said(definition, "apologize", MalformedData(
        "apologize", {"new_date": "the new date 2025-01-01 is before today (2025-06-02)"}))
    assert "Ngày hẹn trả mới: ngày không hợp lệ hoặc nằm ngoài khoảng được phép" in dated
    missing = said(definition, "request_supplement", MalformedData("request_supplement", {"reason": "missing"}))
    assert "bắt buộc" in missing
    named = said(definition, "apologize", MalformedData("apologize", {"<b>x</b>": "Extra inputs are not permitted"}))
    assert "<b>" not in named and "một trường: trường không có trong quy trình" in named
    unit = said(definition, OPEN_TRIGGER, InvalidInput("deciding_unit", "X is in hai-phong, not in hai-duong"))
    assert "không cùng tỉnh với đơn vị tiếp nhận" in unit
    anything = said(definition, "apologize", InvalidInput("instant", "2025-01-01 is before 2025-06-02"))
    assert anything.endswith("chưa hợp lệ: giá trị này không dùng được.")
    scoped = said(definition, OPEN_TRIGGER, NotFound("unit", f"no unit {AN_THUONG!r} in this scope (x)"))
    assert "phạm vi" in scoped


def test_a_kind_not_known_is_a_plain_sentence_with_nothing_of_its_message(
        dossier_definition: WorkflowDefinition) -> None:
    class Unheard(MotcuaError):
        pass

    label = trigger_label(dossier_definition, "apologize")
    for error in (StorageFailure("relation cases: row holds Nguyễn Văn A"), Unheard("secret")):
        assert refusal_text(dossier_definition, "apologize", error) == OTHERWISE.format(label=label)


def test_the_consoles_own_problems_are_kept_as_said(dossier_definition: WorkflowDefinition) -> None:
    own = FormProblems(OPEN_TRIGGER, {"applicant_name": "bắt buộc"})
    assert problem_words(dossier_definition.opening.data, own) == {"applicant_name": "bắt buộc"}
    assert "Chủ hồ sơ: bắt buộc" in refusal_text(dossier_definition, OPEN_TRIGGER, own)


def _fire(browser, code: str, trigger: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    page = browser.get(f"/console/dossiers/{code}")
    version = re.findall(r'name="version" value="(\d+)"', page.text)[0]
    return browser.post(f"/console/dossiers/{code}/fire", data={
        "csrf_token": csrf_of(page.text), "trigger": trigger, "version": version,
        **{f"data.{name}": value for name, value in data.items()}})


def test_the_pages_say_the_engines_refusals_in_vietnamese(office: Site) -> None:
    specialist = office.browser("hung", ["specialist"], units=[AN_THUONG])
    missing = _fire(specialist, office.codes["an_assigned"], "request_supplement", {})
    assert missing.status_code == 422 and "Giấy tờ cần bổ sung: bắt buộc" in missing.text
    assert ": missing" not in missing.text

    officer = office.browser("lan", ["officer"])  # every unit: the desk's unit rules refuse, not the scope
    form = officer.get("/console/dossiers/new").text
    far = officer.post("/console/dossiers/new", data={
        "csrf_token": csrf_of(form), "data.procedure": PROCEDURE, "data.channel": "direct",
        "data.applicant_name": "Lê Thị Hoa", "data.receiving_unit": AN_THUONG,
        "data.deciding_unit": "LOCAL-HP-THANH-DONG"})  # in force from 1 July 2025; today is 2 June
    assert far.status_code == 422 and "Đơn vị giải quyết" in far.text, far.text
    assert "not in force" not in far.text and "2025-06-02" not in far.text

    bad_period = officer.get("/console/reports/bieu06?period=2025-13")
    assert bad_period.status_code == 400 and "kỳ báo cáo là một năm (2026)" in bad_period.text
    assert "does not exist" not in bad_period.text


def test_a_feedback_rules_refusal_from_the_engine_is_said_by_its_rule(office: Site) -> None:
    """The citizens' feedback rules word their reasons in English (the API's): the page says the rule in Vietnamese,
    by its key, as the engine really refuses it."""
    case = open_feedback(office.motcua.service, office.motcua.store, office.motcua.rules,
                         Feedback("Trần Văn An", "Niêm yết thiếu"), Actor.of("lan", "officer"), unit=AN_THUONG)
    leader = office.browser("tuan", ["leader"], units=[AN_THUONG])
    refused = _fire(leader, case.code, "extend", {"working_days": "999", "reason": "Cần xác minh thêm"})
    assert refused.status_code == 422, refused.text
    assert "số ngày làm việc gia hạn nằm ngoài mức cho phép" in refused.text
    assert "an extension is" not in refused.text and "working days" not in refused.text
