"""The engine on the memory store: decisions, typed refusals, nothing written on refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Case
from motcua.workflow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrencyConflict,
    GuardRejected,
    MalformedData,
    RoleNotAllowed,
    TransitionNotAllowed,
    UnknownProcedure,
    UnknownTrigger,
)
from tests.conftest import APPLICANT, LEADER, OFFICER, SPECIALIST, SYSTEM

BIRTH = "1.001193"  # đăng ký khai sinh: within the day, cut-off 15:00
MARITAL = "1.004873"  # xác nhận tình trạng hôn nhân: 3 working days


def received(motcua: Motcua, procedure: str = MARITAL) -> Case:
    return motcua.desk.receive(procedure, "direct", Applicant("Trần Văn An"), OFFICER)


def in_processing(motcua: Motcua) -> Case:
    case = received(motcua)
    return motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})


def assert_unchanged(motcua: Motcua, before: Case) -> None:
    assert motcua.store.load(before.code) == before
    assert len(motcua.store.history(before.code)) == before.version


def test_receive_opens_then_receives_with_numbered_code(motcua: Motcua) -> None:
    case = received(motcua)
    assert case.code == "000.00.00.H23-240304-0001"
    assert case.state == {"lifecycle": "received", "deadline": "on_time", "records": "paper"}
    assert case.version == 2
    assert [entry.trigger for entry in motcua.store.history(case.code)] == ["open", "receive"]
    assert case.rule_set == "nd61-2018"
    assert case.attributes["procedure_name"] == "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân"


def test_decision_carries_entry_timers_and_effects(motcua: Motcua) -> None:
    opened = motcua.desk.submit(MARITAL, "online", Applicant("Đỗ Thị Hoa"), APPLICANT)
    decision = motcua.service.engine.fire(opened, "receive", OFFICER, {})
    assert decision.case.version == opened.version + 1
    assert decision.entry.prev_hash == opened.head_hash
    assert decision.entry.state_after == {"lifecycle": "received", "deadline": "on_time", "records": "digitized"}
    assert {timer.name for timer in decision.timers} >= {"overdue", "due_soon"}
    assert [effect.payload["form"] for effect in decision.effects] == ["receipt"]
    assert motcua.store.load(opened.code) == opened  # deciding wrote nothing


def test_decision_carries_the_values_its_definition_indexes(motcua: Motcua) -> None:
    case = received(motcua)
    decision = motcua.service.engine.fire(case, "assign", OFFICER, {"assignee": SPECIALIST.name})
    assert decision.index == {"procedure": MARITAL, "officer": SPECIALIST.name,
                              "due": decision.case.attributes["appointment"], "unit": "000.00.00.H23",
                              "received_by": "000.00.00.H23"}
    assert decision.index == motcua.workflows.index_of(decision.case)


def test_unknown_trigger_is_typed_and_writes_nothing(motcua: Motcua) -> None:
    case = received(motcua)
    with pytest.raises(UnknownTrigger) as raised:
        motcua.service.fire(case.code, "teleport", OFFICER)
    assert raised.value.trigger == "teleport"
    assert_unchanged(motcua, case)


def test_transition_not_allowed_names_trigger_and_state(motcua: Motcua) -> None:
    case = received(motcua)
    with pytest.raises(TransitionNotAllowed) as raised:
        motcua.service.fire(case.code, "return_result", OFFICER)
    assert raised.value.trigger == "return_result"
    assert raised.value.state["lifecycle"] == "received"
    assert_unchanged(motcua, case)


def test_role_is_checked_before_anything_else(motcua: Motcua) -> None:
    case = in_processing(motcua)
    with pytest.raises(RoleNotAllowed) as raised:
        motcua.service.fire(case.code, "stop", OFFICER, {"reason": "x"})
    assert raised.value.allowed == ("leader",)
    assert_unchanged(motcua, case)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "ok", "colour": "red"}, "colour"),
        ({"reason": 42}, "reason"),
    ],
)
def test_malformed_data_names_the_field(motcua: Motcua, data: dict[str, object], field: str) -> None:
    case = in_processing(motcua)
    with pytest.raises(MalformedData) as raised:
        motcua.service.fire(case.code, "request_supplement", SPECIALIST, data)
    assert field in raised.value.problems
    assert_unchanged(motcua, case)


def test_rating_out_of_range_is_refused(motcua: Motcua) -> None:
    case = received(motcua)
    with pytest.raises(MalformedData) as raised:
        motcua.service.fire(case.code, "rate", APPLICANT, {"rating": 6})
    assert "rating" in raised.value.problems


def test_guidance_is_given_once_in_writing(motcua: Motcua) -> None:
    case = motcua.desk.submit(MARITAL, "direct", Applicant("Đỗ Thị Hoa"), OFFICER)
    case = motcua.service.fire(case.code, "request_completion", OFFICER, {"reason": "Thiếu tờ khai"})
    assert case.state["lifecycle"] == "submitted"
    with pytest.raises(GuardRejected) as raised:
        motcua.service.fire(case.code, "request_completion", OFFICER, {"reason": "Thiếu ảnh"})
    assert raised.value.guards == ("not_guided_before",)
    assert_unchanged(motcua, case)


def test_cross_region_condition_blocks_electronic_result_before_decision(motcua: Motcua) -> None:
    case = in_processing(motcua)
    with pytest.raises(GuardRejected):
        motcua.service.fire(case.code, "issue_electronic_result", SPECIALIST)


def test_stale_expected_version_is_a_conflict(motcua: Motcua) -> None:
    case = in_processing(motcua)
    with pytest.raises(ConcurrencyConflict):
        motcua.service.fire(case.code, "request_payment", SPECIALIST, {"amount": 1}, expected_version=case.version - 1)
    assert_unchanged(motcua, case)


def test_committing_a_stale_decision_is_a_conflict(motcua: Motcua) -> None:
    case = in_processing(motcua)
    first = motcua.service.engine.fire(case, "request_payment", SPECIALIST, {"amount": 50000})
    second = motcua.service.engine.fire(case, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})
    motcua.store.commit(first)
    with pytest.raises(ConcurrencyConflict):
        motcua.store.commit(second)
    assert motcua.store.load(case.code).state["lifecycle"] == "awaiting_payment"
    assert len(motcua.store.history(case.code)) == first.case.version


def test_opening_a_used_code_is_refused(motcua: Motcua) -> None:
    case = received(motcua)
    with pytest.raises(CaseAlreadyExists):
        motcua.desk.submit(MARITAL, "direct", Applicant("Khác"), OFFICER, code=case.code)


def test_unknown_procedure_and_case(motcua: Motcua) -> None:
    with pytest.raises(UnknownProcedure):
        motcua.desk.receive("9.999999", "direct", Applicant("A"), OFFICER)
    with pytest.raises(CaseNotFound):
        motcua.service.fire("nope", "receive", OFFICER)


def test_withdrawal_is_impossible_once_the_result_is_ready(motcua: Motcua) -> None:
    case = in_processing(motcua)
    for trigger, actor, data in [
        ("submit_for_approval", SPECIALIST, {"approver": LEADER.name}),
        ("approve", LEADER, {}),
        ("mark_result_ready", SPECIALIST, {}),
    ]:
        case = motcua.service.fire(case.code, trigger, actor, data)
    with pytest.raises(TransitionNotAllowed):
        motcua.service.fire(case.code, "request_withdrawal", APPLICANT, {"reason": "Đổi ý"})


def test_timer_triggers_need_the_system_role_and_live_lifecycle(motcua: Motcua, clock: ManualClock) -> None:
    case = in_processing(motcua)
    with pytest.raises(RoleNotAllowed):
        motcua.service.fire(case.code, "mark_overdue", OFFICER)
    clock.advance(timedelta(days=7))
    case = motcua.service.fire(case.code, "mark_overdue", SYSTEM)
    assert case.state["deadline"] == "overdue"
    paused = motcua.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Thiếu giấy"})
    with pytest.raises(GuardRejected):
        motcua.service.fire(paused.code, "escalate", SYSTEM, {"step": 3})


def test_final_states_accept_no_more_moves(motcua: Motcua) -> None:
    case = motcua.desk.submit(BIRTH, "online", Applicant("A"), APPLICANT)
    case = motcua.service.fire(case.code, "refuse", OFFICER, {"reason": "Sai thẩm quyền"})
    with pytest.raises(TransitionNotAllowed):
        motcua.service.fire(case.code, "receive", OFFICER)
    assert case.attributes["end_state"] == "refused"
