"""Issue 15, point 6: the budgets of a procedure's internal process, the control sheet judging each step against its
own budget, and the step timers warning the step's holder before the step's limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.notifiers.smtp import compose
from motcua.adapters.render.audit_xlsx import control_sheet_workbook
from motcua.definitions.catalogue import load_procedures
from motcua.definitions.units import load_units, unit_calendars
from motcua.entrypoints.cli.audit_cmd import register
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineRunner
from motcua.workflow.auditing.control_sheet import ControlSheet, control_sheet
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.dossiers.internal_process import (
    ProcessStep,
    StepBudget,
    legal_hours,
    working_time_label,
)
from motcua.workflow.dossiers.step_clock import (
    PAUSE_STATES,
    STEP_STATES,
    WARN_TRIGGER,
    closed,
    opened,
    records,
    warning_timer,
)
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Case, OutboxItem
from motcua.workflow.errors import InvalidDefinition
from motcua.workflow.worktime.calendar import WorkingCalendar
from motcua.workflow.worktime.hours import Timeliness
from tests.conftest import APPLICANT, LEADER, OFFICER, SPECIALIST

CHANGE = "1.004859"  # thay đổi, cải chính hộ tịch: 3 working days; 0,5 / 2 / 0,25 / 0,25 days, return not counted
MARITAL = "1.004873"  # 3 working days, no published steps
AN_THUONG = "LOCAL-HD-AN-THUONG"  # its own office hours: 07:30–12:00, 13:00–16:30 in winter


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def step_names(app: Motcua, code: str) -> dict[str, datetime]:
    return {t.name: t.due_at for t in app.store.timers(code) if t.trigger == WARN_TRIGGER}


class Notices:
    """A notifier keeping what it delivers."""

    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    def deliver(self, item: OutboxItem) -> None:
        self.items.append(item)


def runner(app: Motcua, clock: ManualClock, notices: Notices) -> InlineRunner:
    return InlineRunner(Handlers(app.service, app.store, app.store, notices, clock), clock)


# -- the catalogue: budgets checked at load ---------------------------------------------------------------------

ENTRY = """field: {{code: HT, name: Hộ tịch}}
procedures:
  - code: "1.000001"
    name: Thủ tục thử
    level: mot_phan
    processing_time:
      direct: {{amount: {amount}, unit: working_days}}
    source: thử
{steps}"""


def write(tmp_path: Path, steps: str, amount: int = 3) -> Path:
    (tmp_path / "a.yaml").write_text(ENTRY.format(amount=amount, steps=steps), encoding="utf-8")
    return tmp_path


def steps_yaml(*rows: tuple[str, str], source: str | None = "QĐ thử") -> str:
    lines = ["    steps:"] + [f"      - {{key: {key}, label: Bước, budget: {budget}}}" for key, budget in rows]
    return "\n".join(lines) + "\n" + (f"    steps_source: {source}\n" if source else "")


def refused(tmp_path: Path, steps: str, amount: int = 3) -> str:
    with pytest.raises(InvalidDefinition) as caught:
        load_procedures(write(tmp_path, steps, amount))
    return "; ".join(caught.value.problems)


def test_budgets_adding_up_to_more_than_the_legal_time_are_refused_naming_the_procedure_and_the_step(
    tmp_path: Path,
) -> None:
    problems = refused(tmp_path, steps_yaml(
        ("reception", "{amount: 1, unit: working_days}"), ("specialist", "{amount: 16, unit: working_hours}"),
        ("leader", "{amount: 1, unit: working_hours}"), ("return", "null"),
    ))
    assert "procedure 1.000001" in problems and "step 'leader'" in problems
    assert "25 working hours, more than the legal 3 working_days (24 working hours)" in problems


def test_a_negative_budget_is_refused_naming_the_step(tmp_path: Path) -> None:
    problems = refused(tmp_path, steps_yaml(("reception", "{amount: -4, unit: working_hours}")))
    assert "procedure 1.000001" in problems
    assert "step 'reception': budget -4 giờ làm việc must not be negative" in problems


def test_steps_twice_or_out_of_the_dossiers_order_are_refused(tmp_path: Path) -> None:
    twice = refused(tmp_path, steps_yaml(("reception", "null"), ("reception", "null")))
    assert "step 'reception' is listed twice" in twice
    backwards = refused(tmp_path, steps_yaml(("leader", "null"), ("specialist", "null")))
    assert "steps must follow the dossier's order" in backwards


def test_steps_need_the_decision_that_approved_them(tmp_path: Path) -> None:
    assert "steps need a steps_source" in refused(tmp_path, steps_yaml(("reception", "null"), source=None))
    assert "steps_source is given but there are no steps" in refused(tmp_path, "    steps_source: QĐ thử\n")


def test_a_budget_that_is_exactly_the_legal_time_is_kept_and_within_the_day_allows_one_working_day(
    tmp_path: Path,
) -> None:
    exact = steps_yaml(("reception", "{amount: 0.5, unit: working_days}"), ("specialist", "{amount: 20, unit: "
                       "working_hours}"), ("return", "null"))
    procedure = load_procedures(write(tmp_path, exact)).get("1.000001")
    assert [step.key for step in procedure.steps] == ["reception", "specialist", "return"]
    same_day = steps_yaml(("reception", "{amount: 2, unit: working_hours}"), ("leader", "{amount: 6, unit: "
                          "working_hours}"))
    assert load_procedures(write(tmp_path, same_day, amount=0)).get("1.000001").steps
    assert "step 'leader'" in refused(tmp_path, steps_yaml(
        ("reception", "{amount: 2, unit: working_hours}"), ("leader", "{amount: 7, unit: working_hours}")), amount=0)
    assert (legal_hours(0, "working_days"), legal_hours(3, "working_days"), legal_hours(30, "calendar_days"),
            legal_hours(12, "working_hours")) == (8, 24, 240, 12)


def test_the_shipped_steps_fit_their_legal_time_and_name_their_source() -> None:
    catalogue = load_procedures()
    with_steps = {p.code: p for p in catalogue if p.steps}
    assert {"HT", "CT"} <= {p.field_code for p in with_steps.values()}  # civil status and certification
    for procedure in with_steps.values():
        legal = procedure.time_for("direct")
        budgets = sum(step.budget.hours() for step in procedure.steps if step.budget is not None)
        assert budgets <= legal_hours(legal.amount, legal.unit), procedure.code
        assert procedure.steps_source and "2022/QĐ-UBND" in procedure.steps_source
    assert not catalogue.get(MARITAL).steps  # no published process: judged by the appointment


def test_a_budget_reads_as_the_decision_writes_it_and_counts_on_the_calendars_working_day() -> None:
    half_day = StepBudget(amount=0.5, unit="working_days")
    assert (half_day.label, half_day.hours()) == ("0,5 ngày làm việc", 4)
    assert half_day.duration(timedelta(hours=7, minutes=30)) == timedelta(hours=3, minutes=45)
    assert StepBudget(amount=4, unit="working_hours").duration(timedelta(hours=7)) == timedelta(hours=4)
    assert [working_time_label(timedelta(minutes=m)) for m in (0, 45, 120, 310)] == [
        "0 phút", "45 phút", "2 giờ", "5 giờ 10 phút"]


def test_the_steps_states_are_the_workflows(motcua: Motcua) -> None:
    definition = motcua.workflows.latest("tthc-dossier").definition
    states = definition.regions["lifecycle"].states
    assert set(STEP_STATES.values()) <= set(states)
    assert {name for name, state in states.items() if state.clock == "paused"} == PAUSE_STATES
    warn = definition.triggers[WARN_TRIGGER]
    assert warn.timer and set(warn.transitions[0].source) == set(STEP_STATES.values())


# -- the control sheet: each step against its own budget --------------------------------------------------------


def late_reception(app: Motcua, clock: ManualClock, monday: datetime) -> Case:
    """Received on a Monday at 08:00, assigned at 16:00 (6 working hours for a 4-hour reception), decided on
    Tuesday well within the other budgets, returned on Tuesday afternoon."""
    clock.set(monday)
    case = app.desk.receive(CHANGE, "direct", Applicant("Trần Văn An"), OFFICER)
    clock.set(monday.replace(hour=16))
    case = app.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    tuesday = monday + timedelta(days=1)
    clock.set(tuesday.replace(hour=9))
    case = app.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    clock.set(tuesday.replace(hour=10))
    case = app.service.fire(case.code, "approve", LEADER, {})
    clock.set(tuesday.replace(hour=10, minute=30))
    case = app.service.fire(case.code, "mark_result_ready", SPECIALIST, {})
    clock.set(tuesday.replace(hour=15))
    return app.service.fire(case.code, "return_result", OFFICER, {})


@pytest.mark.parametrize(("monday", "rule_set"), [
    pytest.param(at(2024, 3, 4, 8, 0), "nd61-2018", id="nd61-2018"),
    pytest.param(at(2025, 7, 7, 8, 0), "nd118-2025", id="nd118-2025"),
])
def test_a_step_over_its_own_budget_is_late_on_the_control_sheet(
    motcua: Motcua, clock: ManualClock, monday: datetime, rule_set: str
) -> None:
    case = late_reception(motcua, clock, monday)
    assert case.rule_set == rule_set
    sheet = control_sheet(motcua.store.history(case.code))
    assert [(h.trigger, h.step.key if h.step else None, h.result) for h in sheet.handovers] == [
        ("receive", None, Timeliness.EARLY),  # no step ends: judged by the appointment (Thursday)
        ("assign", "reception", Timeliness.LATE),  # 6 working hours of 4
        ("submit_for_approval", "specialist", Timeliness.EARLY),  # 3 of 16, ended a day before its limit
        ("approve", "leader", Timeliness.ON_TIME),  # 1 of 2, on its limit's day
        ("mark_result_ready", "release", Timeliness.ON_TIME),
        ("return_result", "return", Timeliness.EARLY),  # counts no time: judged by the appointment
    ]
    reception = sheet.handovers[1]
    assert reception.step is not None
    assert (reception.step.budget, reception.step.budget_time, reception.step.spent) == (
        "0,5 ngày làm việc", timedelta(hours=4), timedelta(hours=6))
    assert (reception.step.started, reception.step.ended) == (monday, monday.replace(hour=16))
    assert reception.deadline == monday.replace(hour=14)  # 08:00–11:30, 13:30–14:00
    assert sheet.late_steps == (reception,)
    returned = sheet.handovers[-1].step
    assert returned is not None and (returned.budget, returned.result) == (None, None)


def test_a_procedure_without_steps_keeps_the_appointment_rule(motcua: Motcua, clock: ManualClock) -> None:
    clock.set(at(2024, 3, 4, 8, 0))
    case = motcua.desk.receive(MARITAL, "direct", Applicant("Trần Văn An"), OFFICER)
    clock.set(at(2024, 3, 4, 16, 0))
    case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    assert "process_steps" not in case.attributes and not step_names(motcua, case.code)
    sheet = control_sheet(motcua.store.history(case.code))
    assert [(h.step, h.result) for h in sheet.handovers] == [(None, Timeliness.EARLY)] * 2


def test_a_step_spends_its_budget_over_all_its_visits_pauses_not_counted(motcua: Motcua, clock: ManualClock) -> None:
    clock.set(at(2024, 3, 4, 8, 0))
    case = motcua.desk.receive(CHANGE, "direct", Applicant("Trần Văn An"), OFFICER)
    case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    clock.set(at(2024, 3, 4, 10, 0))  # 2 hours, then a week's pause
    case = motcua.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Bản sao giấy khai sinh"})
    clock.set(at(2024, 3, 11, 8, 0))
    case = motcua.service.fire(case.code, "supplement_received", OFFICER, {})
    clock.set(at(2024, 3, 12, 10, 0))  # 10 more hours: 12 of 16, on the day of the visit's limit (Tuesday 16:00)
    case = motcua.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    clock.set(at(2024, 3, 12, 11, 0))
    case = motcua.service.fire(case.code, "send_back", LEADER, {"reason": "Sửa dự thảo"})
    clock.set(at(2024, 3, 13, 9, 0))  # 6 more hours: 18 of 16
    case = motcua.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    sheet = control_sheet(motcua.store.history(case.code))
    rows = {(h.trigger, h.number): h for h in sheet.handovers}
    assert rows[("request_supplement", 3)].step is None  # a pause interrupts the step, it does not end it
    first, second = rows[("submit_for_approval", 5)].step, rows[("submit_for_approval", 7)].step
    back = rows[("send_back", 6)].step
    assert back is not None and (back.key, back.spent, back.result) == ("leader", timedelta(hours=1),
                                                                       Timeliness.ON_TIME)
    assert first is not None and second is not None
    assert (first.spent, first.due, first.result) == (timedelta(hours=12), at(2024, 3, 12, 16, 0), Timeliness.ON_TIME)
    assert (second.spent, second.result) == (timedelta(hours=18), Timeliness.LATE)
    assert first.started == second.started == at(2024, 3, 4, 8, 0)


def test_the_cli_shows_each_steps_budget_and_the_late_steps(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    clock = ManualClock(at(2024, 3, 4, 8, 0))
    app = open_motcua(url, clock=clock, observers=[])
    try:
        code = late_reception(app, clock, at(2024, 3, 4, 8, 0)).code
    finally:
        app.close()
    cli = typer.Typer()
    register(cli)
    out = tmp_path / "phieu.json"
    shown = CliRunner().invoke(cli, ["control-sheet", code, "--format", "json", "--out", str(out), "--db", url])
    assert shown.exit_code == 0, shown.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["late_steps"] == [{"number": 2, "key": "reception",
                                       "label": "Tiếp nhận, kiểm tra hồ sơ; phân công công chức xử lý"}]
    step = document["handovers"][1]["process_step"]
    assert (step["budget"], step["budget_minutes"], step["spent_minutes"], step["result"]) == (
        "0,5 ngày làm việc", 240, 360, "late")
    assert document["handovers"][0]["process_step"] is None
    table = CliRunner().invoke(cli, ["control-sheet", code, "--format", "table", "--db", url])
    assert "Bước quá thời hạn riêng: 2. Tiếp nhận" in " ".join(table.stdout.split())


def test_the_workbook_names_the_step_its_budget_and_the_time_spent(motcua: Motcua, clock: ManualClock) -> None:
    case = late_reception(motcua, clock, at(2024, 3, 4, 8, 0))
    sheet: ControlSheet = control_sheet(motcua.store.history(case.code))
    book = control_sheet_workbook(sheet, motcua.workflows.latest("tthc-dossier").definition)
    form = [[cell for cell in row if cell is not None] for row in book["Phiếu kiểm soát"].values]
    assign = next(row for row in form if row and str(row[0]).endswith("Công chức chuyên môn xử lý")
                  and "Quá hạn" in row)
    assert "Bước «Tiếp nhận, kiểm tra hồ sơ; phân công công chức xử lý»: thời hạn 0,5 ngày làm việc, đã dùng 6 giờ" \
        in assign[-1]
    data = list(book["Dữ liệu"].values)
    assert data[0][10:15] == ("Bước của quy trình nội bộ", "Thời hạn của bước", "Bắt đầu bước", "Kết thúc bước",
                              "Thời gian đã dùng (phút làm việc)")
    assert data[2][11] == "0,5 ngày làm việc" and data[2][14] == 360 and data[2][-1] == 3


# -- the step timers -------------------------------------------------------------------------------------------


@pytest.fixture
def an_thuong() -> Iterator[tuple[Motcua, ManualClock]]:
    clock = ManualClock(at(2024, 3, 4, 11, 0))
    app = open_motcua("memory://", clock=clock, observers=[], agency=AN_THUONG)
    yield app, clock
    app.close()


def test_a_step_timer_is_armed_when_the_step_starts_on_the_deciding_units_calendar(
    an_thuong: tuple[Motcua, ManualClock],
) -> None:
    app, _ = an_thuong
    case = app.desk.receive(CHANGE, "direct", Applicant("Trần Văn An"), OFFICER)
    assert case.attributes["deciding_unit"] == AN_THUONG
    # An Thượng in winter: 11:00–12:00 and 13:00–16:00 make the 4 hours; the warning 2 working hours before
    assert step_names(app, case.code) == {"step_reception": at(2024, 3, 4, 14, 0)}
    assert records(case.attributes)["reception"].due == at(2024, 3, 4, 16, 0)
    calendar: WorkingCalendar = unit_calendars(load_units())[AN_THUONG]
    assert calendar.subtract_working(calendar.add_working(at(2024, 3, 4, 11, 0), timedelta(hours=4)),
                                     timedelta(hours=2)) == at(2024, 3, 4, 14, 0)
    office = app.calendar  # the office's own hours (07:00–11:30, 13:30–17:00) would warn at 15:00
    assert office.subtract_working(office.add_working(at(2024, 3, 4, 11, 0), timedelta(hours=4)),
                                   timedelta(hours=2)) == at(2024, 3, 4, 15, 0)


def test_a_step_timer_is_cancelled_when_the_step_ends(motcua: Motcua, clock: ManualClock) -> None:
    clock.set(at(2024, 3, 4, 8, 0))
    case = motcua.desk.receive(CHANGE, "direct", Applicant("Trần Văn An"), OFFICER)
    assert step_names(motcua, case.code) == {"step_reception": at(2024, 3, 4, 10, 0)}
    clock.set(at(2024, 3, 4, 9, 0))
    case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    assert step_names(motcua, case.code) == {"step_specialist": at(2024, 3, 6, 7, 0)}  # due Wed 09:00
    case = motcua.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    assert set(step_names(motcua, case.code)) == {"step_leader"}
    case = motcua.service.fire(case.code, "approve", LEADER, {})
    assert set(step_names(motcua, case.code)) == {"step_release"}
    case = motcua.service.fire(case.code, "mark_result_ready", SPECIALIST, {})
    assert motcua.store.timers(case.code) == []  # returning counts no time; the legal clock stopped


def test_the_warning_notifies_the_steps_holder_and_changes_nothing(motcua: Motcua, clock: ManualClock) -> None:
    notices = Notices()
    clock.set(at(2024, 3, 4, 8, 0))
    case = motcua.desk.receive(CHANGE, "direct", Applicant("Trần Văn An"), OFFICER)
    clock.set(at(2024, 3, 4, 9, 0))
    case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    assert runner(motcua, clock, notices).run_until(at(2024, 3, 6, 7, 30)) == 1
    warned = motcua.store.load(case.code)
    assert warned.state == case.state and warned.attributes == case.attributes
    assert motcua.store.history(case.code)[-1].trigger == WARN_TRIGGER
    specialist = [item.payload for item in notices.items if item.kind == "notify"]
    assert specialist == [{
        "event": "step_due_soon", "role": "specialist", "dossier": case.code, "at": "2024-03-06T07:00:00+07:00",
        "process_step": "specialist", "step_label": "Thẩm định, xử lý hồ sơ; trình lãnh đạo",
        "holder": SPECIALIST.name, "step_due": "2024-03-06T09:00:00+07:00",
    }]
    case = motcua.service.fire(case.code, "submit_for_approval", SPECIALIST, {"approver": LEADER.name})
    # 2 hours for the leader, as long as the warning's lead: warned at the limit itself
    assert step_names(motcua, case.code) == {"step_leader": at(2024, 3, 6, 9, 30)}
    runner(motcua, clock, notices).run_until(at(2024, 3, 6, 9, 31))
    leader = [item.payload for item in notices.items if item.payload.get("process_step") == "leader"]
    assert [(p["role"], p["holder"], p["at"], p.get("outrun")) for p in leader] == [
        ("leader", LEADER.name, "2024-03-06T09:30:00+07:00", True)]  # at the limit: its letter says it ran out


def test_a_paused_dossier_is_not_warned_and_resumes_with_what_remains(motcua: Motcua, clock: ManualClock) -> None:
    notices = Notices()
    clock.set(at(2024, 3, 4, 8, 0))
    case = motcua.desk.receive(CHANGE, "direct", Applicant("Trần Văn An"), OFFICER)
    clock.set(at(2024, 3, 4, 9, 0))
    case = motcua.service.fire(case.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    clock.set(at(2024, 3, 4, 10, 0))
    case = motcua.service.fire(case.code, "request_supplement", SPECIALIST, {"reason": "Bản sao giấy khai sinh"})
    assert step_names(motcua, case.code) == {}
    runner(motcua, clock, notices).run_until(at(2024, 3, 12, 8, 0))
    assert WARN_TRIGGER not in [entry.trigger for entry in motcua.store.history(case.code)]
    assert not [item for item in notices.items if item.payload.get("event") == "step_due_soon"]
    case = motcua.service.fire(case.code, "supplement_received", APPLICANT, {})
    # 1 of 16 hours spent: 15 remain from Tuesday 08:00 → Wednesday 17:00, warned at 15:00
    assert step_names(motcua, case.code) == {"step_specialist": at(2024, 3, 13, 15, 0)}
    assert records(case.attributes)["specialist"].spent == timedelta(hours=1)


def test_a_step_whose_budget_is_spent_arms_no_timer() -> None:
    calendar = unit_calendars(load_units())[AN_THUONG]
    step = ProcessStep(key="leader", label="Ký", budget=StepBudget(amount=1, unit="working_hours"))
    fresh = opened(None, step, timedelta(hours=1), "Lê Minh Tuấn", now=at(2024, 3, 4, 9, 0), calendar=calendar)
    timer = warning_timer("leader", fresh, at(2024, 3, 4, 9, 0), calendar, timedelta(0))  # no lead: at the limit
    assert timer is not None and timer.due_at == at(2024, 3, 4, 10, 0) == fresh.due
    left = closed(fresh, at(2024, 3, 4, 10, 30), calendar)  # sent back after 1.5 hours of 1
    again = opened(left, step, timedelta(hours=1), None, now=at(2024, 3, 4, 11, 0), calendar=calendar)
    assert (again.spent, again.due, again.holder) == (timedelta(hours=1, minutes=30), at(2024, 3, 4, 11, 0),
                                                     "Lê Minh Tuấn")
    assert warning_timer("leader", again, at(2024, 3, 4, 11, 0), calendar, timedelta(hours=2)) is None


def test_the_warning_reads_as_a_letter_to_the_holders_role() -> None:
    item = OutboxItem(
        id=7, case_code="000.00.00.H23-240304-0001", kind="notify", attempts=0, status="pending",
        next_attempt_at=at(2024, 3, 6, 7, 0), payload={
            "event": "step_due_soon", "role": "specialist", "dossier": "000.00.00.H23-240304-0001",
            "at": "2024-03-06T07:00:00+07:00", "process_step": "specialist",
            "step_label": "Thẩm định, xử lý hồ sơ; trình lãnh đạo", "holder": SPECIALIST.name,
            "step_due": "2024-03-06T09:00:00+07:00",
        })
    letter = compose(item)
    assert letter is not None and letter.role == "specialist"
    assert letter.subject == ("[motcua] Hồ sơ 000.00.00.H23-240304-0001 sắp hết thời hạn của bước xử lý theo quy "
                              "trình nội bộ")
    assert "Kính gửi: Công chức chuyên môn xử lý hồ sơ," in letter.body
    assert "Bước xử lý: Thẩm định, xử lý hồ sơ; trình lãnh đạo\nHạn của bước: 09:00 ngày 06/03/2024\n" in letter.body
    assert f"Người đang xử lý: {SPECIALIST.name}" in letter.body
    assert "Lần báo cáo cấp trên" not in letter.body  # a step warning is no escalation
