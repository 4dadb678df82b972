"""``motcua plan load``, ``report plan`` and ``report book`` on SQLite files, and the issue's "done when"."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import datetime
from functools import partial
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner, Result

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.definitions.plans import PLANS_DIR, load_plan
from motcua.entrypoints.cli import plan_cmd
from motcua.entrypoints.cli.main import app
from motcua.entrypoints.cli.plan_cmd import BOOK_COLUMNS
from motcua.entrypoints.cli.report_scope import EVERY_UNIT
from motcua.shop import connect
from motcua.simulation.story import DEMO_START, run_story
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import InvalidInput
from motcua.workflow.feedback.intake import Feedback
from motcua.workflow.plan.intake import load_tasks
from motcua.workflow.plan.model import Plan

ROOT = Path(__file__).resolve().parents[2]
PLAN = PLANS_DIR / "an-thuong-2023.yaml"
WIDE = {"COLUMNS": "240"}
DEMO_PERIOD = ("--from", "2024-03-01", "--to", "2024-04-30")
OWNER = Actor.of("Nguyễn Văn Nội", "owner")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=WIDE)


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan-demo") / "demo.db"
    clock = ManualClock(DEMO_START)
    motcua = open_motcua(f"sqlite:///{path}", clock=clock, observers=[])
    try:
        run_story(motcua, clock)
    finally:
        motcua.close()
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "demo.db"
    shutil.copy(demo_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def plan() -> Plan:
    return load_plan(PLAN)


def report_json(db: str, *extra: str) -> dict[str, object]:
    document = json.loads(ok("report", "plan", str(PLAN), "--db", db, "--format", "json", *extra))
    assert isinstance(document, dict)
    return document


def targets_of(document: dict[str, object]) -> dict[str, dict[str, object]]:
    items = document["targets"]
    assert isinstance(items, list)
    return {item["id"]: item for item in items}


def tasks_of(document: dict[str, object]) -> dict[str, dict[str, object]]:
    items = document["tasks"]
    assert isinstance(items, list)
    return {item["code"]: item for item in items}


# -- plan load -------------------------------------------------------------------------------------


def test_plan_load_twice_is_idempotent(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    assert "created 45, existing 0" in ok("plan", "load", str(PLAN), "--db", db)
    assert "created 0, existing 45" in ok("plan", "load", str(PLAN), "--db", db)
    motcua = open_motcua(db, observers=[])
    try:
        cases = [case for case in motcua.store.cases() if case.definition_key == "plan-task"]
        assert len(cases) == 45
        assert all(len(motcua.store.history(case.code)) == 1 for case in cases)  # opened once, never again
    finally:
        motcua.close()


def test_the_tasks_belong_to_the_home_unit_and_follow_its_hours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTCUA_AGENCY", "LOCAL-HD-AN-THUONG")
    in_2023 = ManualClock(datetime(2023, 1, 3, 8, 0, tzinfo=VN_TZ))  # loaded in its year: An Thượng is in force
    monkeypatch.setattr(plan_cmd, "open_motcua", partial(open_motcua, clock=in_2023))
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    ok("plan", "load", str(PLAN), "--db", db)
    motcua = open_motcua(db, observers=[])
    try:
        winter, summer = motcua.store.load("an-thuong-2023/cd-09/q1"), motcua.store.load("an-thuong-2023/cd-09/q2")
    finally:
        motcua.close()
    assert winter.attributes["unit"] == summer.attributes["unit"] == "LOCAL-HD-AN-THUONG"
    assert winter.attributes["due_at"] == "2023-03-15T16:30:00+07:00"  # Hải Dương's winter closing
    assert summer.attributes["due_at"] == "2023-06-15T17:00:00+07:00"


def test_plan_load_refuses_a_unit_that_has_ended_naming_its_successor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Thượng ended on 30/6/2025: like a dossier or feedback received there today, a task is not opened there
    (the successor carries a unit's open cases on by an audited transfer, never by a silent change of unit)."""
    monkeypatch.setenv("MOTCUA_AGENCY", "LOCAL-HD-AN-THUONG")
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    result = run("plan", "load", str(PLAN), "--db", db)
    assert isinstance(result.exception, InvalidInput) and result.exception.field == "MOTCUA_AGENCY"
    assert "LOCAL-HD-AN-THUONG is not in force on" in result.exception.message
    assert "its successor is phường Thành Đông" in result.exception.message
    result = run("plan", "load", str(PLAN), "--unit", "LOCAL-HP-NOWHERE", "--db", db)
    assert isinstance(result.exception, InvalidInput) and "unknown unit 'LOCAL-HP-NOWHERE'" in result.exception.message
    assert result.exception.field == "--unit"
    motcua = open_motcua(db, observers=[])
    try:
        assert list(motcua.store.cases()) == []
    finally:
        motcua.close()
    assert "created 45, existing 0" in ok("plan", "load", str(PLAN), "--unit", "LOCAL-HP-THANH-DONG", "--db", db)
    motcua = open_motcua(db, observers=[])
    try:
        assert {case.attributes["unit"] for case in motcua.store.cases()} == {"LOCAL-HP-THANH-DONG"}
    finally:
        motcua.close()


