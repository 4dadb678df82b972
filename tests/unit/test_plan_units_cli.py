"""``motcua report plan`` on a province's database: a commune's plan is measured over its own unit — and the units
that held its place in the period — never over every unit's dossiers; ``--unit CODE`` gives one unit's figures,
exactly as ``motcua report bieu06 --unit CODE`` counts them. The database is the one of
tests/contract/test_report_units_contract.py (four Hải Dương communes in June 2025, the merger into phường Thành
Đông on 1 July, Hải Phòng wards in July and August), with An Thượng's plan loaded while An Thượng was in force."""

from __future__ import annotations

import json
from datetime import date

import pytest

from motcua.adapters.bootstrap import Motcua
from motcua.definitions.plans import PLANS_DIR, load_plan
from motcua.workflow.engine.model import Actor
from motcua.workflow.errors import InvalidInput
from motcua.workflow.feedback.intake import Feedback, open_feedback
from motcua.workflow.plan.intake import load_tasks
from tests.contract.test_report_units_contract import (
    AN_THUONG,
    CAM_THUONG,
    THANH_DONG,
    THUY_NGUYEN,
    run_year,
)
from tests.unit.province_cli import province_file, run

PLAN = PLANS_DIR / "an-thuong-2023.yaml"
YEAR = ("--from", "2025-01-01", "--to", "2025-12-31")
OFFICER = Actor.of("Nguyễn Thị Lan", "officer")


def receive_feedback(motcua: Motcua, unit: str) -> None:
    open_feedback(motcua.service, motcua.store, motcua.rules, Feedback("Trần Văn An", "Niêm yết thiếu"), OFFICER,
                  unit=unit)


pytestmark = pytest.mark.usefixtures("no_home")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    with province_file(tmp_path_factory, "plan-units") as (url, province):
        motcua = province.app
        load_tasks(motcua.service, motcua.rules, load_plan(PLAN), unit=AN_THUONG, units=motcua.desk.units)
        receive_feedback(motcua, AN_THUONG)
        run_year(province)  # the merger carries the open tasks on to Thành Đông
        province.at(date(2025, 9, 2))
        receive_feedback(motcua, THUY_NGUYEN)
        receive_feedback(motcua, THUY_NGUYEN)
    return url


