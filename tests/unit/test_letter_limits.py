"""The limits on a dossier's letters, on both rule sets: one re-dating by apology, one supplement request on time.

A dossier received in 2024 keeps ``nd61-2018``, one received in August 2025 ``nd118-2025``; every rule is checked on
both. A refusal names the rule and its legal source and writes nothing; the reports count what the limits record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.definitions.plans import load_plan, plan_paths
from motcua.workflow.dossiers.actions import DossierServices, dossier_registry
from motcua.workflow.dossiers.catalogue import Catalogue, Procedure
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.dossiers.limits import REDATING_RULE, SUPPLEMENT_RULE
from motcua.workflow.dossiers.sla import SlaClock
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.engine.registry import Context
from motcua.workflow.errors import GuardRejected, MalformedData, RoleNotAllowed, RuleRefused
from motcua.workflow.plan.metrics import PlanInputs, measure
from motcua.workflow.plan.model import Plan
from motcua.workflow.reports.par766 import scorecard
from tests.conftest import LEADER, OFFICER, SPECIALIST

ALLOWANCE = "1.001776"  # monthly social allowance: 10 working days
MARITAL = "1.004873"  # 3 working days


@dataclass(frozen=True)
class Frame:
    rule_set: str
    monday: date  # a Monday with no day off in the fortnight after it


FRAMES = [
    pytest.param(Frame("nd61-2018", date(2024, 3, 4)), id="nd61-2018"),
    pytest.param(Frame("nd118-2025", date(2025, 8, 4)), id="nd118-2025"),
]


@dataclass
class Desk:
    motcua: Motcua
    clock: ManualClock
    frame: Frame

    def at(self, day: int, hour: int = 9) -> None:
        """``day`` days after the frame's Monday, at ``hour``."""
        moment = self.frame.monday + timedelta(days=day)
        self.clock.set(datetime(moment.year, moment.month, moment.day, hour, tzinfo=VN_TZ))

    def receive(self, procedure: str = ALLOWANCE) -> Case:
        self.at(0, 8)
        case = self.motcua.desk.receive(procedure, "direct", Applicant("Trần Văn An"), OFFICER)
        assert case.rule_set == self.frame.rule_set
        return self.fire(case, "assign", OFFICER, assignee=SPECIALIST.name)

    def fire(self, case: Case, trigger: str, actor: Actor, **data: JsonValue) -> Case:
        return self.motcua.service.fire(case.code, trigger, actor, data)

    def stored(self, code: str) -> tuple[object, ...]:
        store = self.motcua.store
        return store.load(code), tuple(store.history(code)), tuple(store.timers(code)), tuple(store.effects(code))

    def refused(self, case: Case, trigger: str, actor: Actor, error: type[Exception], **data: JsonValue) -> Exception:
        """Fire, expecting ``error``; the store must hold exactly what it held before."""
        before = self.stored(case.code)
        with pytest.raises(error) as caught:
            self.fire(case, trigger, actor, **data)
        assert self.stored(case.code) == before
        return caught.value


@pytest.fixture(params=FRAMES)
def desk(request: pytest.FixtureRequest, motcua: Motcua, clock: ManualClock) -> Desk:
    frame: Frame = request.param
    return Desk(motcua, clock, frame)


def records(case: Case, name: str) -> list[dict[str, JsonValue]]:
    value = case.attributes.get(name)
    assert isinstance(value, list)
    return [item for item in value if isinstance(item, dict)]


def day(offset: int, frame: Frame) -> str:
    return (frame.monday + timedelta(days=offset)).isoformat()


# -- one re-dating ---------------------------------------------------------------------------------------------