def test_load_tasks_at_a_unit_before_its_merger_and_again_after_it(tmp_path: Path, plan: Plan) -> None:
    """Loaded while An Thượng was in force, the tasks are its own; loading again after the merger creates nothing and
    refuses nothing (there is nothing to open), but a task added to the plan since cannot be opened there."""
    clock = ManualClock(datetime(2025, 6, 2, 8, 0, tzinfo=VN_TZ))
    motcua = open_motcua(f"sqlite:///{tmp_path / 'plan.db'}", clock=clock, observers=[], agency="LOCAL-HD-AN-THUONG")
    try:
        home, units = motcua.desk.agency, motcua.desk.units
        assert len(load_tasks(motcua.service, motcua.rules, plan, unit=home, units=units).created) == 45
        clock.set(datetime(2025, 7, 1, 8, 0, tzinfo=VN_TZ))
        assert len(load_tasks(motcua.service, motcua.rules, plan, unit=home, units=units).existing) == 45
        added = plan.task("tc-01").model_copy(update={"id": "tc-99"})
        grown = plan.model_copy(update={"tasks": (*plan.tasks, added)})
        with pytest.raises(InvalidInput, match="not in force on 2025-07-01: its successor is phường Thành Đông"):
            load_tasks(motcua.service, motcua.rules, grown, unit=home, units=units)
        assert len([case for case in motcua.store.cases() if case.definition_key == "plan-task"]) == 45
    finally:
        motcua.close()


