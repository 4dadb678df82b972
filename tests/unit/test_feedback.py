"""Citizens' feedback (phản ánh, kiến nghị, the ``pakn`` workflow): reception, classification, answer, publication,
rating, the legal deadlines and their timers, the link to a dossier, and what the reports count of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.adapters.notifiers.smtp import compose
from motcua.shop import OneStop
from motcua.workflow.access.scope import Scope
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock, instant
from motcua.workflow.engine.model import Case, OutboxItem
from motcua.workflow.errors import (
    InvalidInput,
    MalformedData,
    OutsideScope,
    RoleNotAllowed,
    RuleRefused,
    TransitionNotAllowed,
)
from motcua.workflow.feedback.actions import CLASSIFICATION_TIMER, FEEDBACK_WORKFLOW
from motcua.workflow.feedback.intake import Feedback
from motcua.workflow.feedback.metrics import FEEDBACK_ROWS, feedback_counts, feedback_rows
from motcua.workflow.plan.metrics import measure, plan_inputs
from motcua.workflow.reports.par766 import FeedbackCounts, IndicatorCounts, scorecard
from tests.conftest import APPLICANT, LEADER, OFFICER, SPECIALIST

YEAR = (date(2024, 1, 1), date(2024, 12, 31))
MARCH = (date(2024, 3, 1), date(2024, 3, 31))
EARLY = (date(2024, 3, 1), date(2024, 3, 4))  # ends on the day of reception: nothing is overdue yet
ASSIGN = {"category": "thu_tuc_hanh_chinh", "assignee": SPECIALIST.name}


@pytest.fixture
def shop(motcua: Motcua) -> Iterator[OneStop]:
    yield OneStop(motcua)


def received(shop: OneStop, **extra: object) -> Case:
    feedback = Feedback("Nguyễn Văn Bình", "Thời gian giải quyết hồ sơ kéo dài", contact="0912000000",
                        **extra)  # type: ignore[arg-type]  # the tests pass Feedback fields
    return shop.receive_feedback(feedback, OFFICER)


def timers(motcua: Motcua, code: str) -> dict[str, datetime]:
    return {timer.name: timer.due_at for timer in motcua.store.timers(code)}


def run_due(motcua: Motcua, clock: ManualClock, until: datetime) -> list[str]:
    """Fire every timer due by ``until``, in order, as the worker would; the triggers fired."""
    clock.set(until)
    fired: list[str] = []
    while claimed := motcua.store.claim_due(clock.now(), 50, timedelta(minutes=1)):
        for timer in claimed:
            if motcua.service.fire_timer(timer, motcua.store) is not None:
                fired.append(timer.trigger)
    return fired


def answered(shop: OneStop, code: str, **data: object) -> Case:
    shop.fire(code, "assign", OFFICER, ASSIGN)
    return shop.fire(code, "answer", SPECIALIST, {"answer": "Đã chỉ đạo giải quyết", **data})


# -- the workflow ----------------------------------------------------------------------------------


def test_reception_sets_the_legal_deadlines_and_arms_every_timer(shop: OneStop, motcua: Motcua) -> None:
    case = received(shop)
    assert case.definition_key == FEEDBACK_WORKFLOW and case.code.startswith(f"PAKN-{motcua.desk.agency}-240304-")
    assert case.state == {"lifecycle": "received", "deadline": "on_time", "classification": "pending",
                          "publication": "none", "rating": "none"}
    limits = motcua.rules.get(case.rule_set).feedback
    calendar = motcua.calendar
    opened = instant(case.attributes["received_at"])
    due = instant(case.attributes["answer_due_at"])
    assert calendar.elapsed_working(opened, due) == calendar.hours.day_length * limits.answer_within_working_days
    classify = instant(case.attributes["classify_due_at"])
    assert calendar.elapsed_working(opened, classify) == (
        calendar.hours.day_length * limits.classify_within_working_days)
    armed = timers(motcua, case.code)
    assert armed[CLASSIFICATION_TIMER] == classify and armed["overdue"] == due
    assert armed["due_soon"] < due and any(name.startswith("escalation_") for name in armed)


def test_happy_path_assign_answer_publish_rate(shop: OneStop, motcua: Motcua, clock: ManualClock) -> None:
    case = received(shop)
    assigned = shop.fire(case.code, "assign", OFFICER, ASSIGN)
    assert assigned.state["classification"] == "done" and assigned.attributes["assignee"] == SPECIALIST.name
    assert CLASSIFICATION_TIMER not in timers(motcua, case.code)
    clock.advance(timedelta(days=2))
    done = shop.fire(case.code, "answer", SPECIALIST, {"answer": "Đã chỉ đạo giải quyết"})
    assert done.state["lifecycle"] == "answered" and done.state["publication"] == "none"
    assert timers(motcua, case.code) == {}  # the clock stopped: nothing left to fire
    published = shop.fire(case.code, "publish", OFFICER, {"where": "Cổng thông tin điện tử xã"})
    assert published.state["publication"] == "published"
    assert any(effect.payload.get("event") == "feedback_published" for effect in motcua.store.effects(case.code))
    rated = shop.fire(case.code, "rate", APPLICANT, {"satisfied": True})
    assert rated.state["rating"] == "satisfied" and rated.attributes["satisfied"] is True


def test_private_feedback_is_never_published(shop: OneStop) -> None:
    case = answered(shop, received(shop, private=True).code)
    assert case.state["publication"] == "withheld"
    with pytest.raises(TransitionNotAllowed):
        shop.fire(case.code, "publish", OFFICER, {"where": "Cổng thông tin điện tử xã"})
    by_answer = answered(shop, received(shop).code, private=True)  # the answer itself carries private data
    assert by_answer.state["publication"] == "withheld"


def test_refusals_write_nothing(shop: OneStop, motcua: Motcua) -> None:
    case = received(shop)
    before = (len(shop.history(case.code)), timers(motcua, case.code))
    with pytest.raises(RoleNotAllowed):
        shop.fire(case.code, "answer", APPLICANT, {"answer": "?"})
    with pytest.raises(TransitionNotAllowed):  # not assigned yet
        shop.fire(case.code, "answer", SPECIALIST, {"answer": "Đã xử lý"})
    with pytest.raises(MalformedData):
        shop.fire(case.code, "assign", OFFICER, {"category": "khong_co", "assignee": SPECIALIST.name})
    assert (len(shop.history(case.code)), timers(motcua, case.code)) == before
    sequences = motcua.store.next_sequence("probe")
    with pytest.raises(RoleNotAllowed):  # a specialist does not receive: refused before a number is drawn
        shop.receive_feedback(Feedback("A", "B"), SPECIALIST)
    assert motcua.store.next_sequence("probe") == sequences + 1
    assert shop.feedback().items == (case,)


def test_one_extension_within_the_limit_rearms_the_timers(shop: OneStop, motcua: Motcua) -> None:
    case = shop.fire(received(shop).code, "assign", OFFICER, ASSIGN)
    limits = motcua.rules.get(case.rule_set).feedback
    with pytest.raises(RuleRefused) as too_long:
        shop.fire(case.code, "extend", LEADER,
                  {"working_days": limits.extension_max_working_days + 1, "reason": "Phức tạp"})
    assert too_long.value.rule == "feedback.extension_length" and too_long.value.source == limits.source
    extended = shop.fire(case.code, "extend", LEADER, {"working_days": 5, "reason": "Cần xác minh"})
    due = instant(extended.attributes["answer_due_at"])
    assert motcua.calendar.elapsed_working(instant(case.attributes["answer_due_at"]), due) == (
        motcua.calendar.hours.day_length * 5)
    assert timers(motcua, case.code)["overdue"] == due and extended.attributes["extensions"] == 1
    with pytest.raises(RuleRefused) as twice:
        shop.fire(case.code, "extend", LEADER, {"working_days": 2, "reason": "Lần nữa"})
    assert twice.value.rule == "feedback.extensions"


def test_late_classification_then_overdue_then_escalation(
    shop: OneStop, motcua: Motcua, clock: ManualClock,
) -> None:
    case = received(shop)
    fired = run_due(motcua, clock, instant(case.attributes["classify_due_at"]))
    assert fired == ["mark_classification_late"] and shop.case(case.code).state["classification"] == "late"
    shop.fire(case.code, "assign", OFFICER, ASSIGN)  # late, yet classified
    fired = run_due(motcua, clock, instant(case.attributes["answer_due_at"]) + timedelta(days=10))
    assert fired[:2] == ["mark_due_soon", "mark_overdue"] and "escalate" in fired
    late = shop.case(case.code)
    assert (late.state["deadline"], late.state["classification"]) == ("overdue", "done")
    events = [effect.payload.get("event") for effect in motcua.store.effects(case.code)]
    assert {"classification_late", "due_soon", "overdue", "escalation"} <= set(events)
    with pytest.raises(RuleRefused) as after_deadline:
        shop.fire(case.code, "extend", LEADER, {"working_days": 2, "reason": "Muộn"})
    assert after_deadline.value.rule == "feedback.extension_before_deadline"


def test_a_warning_fired_after_the_answers_deadline_is_marked_outrun(
    shop: OneStop, motcua: Motcua, clock: ManualClock,
) -> None:
    case = received(shop)
    shop.fire(case.code, "assign", OFFICER, ASSIGN)
    due = instant(case.attributes["answer_due_at"])
    run_due(motcua, clock, due + timedelta(hours=1))  # the worker was down over the deadline
    marks = {effect.payload.get("event"): effect.payload.get("outrun") for effect in motcua.store.effects(case.code)}
    assert (marks["due_soon"], marks["overdue"]) == (True, None)


def test_answer_before_the_deadline_cancels_the_timers(shop: OneStop, motcua: Motcua, clock: ManualClock) -> None:
    case = answered(shop, received(shop).code)
    assert timers(motcua, case.code) == {}
    assert run_due(motcua, clock, instant(case.attributes["answer_due_at"]) + timedelta(days=30)) == []


def test_feedback_on_a_dossier_must_name_one_the_caller_sees(shop: OneStop, motcua: Motcua) -> None:
    dossier = shop.receive("1.004873", Applicant("Trần Văn An", id_number="030190000001"), OFFICER)
    linked = received(shop, dossier=dossier.code)
    assert linked.attributes["dossier"] == dossier.code
    with pytest.raises(InvalidInput):
        received(shop, dossier="000.00.00.H23-240304-9999")
    with pytest.raises(InvalidInput):  # a case, but not a dossier
        received(shop, dossier=linked.code)
    elsewhere = shop.scoped(Scope.of_units(["LOCAL-HP-LE-CHAN"]))  # another unit: sees none of these
    with pytest.raises(OutsideScope):
        elsewhere.receive_feedback(Feedback("A", "B"), OFFICER, unit=motcua.desk.agency)
    other = shop.scoped(Scope.of_applicant("030190000002"))  # another applicant's key sees no such dossier
    with pytest.raises(InvalidInput):
        other.receive_feedback(Feedback("A", "B", dossier=dossier.code), OFFICER)


def test_decline_takes_it_out_of_the_competence_counts(shop: OneStop) -> None:
    case = received(shop)
    declined = shop.fire(case.code, "decline", OFFICER,
                         {"reason": "Không thuộc thẩm quyền", "transferred_to": "UBND huyện"})
    assert declined.state["lifecycle"] == "declined"
    counts = feedback_counts([declined], *MARCH)
    assert (counts.received, counts.to_handle) == (1, 0)


# -- the counts and the indicators -----------------------------------------------------------------


def test_counts_by_period_and_unit(shop: OneStop, motcua: Motcua, clock: ManualClock) -> None:
    dossier = shop.receive("1.004873", Applicant("Trần Văn An"), OFFICER)
    on_time = answered(shop, received(shop, dossier=dossier.code).code)
    shop.fire(on_time.code, "rate", APPLICANT, {"satisfied": False})
    late = received(shop, dossier=dossier.code)  # the same dossier: one complaint
    pending = received(shop)
    shop.fire(late.code, "assign", OFFICER, ASSIGN)
    clock.set(instant(late.attributes["answer_due_at"]) + timedelta(days=3))
    shop.fire(late.code, "answer", SPECIALIST, {"answer": "Trả lời muộn"})
    cases = [shop.case(code) for code in (on_time.code, late.code, pending.code)]
    counts = feedback_counts(cases, *MARCH)
    assert counts == FeedbackCounts(received=3, to_handle=3, answered_on_time=1, answered_late=1,
                                    pending_overdue=1, unsatisfied=1, on_dossiers=1)
    assert feedback_counts(cases, *MARCH, units=frozenset({"OTHER"})) == FeedbackCounts()
    april = feedback_counts(cases, date(2024, 4, 1), date(2024, 4, 30))
    assert (april.received, april.to_handle) == (0, 1)  # the one still pending carries over
    assert [row[2] for row in feedback_rows(counts)] == [3, 1, 1, 0, 1]
    assert [row[0] for row in feedback_rows(counts)] == [key for key, _ in FEEDBACK_ROWS]


@pytest.mark.parametrize(
    ("after_due", "row"),
    [
        (timedelta(hours=7), "answered_on_time"),  # the due date, after the due hour
        (None, "answered_on_time"),  # 23:59 of the due date, Vietnam time (16:59 UTC)
        (timedelta(days=1), "answered_late"),  # the next day
    ],
    ids=["due-date-after-the-hour", "due-date-last-minute", "next-day"],
)
def test_an_answer_is_on_time_or_late_by_its_vietnam_date(
    shop: OneStop, clock: ManualClock, after_due: timedelta | None, row: str,
) -> None:
    """Biểu 06's rule (domain.md, [ours]): on time or late compare calendar dates in Asia/Ho_Chi_Minh — as the
    pending side of the same counts does (a piece still open on its due date is within)."""
    case = received(shop)
    shop.fire(case.code, "assign", OFFICER, ASSIGN)
    due = instant(case.attributes["answer_due_at"]).astimezone(VN_TZ)
    clock.set(due + after_due if after_due else due.replace(hour=23, minute=59))
    late_or_not = shop.fire(case.code, "answer", SPECIALIST, {"answer": "Đã chỉ đạo giải quyết"})
    counts = feedback_counts([late_or_not], date(2024, 3, 1), date(2024, 4, 30))
    assert (counts.answered_on_time, counts.answered_late) == ((1, 0) if row == "answered_on_time" else (0, 1))


def test_par766_feedback_indicators_and_the_complaint_rate() -> None:
    from motcua.definitions.catalogue import load_rule_sets  # noqa: PLC0415 - the shipped rules, here only

    rules = load_rule_sets().in_force(MARCH[1])
    dossiers = IndicatorCounts(total=10, late=1, rated=4, satisfied=3)
    feedback = FeedbackCounts(received=5, to_handle=5, answered_on_time=2, answered_late=1, pending_within=1,
                              pending_overdue=1, unsatisfied=1, on_dossiers=2)
    card = {i.key: i for i in scorecard(dossiers, rules, *MARCH, feedback).indicators}
    assert (card["petition_on_time"].numerator, card["petition_on_time"].denominator) == (3, 5)
    assert (card["petition_satisfaction"].numerator, card["petition_satisfaction"].denominator) == (2, 3)
    assert (card["satisfaction"].numerator, card["satisfaction"].denominator) == (10 - 1 - 1 - 2, 10)
    both = replace(feedback, on_dossiers_rated_unsatisfied=1)  # the rated one is complained of too: once
    card = {i.key: i for i in scorecard(dossiers, rules, *MARCH, both).indicators}
    assert (card["satisfaction"].numerator, card["satisfaction"].denominator) == (10 - 1 - 1 - 1, 10)
    without = scorecard(dossiers, rules, *MARCH)
    assert any(note.startswith("petition_on_time: no feedback") for note in without.notes)


def test_scorecard_and_plan_read_the_feedback_cases(shop: OneStop, motcua: Motcua) -> None:
    answered(shop, received(shop).code)
    received(shop)  # still within its deadline at the period's end
    card = {i.key: i for i in shop.par766(*EARLY).indicators}
    assert (card["petition_on_time"].numerator, card["petition_on_time"].denominator) == (2, 2)
    assert (card["petition_satisfaction"].numerator, card["petition_satisfaction"].denominator) == (1, 1)
    elsewhere = shop.scoped(Scope.of_units(["LOCAL-HP-LE-CHAN"]))  # another unit: sees none of these
    assert shop.par766(*EARLY, unit=motcua.desk.agency).indicators == shop.par766(*EARLY).indicators
    with pytest.raises(Exception, match="SOMEWHERE"):
        elsewhere.par766(*EARLY, unit="SOMEWHERE-ELSE")
    from motcua.definitions.plans import PLANS_DIR, load_plan  # noqa: PLC0415

    plan = load_plan(PLANS_DIR / "an-thuong-2023.yaml")
    inputs, _ = plan_inputs(motcua.store.entries(), motcua.store.cases(), motcua.workflows.status_of,
                            motcua.catalogue, plan, start=EARLY[0], end=EARLY[1], as_of=EARLY[1])
    assert (inputs.feedback.received, inputs.feedback.answered_on_time, inputs.feedback.pending_within) == (2, 1, 1)
    measured = measure("feedback_on_time_rate", plan, inputs)
    assert (measured.numerator, measured.denominator) == (2, 2)


def test_the_overdue_e_mail_names_the_feedback(shop: OneStop, motcua: Motcua, clock: ManualClock) -> None:
    case = received(shop)
    run_due(motcua, clock, instant(case.attributes["answer_due_at"]))
    effect = next(e for e in motcua.store.effects(case.code) if e.payload.get("event") == "overdue")
    item = OutboxItem(1, case.code, effect.kind, effect.payload, 0, "pending", clock.now())
    letter = compose(item)
    assert letter is not None and letter.role == "leader"
    assert f"Phản ánh, kiến nghị {case.code} đã quá hạn trả lời" in letter.subject
    assert "Nguyễn Văn Bình" not in letter.body  # the sender's name is never e-mailed


def test_the_complaint_rate_reads_the_facts_of_the_dossiers_feedback_concerns_in_one_read(
        shop: OneStop, motcua: Motcua, monkeypatch: pytest.MonkeyPatch) -> None:
    """A province's year holds thousands of feedback items: the dossiers they concern are read from the projection
    together, not one transaction (two queries) each."""
    for _ in range(3):
        dossier = shop.receive("1.004873", Applicant("Trần Văn An"), OFFICER)
        received(shop, dossier=dossier.code)
    reads: list[str] = []
    for name in ("facts", "facts_by_code"):
        real = getattr(motcua.reports, name, None)
        if real is not None:  # the projection's own reads, counted as they run
            monkeypatch.setattr(motcua.reports, name,
                                lambda *args, _real=real, _name=name: reads.append(_name) or _real(*args))
    card = {i.key: i for i in shop.par766(*YEAR).indicators}
    assert reads == ["facts_by_code"]
    assert (card["satisfaction"].numerator, card["satisfaction"].denominator) == (0, 3)