def test_a_second_re_dating_is_refused_by_the_rule_and_writes_nothing(desk: Desk) -> None:
    case = desk.receive()
    desk.at(1)
    case = desk.fire(case, "apologize", LEADER, reason="Chờ xác minh", new_date=day(18, desk.frame))
    desk.at(2)

    refused = desk.refused(case, "apologize", LEADER, RuleRefused, reason="Chưa xong", new_date=day(21, desk.frame))

    assert isinstance(refused, RuleRefused)
    rules = desk.motcua.rules.get(desk.frame.rule_set)
    assert (refused.rule, refused.source) == (REDATING_RULE, rules.redating.source)
    first = (desk.frame.monday + timedelta(days=1)).strftime("%d/%m/%Y")
    promised = (desk.frame.monday + timedelta(days=18)).strftime("%d/%m/%Y")
    assert first in refused.reason and promised in refused.reason
    assert refused.guards == ("redating_allowed",)


def test_a_letter_without_a_new_date_is_allowed_after_the_re_dating(desk: Desk) -> None:
    case = desk.receive()
    legal = case.attributes["appointment"]
    desk.at(1)
    case = desk.fire(case, "apologize", LEADER, reason="Chờ xác minh", new_date=day(18, desk.frame))
    desk.at(2)
    case = desk.fire(case, "apologize", LEADER, reason="Vẫn chờ xác minh")
    desk.at(3)
    case = desk.fire(case, "apologize", LEADER, reason="Lần thứ ba")

    letters = records(case, "apologies")
    assert [letter["new_date"] for letter in letters] == [day(18, desk.frame), None, None]
    history = records(case, "appointment_history")
    assert [(h["kind"], h["appointment"]) for h in history] == [("initial", legal), ("apology", day(18, desk.frame))]
    assert case.attributes["appointment"] == legal  # the legal appointment never moves
    forms = [e.payload["form"] for e in desk.motcua.store.effects(case.code) if e.kind == "form"]
    assert forms.count("apology") == 3


@pytest.mark.parametrize(("offset", "why"), [(-1, "before today"), (5, "before the appointment")])
def test_a_new_date_before_today_or_the_appointment_is_malformed(desk: Desk, offset: int, why: str) -> None:
    case = desk.receive()  # received Monday 08:00, due 10 working days later (Monday of the week after next)
    desk.at(1)

    refused = desk.refused(case, "apologize", LEADER, MalformedData, reason="x", new_date=day(offset + 1, desk.frame))

    assert isinstance(refused, MalformedData)
    assert why in refused.problems["new_date"]


@pytest.mark.parametrize("new_date", ["2200-01-01", "9999-12-31"])
def test_a_new_date_after_the_last_day_a_person_may_name_is_malformed_and_keeps_the_re_dating(
    desk: Desk, new_date: str
) -> None:
    """A typo (9999-12-31) would be stored, sent to DVCQG and use up the one re-dating a letter may make."""
    case = desk.receive()
    desk.at(1)

    refused = desk.refused(case, "apologize", LEADER, MalformedData, reason="x", new_date=new_date)

    assert isinstance(refused, MalformedData)
    assert refused.problems["new_date"] == (
        f"the new date {new_date} is outside the days motcua takes (1990-01-01 … 2199-12-31)")
    case = desk.fire(case, "apologize", LEADER, reason="Chờ xác minh", new_date="2199-12-31")  # the last day: taken
    assert records(case, "apologies")[0]["new_date"] == "2199-12-31"


def test_the_new_date_may_be_the_appointment_day(desk: Desk) -> None:
    case = desk.receive()
    appointment = datetime.fromisoformat(str(case.attributes["appointment"])).date().isoformat()
    desk.at(1)
    case = desk.fire(case, "apologize", LEADER, reason="Chờ xác minh", new_date=appointment)
    assert records(case, "apologies")[0]["new_date"] == appointment


# -- one supplement request -----------------------------------------------------------------------------------


def test_a_second_supplement_request_is_refused_by_the_rule_and_writes_nothing(desk: Desk) -> None:
    case = desk.receive()
    desk.at(1)
    case = desk.fire(case, "request_supplement", SPECIALIST, reason="Bản sao CCCD")
    desk.at(2)
    case = desk.fire(case, "supplement_received", OFFICER)

    refused = desk.refused(case, "request_supplement", SPECIALIST, RuleRefused, reason="Giấy xác nhận")

    assert isinstance(refused, RuleRefused)
    rules = desk.motcua.rules.get(desk.frame.rule_set)
    assert (refused.rule, refused.source) == (SUPPLEMENT_RULE, rules.supplement_requests.source)
    assert (desk.frame.monday + timedelta(days=1)).strftime("%d/%m/%Y") in refused.reason
    assert case.attributes["supplement_requests"] == 1


