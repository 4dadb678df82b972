"""Citizens' feedback on every store (memory, SQLite, PostgreSQL), through the public API: numbering, a refusal
writing nothing, timers armed and cancelled, queries by state and unit, and the Decision 766 feedback indicators
and plan counts — the same on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Final

import pytest

import motcua
from motcua.workflow.engine.clock import ManualClock, instant
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.feedback.metrics import feedback_cases, feedback_counts
from motcua.workflow.reports.par766 import FeedbackCounts
from tests.conftest import START

OFFICER: Final = motcua.Actor.of("Nguyễn Thị Lan", "officer")
SENDER: Final = motcua.Actor.of("Nguyễn Văn Bình", "applicant")  # the sender rates the answer, never the unit
SPECIALIST: Final = motcua.Actor.of("Phạm Văn Hùng", "specialist")
ASSIGN: Final = {"category": "quy_dinh_hanh_chinh", "assignee": "Phạm Văn Hùng"}
MARCH: Final = (date(2024, 3, 1), date(2024, 3, 31))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def shop(url: str, clock: ManualClock) -> Iterator[motcua.OneStop]:
    with motcua.connect(url, clock=clock, observers=[]) as opened:
        yield opened


def test_feedback_is_stored_timed_and_counted_alike(shop: motcua.OneStop, clock: ManualClock) -> None:
    store, home = shop.parts.store, shop.parts.desk.agency
    dossier = shop.receive("1.001193", motcua.Applicant("Trần Văn An"), OFFICER)
    with pytest.raises(motcua.RoleNotAllowed):
        shop.receive_feedback(motcua.Feedback("A", "B"), SPECIALIST)
    assert [case.code for case in store.cases()] == [dossier.code]  # the refusal wrote nothing
    first = shop.receive_feedback(motcua.Feedback("Nguyễn Văn Bình", "Chậm", dossier=dossier.code), OFFICER)
    second = shop.receive_feedback(motcua.Feedback("Lê Thị Cúc", "Niêm yết thiếu", channel="online"), OFFICER)
    assert (first.code, second.code) == (f"PAKN-{home}-240304-0001", f"PAKN-{home}-240304-0002")
    assert {timer.name for timer in store.timers(first.code)} >= {"classification", "due_soon", "overdue"}
    shop.fire(first.code, "assign", OFFICER, ASSIGN)
    clock.advance(timedelta(hours=3))
    shop.fire(first.code, "answer", SPECIALIST, {"answer": "Đã chỉ đạo"})
    shop.fire(first.code, "rate", SENDER, {"satisfied": False})
    assert list(store.timers(first.code)) == []
    clock.set(instant(second.attributes["answer_due_at"]) + timedelta(minutes=1))
    while claimed := store.claim_due(clock.now(), 50, timedelta(minutes=1)):
        for timer in claimed:
            shop.parts.service.fire_timer(timer, store)
    assert shop.case(second.code).state["deadline"] == "overdue"
    overdue = shop.feedback(CaseFilter(deadline="overdue", unit=home))
    assert [case.code for case in overdue.items] == [second.code]
    assert [case.code for case in shop.feedback(CaseFilter(lifecycle="answered")).items] == [first.code]
    counts = feedback_counts(feedback_cases(store, frozenset({home})), *MARCH, units=frozenset({home}))
    assert counts == FeedbackCounts(received=2, to_handle=2, answered_on_time=1, pending_overdue=1, unsatisfied=1,
                                    on_dossiers=1)
    card = {i.key: i for i in shop.par766(*MARCH).indicators}
    assert (card["petition_on_time"].numerator, card["petition_on_time"].denominator) == (1, 2)
    assert (card["petition_satisfaction"].numerator, card["petition_satisfaction"].denominator) == (0, 1)


def test_a_dossier_rated_unsatisfied_and_complained_of_is_one_complaint(shop: motcua.OneStop) -> None:
    """The complaint rate of ``satisfaction`` counts each dossier once: rated below 4, or concerned by feedback
    received in the period, or both (one dossier, one complaint)."""
    rated_and_complained, rated_only, complained_only, _, _ = (
        shop.receive("1.001193", motcua.Applicant("Trần Văn An"), OFFICER) for _ in range(5))
    everyone = motcua.Actor.of("Nguyễn Thị Lan", "officer", "specialist", "leader", "applicant")
    data: dict[str, dict[str, motcua.JsonValue]] = {
        "assign": {"assignee": "Phạm Văn Hùng", "electronic": True},
        "submit_for_approval": {"approver": "Lê Minh Tuấn", "electronic": True},
        "mark_result_ready": {"electronic": True}, "rate": {"rating": 2}}
    for dossier in (rated_and_complained, rated_only):
        for trigger in ("assign", "submit_for_approval", "approve", "mark_result_ready", "return_result", "rate"):
            shop.fire(dossier.code, trigger, everyone, data.get(trigger, {}))
    for dossier in (rated_and_complained, complained_only, complained_only):  # two pieces on one: once
        shop.receive_feedback(motcua.Feedback("Nguyễn Văn Bình", "Chậm", dossier=dossier.code), OFFICER)
    day = START.date()  # the day all five were received: none late, so the clamp at 0 hides nothing
    card = {i.key: i for i in shop.par766(day, day).indicators}
    assert (card["satisfaction"].numerator, card["satisfaction"].denominator) == (5 - 3, 5)
