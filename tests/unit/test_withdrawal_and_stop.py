"""Withdrawal and stop, by who asks and when (issue 15, point 4).

The applicant's withdrawal (``request_withdrawal``, by the applicant or the desk on their behalf, then
``confirm_withdrawal`` by the desk) and the agency's own stop (``stop``, by the leader with a reason) are different
acts with different papers; under Decree 118/2025 the applicant may withdraw only while no decision is issued. Each
paper carries its form's number and name from the dossier's rule set (the map: tests/unit/test_forms_map.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.notifiers.smtp import compose
from motcua.workflow.dossiers.catalogue import FormKey
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock, text
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.errors import MalformedData, RoleNotAllowed, RuleRefused
from tests.conftest import APPLICANT, LEADER, OFFICER, SPECIALIST, START
from tests.unit.test_forms_map import MAP

MARITAL = "1.004873"  # xác nhận tình trạng hôn nhân: 3 working days
OPENED = {"nd61-2018": START, "nd118-2025": datetime(2025, 7, 7, 8, 0, tzinfo=VN_TZ)}  # two Mondays


@pytest.fixture(params=list(OPENED))
def app(request: pytest.FixtureRequest) -> Iterator[Motcua]:
    opened = open_motcua("memory://", clock=ManualClock(OPENED[request.param]), observers=[])
    yield opened
    opened.close()


@pytest.fixture
def nd118() -> Iterator[Motcua]:
    opened = open_motcua("memory://", clock=ManualClock(OPENED["nd118-2025"]), observers=[])
    yield opened
    opened.close()


def received(app: Motcua) -> Case:
    return app.desk.receive(MARITAL, "direct", Applicant("Trần Văn An"), OFFICER)


def processing(app: Motcua) -> Case:
    return app.service.fire(received(app).code, "assign", OFFICER, {"assignee": SPECIALIST.name})


def approved(app: Motcua) -> Case:
    case = app.service.fire(processing(app).code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    return app.service.fire(case.code, "approve", LEADER, {"decision_number": "12/QĐ-UBND"})


def papers(app: Motcua, code: str) -> list[tuple[JsonValue, ...]]:
    """The forms a dossier's effects carry: act, number, name, received from the applicant."""
    return [(e.payload["form"], e.payload["number"], e.payload["name"], e.payload["received"])
            for e in app.store.effects(code) if e.kind == "form"]


def paper(rule_set: str, act: FormKey, *, received: bool = False) -> tuple[JsonValue, ...]:
    number, name = MAP[rule_set][act]
    return (act, number, name, received)


def test_the_approval_records_that_a_decision_is_issued(app: Motcua) -> None:
    case = approved(app)
    assert case.state["lifecycle"] == "approved"
    assert case.attributes["decided_at"] == text(app.store.history(case.code)[-1].occurred_at)


def test_a_withdrawal_once_the_decision_is_issued_is_refused_under_decree_118(nd118: Motcua) -> None:
    case = approved(nd118)
    effects = nd118.store.effects(case.code)

    with pytest.raises(RuleRefused) as refused:
        nd118.service.fire(case.code, "request_withdrawal", APPLICANT, {"reason": "Không còn nhu cầu"})

    assert refused.value.rule == "withdrawal_before_decision"
    assert refused.value.source.startswith("Nghị định 118/2025/NĐ-CP, Điều 21; Thông tư 03/2025/TT-VPCP")
    assert "chưa có kết quả" in refused.value.reason
    assert nd118.store.load(case.code) == case  # a refusal writes nothing
    assert len(nd118.store.history(case.code)) == case.version
    assert nd118.store.effects(case.code) == effects


def test_a_withdrawal_once_the_decision_is_issued_is_still_allowed_under_decree_61(motcua: Motcua) -> None:
    case = approved(motcua)
    assert case.rule_set == "nd61-2018"
    case = motcua.service.fire(case.code, "request_withdrawal", APPLICANT, {"reason": "Không còn nhu cầu"})
    assert case.state["lifecycle"] == "withdrawal_requested"