def document(db: str, *args: str) -> dict[str, object]:
    result = run("report", "plan", str(PLAN), "--format", "json", "--db", db, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    parsed = json.loads(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


def on_time(plan: dict[str, object]) -> tuple[object, object]:
    targets = plan["targets"]
    assert isinstance(targets, list)
    ontime = next(item for item in targets if item["id"] == "ontime")
    return ontime["numerator"], ontime["denominator"]


def bieu06_on_time(db: str, period: tuple[str, ...], *units: str) -> tuple[int, int]:
    """(resolved early + on time, resolved) of ``units``' Biểu 06, summed."""
    early_or_on_time = resolved = 0
    for unit in units:
        result = run("report", "bieu06", *period, "--unit", unit, "--format", "json", "--db", db)
        total = json.loads(result.stdout)["total"]
        early_or_on_time += total["resolved_early"] + total["resolved_on_time"]
        resolved += total["resolved"]
    return early_or_on_time, resolved


def feedback(plan: dict[str, object]) -> dict[str, object]:
    rows = plan["feedback"]
    assert isinstance(rows, list)
    return {row["key"]: row["count"] for row in rows}


def test_the_plan_is_measured_over_its_own_unit_not_the_province(db: str) -> None:
    """Over June 2025 An Thượng's plan counts An Thượng's dossiers — as its Biểu 06 does — not the four communes'."""
    june = ("--from", "2025-06-01", "--to", "2025-06-30")
    plan = document(db, *june)

    assert plan["units"] == [AN_THUONG]
    assert plan["heading"] == f"Đơn vị: xã An Thượng ({AN_THUONG})"
    assert on_time(plan) == bieu06_on_time(db, june, AN_THUONG) == (1, 1)
    assert bieu06_on_time(db, june, AN_THUONG, CAM_THUONG)[1] > 1  # the province resolved more that month
    assert feedback(plan)["received"] == 0  # An Thượng's was still open at the merger: Thành Đông holds it now


def test_over_a_merger_the_successor_carries_the_plan_on(db: str) -> None:
    """Over 2025 the plan's unit is followed to the ward it was merged into, which carries its open tasks and
    dossiers on: the figures are the sum of the two units' Biểu 06, and never the other wards'."""
    plan = document(db, *YEAR)

    assert plan["units"] == [AN_THUONG, THANH_DONG]
    assert on_time(plan) == bieu06_on_time(db, ("--period", "2025"), AN_THUONG, THANH_DONG) == (2, 3)
    every = bieu06_on_time(db, ("--period", "2025"), AN_THUONG, CAM_THUONG, THANH_DONG, THUY_NGUYEN)
    assert on_time(plan) != every
    assert feedback(plan)["received"] == 1  # An Thượng's, carried on by Thành Đông; never Thủy Nguyên's two
    tasks = plan["tasks"]
    assert isinstance(tasks, list) and len(tasks) == 45 and all(task["loaded"] for task in tasks)


@pytest.mark.parametrize("unit", [AN_THUONG, THANH_DONG, THUY_NGUYEN])
def test_unit_gives_one_units_figures_as_bieu06_counts_them(db: str, unit: str) -> None:
    plan = document(db, *YEAR, "--unit", unit)

    assert plan["units"] == [unit]
    assert on_time(plan) == bieu06_on_time(db, ("--period", "2025"), unit)
    assert feedback(plan)["received"] == {AN_THUONG: 0, THANH_DONG: 1, THUY_NGUYEN: 2}[unit]
    tasks = plan["tasks"]
    assert isinstance(tasks, list) and all(task["loaded"] for task in tasks)  # the plan's tasks, wherever they are


def test_an_unknown_unit_is_refused_as_for_every_report(db: str) -> None:
    result = run("report", "plan", str(PLAN), "--unit", "LOCAL-HP-NOWHERE", "--db", db)

    assert isinstance(result.exception, InvalidInput) and result.exception.field == "--unit"
    assert "LOCAL-HP-NOWHERE" in result.exception.message


def test_the_table_names_the_units_measured(db: str) -> None:
    result = run("report", "plan", str(PLAN), *YEAR, "--db", db)

    assert result.exit_code == 0, result.output
    assert "Đơn vị: xã An Thượng (LOCAL-HD-AN-THUONG); phường Thành Đông (LOCAL-HP-THANH-DONG)" in result.stdout


def test_a_task_added_after_the_merger_and_loaded_at_the_successor_leaves_the_plan_its_own_unit(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Loading a task added to An Thượng's plan after the merger is refused at An Thượng, naming Thành Đông; loaded
    there as told, it makes Thành Đông a unit of the plan only as An Thượng's successor: the plan's figures over June
    stay An Thượng's, never the four communes merged into Thành Đông."""
    plan = load_plan(PLAN)
    added = plan.task("tc-01").model_copy(update={"id": "tc-99"})
    grown = plan.model_copy(update={"tasks": (*plan.tasks, added)})
    with province_file(tmp_path_factory, "plan-grown") as (url, province):
        motcua = province.app
        load_tasks(motcua.service, motcua.rules, plan, unit=AN_THUONG, units=motcua.desk.units)
        run_year(province)
        with pytest.raises(InvalidInput, match="its successor is phường Thành Đông"):
            load_tasks(motcua.service, motcua.rules, grown, unit=AN_THUONG, units=motcua.desk.units)
        assert load_tasks(motcua.service, motcua.rules, grown, unit=THANH_DONG, units=motcua.desk.units).created
    june = ("--from", "2025-06-01", "--to", "2025-06-30")
    assert document(url, *june)["units"] == [AN_THUONG]
    assert document(url, *YEAR)["units"] == [AN_THUONG, THANH_DONG]