def test_recurring_tasks_become_one_case_per_period(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    ok("plan", "load", str(PLAN), "--db", db)
    motcua = open_motcua(db, observers=[])
    try:
        reports = [motcua.store.load(f"an-thuong-2023/cd-09/q{n}") for n in (1, 2, 3, 4)]
        single = motcua.store.load("an-thuong-2023/tc-01")
    finally:
        motcua.close()
    assert [case.attributes["due"] for case in reports] == ["2023-03-15", "2023-06-15", "2023-09-15", "2023-12-15"]
    assert [case.attributes["period"] for case in reports] == ["q1", "q2", "q3", "q4"]
    assert {case.rule_set for case in reports} == {"nd61-2018"}
    assert reports[0].attributes["due_at"] == "2023-03-15T17:00:00+07:00"
    assert single.attributes["owner"] == "Công chức Tư pháp - Hộ tịch"
    assert "period" not in single.attributes
    assert single.state == {"lifecycle": "planned", "deadline": "on_time", "evidence": "none"}


def test_load_tasks_names_cases_that_no_longer_match_the_plan(motcua: Motcua, plan: Plan) -> None:
    first = load_tasks(motcua.service, motcua.rules, plan)
    assert (len(first.created), len(first.existing), first.differing) == (45, 0, ())
    changed_task = plan.task("tc-01").model_copy(update={"text": "Nội dung đã sửa"})
    edited = plan.model_copy(update={"tasks": tuple(changed_task if t.id == "tc-01" else t for t in plan.tasks)})
    second = load_tasks(motcua.service, motcua.rules, edited)
    assert (second.created, len(second.existing), second.differing) == ((), 45, ("an-thuong-2023/tc-01",))
    assert motcua.store.load("an-thuong-2023/tc-01").attributes["title"] == plan.task("tc-01").text


def test_a_broken_plan_file_is_refused_before_touching_the_database(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: broken\n", encoding="utf-8")
    result = run("plan", "load", str(broken), "--db", f"sqlite:///{tmp_path / 'never.db'}")
    assert result.exit_code != 0
    assert not (tmp_path / "never.db").exists()


# -- report plan -----------------------------------------------------------------------------------


def test_report_plan_after_the_demo_shows_actual_values(demo_db: str) -> None:
    ok("plan", "load", str(PLAN), "--db", demo_db)
    document = report_json(demo_db, *DEMO_PERIOD)
    assert (document["from"], document["to"], document["as_of"]) == ("2024-03-01", "2024-04-30", "2024-04-30")
    targets = targets_of(document)
    assert len(targets) == 19  # the feedback target of cd-08 added (issue 16)

    def actual(target: str) -> tuple[object, ...]:
        item = targets[target]
        return item["numerator"], item["denominator"], item["actual"], item["verdict"]

    # six demo dossiers: two refused at reception, four resolved (one of them withdrawn)
    assert actual("ontime") == (4, 4, 100.0, "met")
    assert actual("satisfaction") == (1, 1, 100.0, "met")
    assert actual("electronic-routing") == (3, 4, 75.0, "not_met")  # the fee dossier went on paper
    assert actual("digitised-dossiers") == (2, 4, 50.0, "not_met")
    assert actual("electronic-results") == (1, 3, 33.33, "not_met")
    assert actual("apology") == (0, 0, None, "no_data")
    assert targets["apology"]["reason"] == "không có hồ sơ quá hạn trong kỳ"
    assert actual("tasks-on-time") == (0, 45, 0.0, "not_met")
    assert actual("reports-on-time") == (0, 4, 0.0, "not_met")
    assert targets["online-procedures"]["actual"] is not None
    for key in ("self-inspection", "procedures-published", "dvcqg-integration", "mobile-services"):
        assert targets[key]["verdict"] == "not_measured" and targets[key]["actual"] is None
        assert str(targets[key]["reason"]).startswith("motcua không ghi nhận")
    assert targets["self-inspection"]["target"] == "30–40 %"


def test_report_plan_lists_the_tasks_own_status(demo_db: str) -> None:
    ok("plan", "load", str(PLAN), "--db", demo_db)
    tasks = tasks_of(report_json(demo_db, *DEMO_PERIOD))
    assert len(tasks) == 45
    report = tasks["an-thuong-2023/cd-09/q2"]
    assert report["loaded"] is True and report["period_label"] == "Quý II" and report["due"] == "2023-06-15"
    assert (report["lifecycle"], report["lifecycle_label"]) == ("planned", "Chưa triển khai")
    assert report["deadline_label"] == "Còn hạn"  # the worker has not run: the timer has not fired yet
    assert (report["evidence"], report["overdue"]) == (0, True)
    assert report["group_label"] == "Công tác chỉ đạo, điều hành"


def test_task_progress_moves_the_task_metrics(tmp_path: Path, plan: Plan) -> None:
    db = f"sqlite:///{tmp_path / 'progress.db'}"
    clock = ManualClock(datetime(2023, 3, 1, 8, 0, tzinfo=VN_TZ))
    motcua = open_motcua(db, clock=clock, observers=[])
    try:
        load_tasks(motcua.service, motcua.rules, plan)
        clock.set(datetime(2023, 3, 10, 9, 0, tzinfo=VN_TZ))
        code = "an-thuong-2023/cd-09/q1"
        motcua.service.fire(code, "start", OWNER)
        motcua.service.fire(code, "file_evidence", OWNER, {"document": "Báo cáo số 12/BC-UBND ngày 10/3/2023"})
        motcua.service.fire(code, "complete", OWNER, {"note": "Đã gửi UBND thành phố"})
        clock.set(datetime(2023, 12, 20, 9, 0, tzinfo=VN_TZ))
        motcua.service.fire("an-thuong-2023/tc-02", "complete", OWNER)  # done, but due 31/12: counts as early
        motcua.service.fire("an-thuong-2023/bm-03", "cancel", Actor.of("Lãnh đạo", "leader"), {"reason": "Gộp"})
    finally:
        motcua.close()
    document = report_json(db)
    targets, tasks = targets_of(document), tasks_of(document)
    assert (targets["reports-on-time"]["numerator"], targets["reports-on-time"]["denominator"]) == (1, 4)
    assert (targets["tasks-on-time"]["numerator"], targets["tasks-on-time"]["denominator"]) == (2, 44)
    done = tasks["an-thuong-2023/cd-09/q1"]
    assert (done["lifecycle_label"], done["evidence"], done["overdue"]) == ("Đã hoàn thành", 1, False)
    assert tasks["an-thuong-2023/bm-03"]["lifecycle_label"] == "Hủy bỏ"


def test_a_standalone_desks_plan_is_measured_over_its_whole_database(demo_db: str) -> None:
    """The demo's desk (000.00.00.H23) is not in the unit register: its database is its own, so its plan is measured
    over every dossier — those written before units too — and says so."""
    ok("plan", "load", str(PLAN), "--db", demo_db)
    document = report_json(demo_db, *DEMO_PERIOD)
    assert (document["units"], document["heading"]) == (None, f"Đơn vị: {EVERY_UNIT}")
    assert targets_of(document)["ontime"]["denominator"] == 4
    asked = report_json(demo_db, *DEMO_PERIOD, "--unit", "000.00.00.H23")
    assert asked["units"] == ["000.00.00.H23"] and targets_of(asked)["ontime"]["denominator"] == 4


def test_report_plan_without_loaded_tasks(demo_db: str) -> None:
    document = report_json(demo_db, *DEMO_PERIOD)
    targets = targets_of(document)
    assert targets["tasks-on-time"]["verdict"] == "not_measured"
    assert "plan load" in str(targets["tasks-on-time"]["reason"])
    assert not any(task["loaded"] for task in tasks_of(document).values())


def test_report_plan_table_in_vietnamese(demo_db: str) -> None:
    ok("plan", "load", str(PLAN), "--db", demo_db)
    output = ok("report", "plan", str(PLAN), "--db", demo_db, *DEMO_PERIOD)
    for label in ("Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn", "Đạt", "Không đạt", "Không phát sinh",
                  "Không đo được", "≥ 95 %", "Chưa triển khai", "an-thuong-2023/cd-09/q4", "Quý IV"):
        assert label in output
    default = ok("report", "plan", str(PLAN), "--db", demo_db)
    assert "01/01/2023–31/12/2023" in default and "chọn kỳ khác bằng --from/--to" in default


def test_report_plan_refuses_a_reversed_period(demo_db: str) -> None:
    result = run("report", "plan", str(PLAN), "--db", demo_db, "--from", "2024-05-01", "--to", "2024-04-01")
    assert isinstance(result.exception, InvalidInput) and result.exception.field == "--to"
    result = run("report", "plan", str(PLAN), "--db", demo_db, "--from", "01/03/2024")
    assert isinstance(result.exception, InvalidInput) and result.exception.field == "--from"


@pytest.mark.parametrize(("option", "day"), [("--from", "20240301"), ("--from", "0001-01-01"), ("--to", "2200-01-01")])
def test_report_plan_reads_its_days_as_every_report_does(demo_db: str, option: str, day: str) -> None:
    result = run("report", "plan", str(PLAN), "--db", demo_db, option, day)
    assert isinstance(result.exception, InvalidInput) and result.exception.field == option


# -- report book -----------------------------------------------------------------------------------


def book_rows(db: str, *period: str) -> list[list[str]]:
    output = ok("report", "book", *period, "--db", db, "--format", "csv")
    rows = list(csv.reader(io.StringIO(output)))
    assert tuple(rows[0]) == BOOK_COLUMNS
    return rows[1:]


def test_book_has_one_row_per_dossier_received(demo_db: str) -> None:
    rows = book_rows(demo_db, *DEMO_PERIOD)
    assert [row[0] for row in rows] == ["1", "2", "3", "4"]  # the two refused dossiers were never received
    birth, marital, fee, withdrawn = rows
    assert birth[2:9] == ["Thủ tục đăng ký khai sinh", "Trần Văn An", "04/03/2024 08:05", "04/03/2024 17:00",
                          "04/03/2024 09:30", "04/03/2024 16:00", "Đúng hạn"]
    assert marital[3] == "Đỗ Thị Hoa" and marital[8] == "Trước hạn"
    assert marital[9].startswith("Yêu cầu bổ sung hồ sơ ngày")
    assert "nghĩa vụ tài chính" in fee[9]
    assert (withdrawn[7], withdrawn[8]) == ("", "Rút hồ sơ")
    assert "Xin lỗi, hẹn lại ngày" in withdrawn[9] and "Công dân rút hồ sơ" in withdrawn[9]
    assert all(row[1].startswith("000.00.00.H23-24") for row in rows)


def test_book_period_filters_by_reception_day(demo_db: str) -> None:
    assert [row[3] for row in book_rows(demo_db, "--from", "2024-03-04", "--to", "2024-03-04")] == ["Trần Văn An"]
    assert book_rows(demo_db, "--from", "2023-01-01", "--to", "2023-12-31") == []


def test_book_names_the_applicant_but_never_the_id_number(demo_db: str) -> None:
    clock = ManualClock(datetime(2024, 4, 22, 8, 30, tzinfo=VN_TZ))
    motcua = open_motcua(demo_db, clock=clock, observers=[])
    try:
        applicant = Applicant("Lê Thị Hồng", id_number="001234567890", phone="0987654321")
        motcua.desk.receive("1.001193", "direct", applicant, Actor.of("Nguyễn Thị Lan", "officer"))
    finally:
        motcua.close()
    rows = book_rows(demo_db, *DEMO_PERIOD)
    assert rows[-1][3] == "Lê Thị Hồng" and rows[-1][8] == "Đang giải quyết"
    table = ok("report", "book", *DEMO_PERIOD, "--db", demo_db)
    assert "SỔ THEO DÕI HỒ SƠ" in table and "Lê Thị Hồng" in table
    assert all("001234567890" not in cell for row in rows for cell in row)
    assert "001234567890" not in table


def test_book_xlsx_opens(demo_db: str, tmp_path: Path) -> None:
    out = tmp_path / "so-theo-doi.xlsx"
    assert "4 hồ sơ" in ok("report", "book", *DEMO_PERIOD, "--db", demo_db, "--format", "xlsx", "--out", str(out))
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert str(values[0][0]).startswith("SỔ THEO DÕI HỒ SƠ (mẫu số 06)")
    assert tuple(values[1]) == BOOK_COLUMNS
    assert len(values) == 6
    assert values[2][:5] == [1, "000.00.00.H23-240304-0001", "Thủ tục đăng ký khai sinh", "Trần Văn An",
                             datetime(2024, 3, 4, 8, 5)]
    assert sheet.cell(row=3, column=5).number_format == "dd/mm/yyyy hh:mm"


def test_book_never_writes_an_applicants_name_as_a_formula(demo_db: str, tmp_path: Path) -> None:
    """The applicant's name is typed by the applicant online: a spreadsheet opening the book shows it, never runs it."""
    name = '=HYPERLINK("http://example.invalid","Xem")'
    clock = ManualClock(datetime(2024, 4, 22, 8, 30, tzinfo=VN_TZ))
    motcua = open_motcua(demo_db, clock=clock, observers=[])
    try:
        motcua.desk.receive("1.001193", "direct", Applicant(name), Actor.of("Nguyễn Thị Lan", "officer"))
    finally:
        motcua.close()
    assert book_rows(demo_db, *DEMO_PERIOD)[-1][3] == f"'{name}"  # quoted: shown as text
    out = tmp_path / "so.xlsx"
    ok("report", "book", *DEMO_PERIOD, "--db", demo_db, "--format", "xlsx", "--out", str(out))
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    cell = sheet.cell(row=sheet.max_row, column=4)
    assert (cell.value, cell.data_type) == (name, "s")


def test_book_csv_file_and_xlsx_without_out(demo_db: str, tmp_path: Path) -> None:
    out = tmp_path / "so.csv"
    ok("report", "book", *DEMO_PERIOD, "--db", demo_db, "--format", "csv", "--out", str(out))
    assert out.read_bytes().startswith(b"\xef\xbb\xbfSTT,")  # UTF-8 with BOM, for Excel
    result = run("report", "book", *DEMO_PERIOD, "--db", demo_db, "--format", "xlsx")
    assert isinstance(result.exception, InvalidInput) and result.exception.field == "--out"


# -- the "done when" -----------------------------------------------------------------------


def motcua_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "motcua.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False, cwd=ROOT)


def test_report_plan_runs_on_the_demo_database(demo_db: str) -> None:
    db = demo_db  # the six-dossier story (``motcua demo`` itself now simulates a year: tests/acceptance)
    report = motcua_cli("report", "plan", "definitions/plans/an-thuong-2023.yaml", "--db", db)
    assert report.returncode == 0, report.stderr
    assert "Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn" in report.stdout
    assert "Không đo được" in report.stdout
    in_demo_period = motcua_cli("report", "plan", "definitions/plans/an-thuong-2023.yaml", "--db", db,
                                "--format", "json", *DEMO_PERIOD)
    assert in_demo_period.returncode == 0, in_demo_period.stderr
    targets = targets_of(json.loads(in_demo_period.stdout))
    assert targets["ontime"]["actual"] == 100.0 and targets["electronic-routing"]["actual"] == 75.0


def test_report_plan_shows_the_feedback_rows_and_target(demo_db: str) -> None:
    officer, specialist = Actor.of("Nguyễn Thị Lan", "officer"), Actor.of("Phạm Văn Hùng", "specialist")
    clock = ManualClock(datetime(2024, 4, 1, 9, 0, tzinfo=VN_TZ))
    with connect(demo_db, clock=clock, observers=[]) as shop:
        answered = shop.receive_feedback(Feedback("Nguyễn Văn Bình", "Hồ sơ chậm"), officer)
        shop.fire(answered.code, "assign", officer, {"category": "khac", "assignee": specialist.name})
        shop.fire(answered.code, "answer", specialist, {"answer": "Đã trả lời"})
        shop.receive_feedback(Feedback("Lê Thị Cúc", "Niêm yết thiếu"), officer)
    document = report_json(demo_db, "--from", "2024-04-01", "--to", "2024-04-01")
    rows = document["feedback"]
    assert isinstance(rows, list)
    assert {row["key"]: row["count"] for row in rows} == {
        "received": 2, "answered_on_time": 1, "answered_late": 0, "pending_within": 1, "pending_overdue": 0}
    target = targets_of(document)["feedback"]
    assert (target["numerator"], target["denominator"], target["actual"]) == (2, 2, 100.0)