def test_a_leader_authorises_one_more_request_which_consumes_it(desk: Desk) -> None:
    case = desk.receive()
    desk.at(1)
    case = desk.fire(case, "request_supplement", SPECIALIST, reason="Bản sao CCCD")
    desk.at(2)
    case = desk.fire(case, "supplement_received", OFFICER)
    desk.at(2, 14)
    case = desk.fire(case, "authorise_extra_supplement", LEADER, reason="Hồ sơ cần thêm xác nhận của trưởng thôn")
    authorisation = case.attributes["supplement_authorisation"]
    assert authorisation == {"at": case.updated_at.isoformat(), "by": LEADER.name,
                             "reason": "Hồ sơ cần thêm xác nhận của trưởng thôn"}
    desk.at(3)
    case = desk.fire(case, "request_supplement", SPECIALIST, reason="Xác nhận của trưởng thôn")

    assert case.attributes["supplement_requests"] == 2
    assert case.attributes["supplement_authorisation"] is None  # consumed
    first, second = records(case, "supplement_history")
    assert "authorised_by" not in first
    assert (second["by"], second["authorised_by"], second["authorisation"]) == (SPECIALIST.name, LEADER.name,
                                                                                 authorisation)
    desk.at(4)
    case = desk.fire(case, "supplement_received", OFFICER)
    refused = desk.refused(case, "request_supplement", SPECIALIST, RuleRefused, reason="Lần ba")
    assert isinstance(refused, RuleRefused) and refused.rule == SUPPLEMENT_RULE


def test_only_a_leader_authorises_and_only_when_the_limit_is_reached(desk: Desk) -> None:
    case = desk.receive()
    desk.at(1)
    refused = desk.refused(case, "authorise_extra_supplement", LEADER, GuardRejected, reason="Chưa cần")
    assert not isinstance(refused, RuleRefused)  # nothing to authorise yet: no legal rule is invoked
    case = desk.fire(case, "request_supplement", SPECIALIST, reason="Bản sao CCCD")
    for actor in (SPECIALIST, OFFICER):
        desk.refused(case, "authorise_extra_supplement", actor, RoleNotAllowed, reason="Cho phép")
    case = desk.fire(case, "authorise_extra_supplement", LEADER, reason="Cho phép")  # while the first is awaited
    desk.refused(case, "authorise_extra_supplement", LEADER, GuardRejected, reason="Lần nữa")  # one at a time


@pytest.mark.parametrize(("offset", "hour", "within"), [(2, 16, True), (3, 8, True), (3, 9, False), (4, 9, False)])
def test_whether_the_first_request_came_within_three_working_days_is_recorded(
    desk: Desk, offset: int, hour: int, within: bool
) -> None:
    case = desk.receive()  # Monday 08:00: three working days end on Thursday 08:00
    desk.at(offset, hour)
    case = desk.fire(case, "request_supplement", SPECIALIST, reason="Bản sao CCCD")

    [entry] = records(case, "supplement_history")
    assert entry == {"at": case.updated_at.isoformat(), "by": SPECIALIST.name, "within_working_days": 3,
                     "within_limit": within}