@pytest.mark.parametrize("asker", [APPLICANT, OFFICER], ids=["applicant", "desk-on-their-behalf"])
def test_a_withdrawal_while_processing_is_asked_then_confirmed_with_its_two_papers(app: Motcua, asker: Actor) -> None:
    case = processing(app)
    rule_set = case.rule_set
    before = len(papers(app, case.code))

    case = app.service.fire(case.code, "request_withdrawal", asker, {"reason": "Không còn nhu cầu"})
    assert case.state["lifecycle"] == "withdrawal_requested"
    case = app.service.fire(case.code, "confirm_withdrawal", OFFICER, {})

    assert case.state["lifecycle"] == "withdrawn"
    assert papers(app, case.code)[before:] == [
        paper(rule_set, "withdrawal_request", received=True), paper(rule_set, "withdrawal_notice")]


def test_the_agency_stop_issues_its_own_paper_not_the_withdrawal_notice(app: Motcua) -> None:
    case = approved(app)  # the agency may stop after its decision too
    before = len(papers(app, case.code))

    case = app.service.fire(case.code, "stop", LEADER, {"reason": "Hồ sơ giả mạo"})

    assert case.state["lifecycle"] == "stopped"
    assert papers(app, case.code)[before:] == [paper(case.rule_set, "stop_notice")]
    assert paper(case.rule_set, "stop_notice") != paper(case.rule_set, "withdrawal_notice")


def test_the_agency_stop_needs_the_leader_and_a_reason(app: Motcua) -> None:
    case = processing(app)
    with pytest.raises(MalformedData):
        app.service.fire(case.code, "stop", LEADER, {})
    with pytest.raises(RoleNotAllowed):
        app.service.fire(case.code, "stop", APPLICANT, {"reason": "Đổi ý"})
    assert app.store.load(case.code) == case


def test_the_effects_carry_each_rule_set_papers(app: Motcua) -> None:
    refused = app.desk.submit(MARITAL, "online", Applicant("Đỗ Thị Hoa"), APPLICANT)
    app.service.fire(refused.code, "refuse", OFFICER, {"reason": "Không thuộc thẩm quyền"})
    case = processing(app)
    app.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy tờ"})

    assert papers(app, refused.code) == [paper(case.rule_set, "refusal")]
    assert papers(app, case.code) == [paper(case.rule_set, "receipt"), paper(case.rule_set, "supplement_request")]


def test_the_same_acts_carry_circular_01_numbers_then_circular_03_numbers(motcua: Motcua, nd118: Motcua) -> None:
    numbers: dict[str, list[JsonValue]] = {}
    for app in (motcua, nd118):
        withdrawn, stopped = processing(app), processing(app)
        app.service.fire(withdrawn.code, "request_withdrawal", APPLICANT, {"reason": "Không còn nhu cầu"})
        app.service.fire(withdrawn.code, "confirm_withdrawal", OFFICER, {})
        app.service.fire(stopped.code, "stop", LEADER, {"reason": "Hồ sơ giả mạo"})
        numbers[withdrawn.rule_set] = [p[1] for p in papers(app, withdrawn.code) + papers(app, stopped.code)[1:]]

    # receipt, withdrawal request, withdrawal notice; the stop's paper
    assert numbers == {"nd61-2018": ["01", None, None, None], "nd118-2025": ["01", None, "05", None]}


def test_the_letter_of_a_paper_says_received_or_issued_and_its_form_or_none(nd118: Motcua) -> None:
    case = processing(nd118)
    nd118.service.fire(case.code, "request_withdrawal", APPLICANT, {"reason": "Không còn nhu cầu"})
    nd118.service.fire(case.code, "confirm_withdrawal", OFFICER, {})
    items = [item for item in nd118.store.claim_effects(nd118.service.engine.clock.now(), 100, timedelta(minutes=5))
             if item.kind == "form" and item.payload["form"] != "receipt"]

    letters = [compose(item, form_role="officer") for item in items]

    assert [letter.subject for letter in letters if letter is not None] == [
        f"[motcua] Hồ sơ {case.code}: đã nhận Văn bản đề nghị rút hồ sơ của tổ chức, cá nhân",
        f"[motcua] Hồ sơ {case.code}: đã lập Thông báo dừng giải quyết hồ sơ",
    ]
    request, notice = (letter.body for letter in letters if letter is not None)
    assert "(không theo mẫu)" in request and "Người tiếp nhận: Trần Văn An" in request
    assert "(mẫu số 05)" in notice and "Người lập: Nguyễn Thị Lan" in notice