def test_a_procedure_may_set_its_own_limit(motcua: Motcua, clock: ManualClock) -> None:
    """Sector law: the procedure's ``supplement_request_within_working_days`` replaces the rule set's 3."""
    clock.set(datetime(2024, 3, 4, 8, tzinfo=VN_TZ))
    case = motcua.desk.receive(ALLOWANCE, "direct", Applicant("Trần Văn An"), OFFICER)
    procedures = [with_limit(p, 1) if p.code == ALLOWANCE else p for p in motcua.catalogue]
    services = DossierServices(SlaClock(motcua.calendar), Catalogue(procedures), motcua.rules)
    record = dossier_registry(services).actions["record_supplement_request"].run
    for hour, within in ((8, True), (9, False)):  # one working day after Monday 08:00: Tuesday 08:00
        moment = datetime(2024, 3, 5, hour, tzinfo=VN_TZ)
        context = Context(case, "request_supplement", SPECIALIST, "specialist", {"reason": "x"}, moment,
                          {**case.state, "lifecycle": "supplement_requested"}, case.attributes)
        history = record(context).attributes["supplement_history"]
        assert isinstance(history, list) and isinstance(entry := history[-1], dict)
        assert (entry["within_working_days"], entry["within_limit"]) == (1, within)


def with_limit(procedure: Procedure, days: int) -> Procedure:
    return procedure.model_copy(update={"supplement_request_within_working_days": days})


# -- what the reports count ------------------------------------------------------------------------------------


def test_decision_766_progress_counts_a_twice_supplemented_dossier_as_not_on_time(desk: Desk) -> None:
    twice = desk.receive()
    plain = desk.receive()
    desk.at(1)
    twice = desk.fire(twice, "request_supplement", SPECIALIST, reason="Bản sao CCCD")
    desk.at(2)
    twice = desk.fire(twice, "supplement_received", OFFICER)
    twice = desk.fire(twice, "authorise_extra_supplement", LEADER, reason="Cần thêm xác nhận")
    twice = desk.fire(twice, "request_supplement", SPECIALIST, reason="Xác nhận của trưởng thôn")
    desk.at(3)
    twice = desk.fire(twice, "supplement_received", OFFICER)
    desk.at(4)
    for case in (twice, plain):  # both resolved well before their appointments
        desk.fire(case, "submit_for_approval", SPECIALIST, approver=LEADER.name)
        desk.fire(case, "approve", LEADER)
        desk.fire(case, "mark_result_ready", SPECIALIST)

    reports, first = desk.motcua.reports, desk.frame.monday
    reports.catch_up()
    period = (first, first + timedelta(days=30))
    assert reports.bieu06(*period).total.resolved_early == 2  # Biểu 06 keeps the dates' verdict
    counts = reports.indicator_counts(*period)
    assert (counts.resolved_early, counts.resupplemented, counts.late) == (2, 1, 0)
    card = scorecard(counts, desk.motcua.rules.get(desk.frame.rule_set), *period)
    progress = next(indicator for indicator in card.indicators if indicator.key == "progress")
    assert (progress.numerator, progress.denominator, progress.value) == (1, 2, 50.0)
    facts = reports.facts(twice.code)
    assert facts is not None and facts.supplement_requests == 2


def test_the_plan_counts_a_late_dossier_covered_by_an_in_time_re_dating(desk: Desk) -> None:
    dated, undated, too_late, none = (desk.receive(MARITAL) for _ in range(4))  # due Thursday 08:00
    desk.at(1)  # the apology deadline is Wednesday 08:00
    desk.fire(dated, "apologize", LEADER, reason="Chờ xác minh", new_date=day(7, desk.frame))
    desk.fire(undated, "apologize", LEADER, reason="Chờ xác minh")
    desk.at(4)
    desk.fire(too_late, "apologize", LEADER, reason="Chờ xác minh", new_date=day(7, desk.frame))
    desk.at(14)  # all four still open, past their appointment

    reports, first = desk.motcua.reports, desk.frame.monday
    reports.catch_up()
    facts = [reports.facts(case.code) for case in (dated, undated, too_late, none)]
    assert [f.redated_in_time for f in facts if f is not None] == [True, False, False, False]
    assert [f.apologies_in_time for f in facts if f is not None] == [1, 1, 0, 0]
    end = first + timedelta(days=14)
    inputs = PlanInputs([f for f in facts if f is not None], (), (), first, end, end)
    measured = measure("apology_coverage", shipped_plan(), inputs)
    assert (measured.numerator, measured.denominator) == (1, 4)  # the re-dating sent in time alone covers


def shipped_plan() -> Plan:
    return load_plan(plan_paths()[0])
