"""``motcua report bieu06`` / ``par766`` and ``motcua projections rebuild`` on a SQLite file.

The database holds the demo's six weeks (March–April 2024); the commands run on a Typer app that
only has the report commands registered.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook  # type: ignore[import-untyped]
from typer.testing import CliRunner

from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.render.reports import PAR766_LABELS
from motcua.entrypoints.cli.report_cmd import register
from motcua.simulation.story import DEMO_START, run_story
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.reports.par766 import INDICATOR_KEYS
from motcua.workflow.reports.projection import BIEU06_COUNTS

RUNNER = CliRunner()
APP = typer.Typer()
register(APP)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'motcua.db'}"
    clock = ManualClock(DEMO_START)
    app = open_motcua(url, clock=clock, observers=[])
    try:
        run_story(app, clock)
    finally:
        app.close()
    yield url


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(APP, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_bieu06_json_has_the_shape_of_the_domain(db: str) -> None:
    code, out, _ = run("report", "bieu06", "--from", "2024-03-01", "--to", "2024-04-30", "--format", "json",
                       "--db", db)
    assert code == 0
    report = json.loads(out)
    assert list(report) == ["from", "to", "rows", "total"]
    assert (report["from"], report["to"]) == ("2024-03-01", "2024-04-30")
    assert [row["field_code"] for row in report["rows"]] == ["BTXH", "CT", "HT"]
    for row in report["rows"]:
        assert list(row) == ["field_code", "field_name", *BIEU06_COUNTS]
    assert list(report["total"]) == list(BIEU06_COUNTS)
    assert report["total"]["total"] == 4  # two refusals are never accepted
    assert report["total"]["resolved"] == 4


def test_the_cutoff_day_shifts_the_period(db: str) -> None:
    code, out, _ = run("report", "bieu06", "--period", "2024-04", "--cutoff-day", "15", "--format", "json",
                       "--db", db)
    assert code == 0
    report = json.loads(out)
    assert (report["from"], report["to"]) == ("2024-03-15", "2024-04-14")
    code, out, _ = run("report", "bieu06", "--period", "2024-Q1", "--format", "json", "--db", db)
    assert (json.loads(out)["from"], json.loads(out)["to"]) == ("2024-01-01", "2024-03-31")


def test_bieu06_csv_is_header_rows_and_total(db: str) -> None:
    code, out, _ = run("report", "bieu06", "--period", "2024", "--format", "csv", "--db", db)
    assert code == 0
    lines = list(csv.reader(io.StringIO(out)))
    assert lines[0] == ["field_code", "field_name", *BIEU06_COUNTS]
    assert [line[0] for line in lines[1:-1]] == ["BTXH", "CT", "HT"]
    assert lines[-1][:3] == ["", "Tổng cộng", "4"]


def test_bieu06_xlsx_is_laid_out_like_the_official_form(db: str, tmp_path: Path) -> None:
    target = tmp_path / "bieu06.xlsx"
    code, out, _ = run("report", "bieu06", "--period", "2024-03", "--format", "xlsx", "--out", str(target),
                       "--db", db)
    assert code == 0 and str(target) in out
    sheet = load_workbook(target).active
    merged = {str(cells) for cells in sheet.merged_cells.ranges}
    assert {"A5:A7", "B5:B7", "C5:F5", "G5:J5", "K5:M5", "C6:C7", "D6:F6", "G6:G7", "H6:J6", "K6:K7",
            "L6:M6", "A2:M2", "A3:M3"} <= merged
    assert sheet["A2"].value == "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    assert sheet["A3"].value == "Kỳ báo cáo: từ ngày 01/03/2024 đến ngày 31/03/2024"
    assert sheet["M1"].value == "Biểu số 06/VPCP/KSTT"
    assert (sheet["C5"].value, sheet["G5"].value, sheet["K5"].value) == (
        "Số hồ sơ tiếp nhận giải quyết", "Số hồ sơ đã giải quyết", "Số hồ sơ đang giải quyết")
    assert [sheet["D7"].value, sheet["E7"].value, sheet["F7"].value] == [
        "Trực tuyến", "Trực tiếp, dịch vụ bưu chính công ích", "Từ kỳ trước chuyển sang"]
    assert [cell.value for cell in sheet[8]] == list(range(1, 14))
    rows = [[cell.value for cell in line] for line in sheet.iter_rows(min_row=9, max_row=sheet.max_row, max_col=13)]
    total = next(row for row in rows if row[0] == "Tổng cộng")
    assert total[2] == 2  # March: two dossiers accepted, both resolved
    assert f"A{sheet.max_row - 3}:B{sheet.max_row - 3}" in merged  # the total row, before the signatures
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$5:$8"


def test_bieu06_table_and_out_file(db: str, tmp_path: Path) -> None:
    code, out, _ = run("report", "bieu06", "--period", "2024-03", "--db", db)
    assert code == 0 and "Biểu số 06/VPCP/KSTT" in out and "Tổng cộng" in out
    target = tmp_path / "bieu06.json"
    code, out, _ = run("report", "bieu06", "--period", "2024-03", "--format", "json", "--out", str(target),
                       "--db", db)
    assert code == 0 and json.loads(target.read_text(encoding="utf-8"))["to"] == "2024-03-31"


def test_par766_json(db: str) -> None:
    code, out, _ = run("report", "par766", "--period", "2024-Q1", "--format", "json", "--db", db)
    assert code == 0
    card = json.loads(out)
    assert {"from", "to", "indicators", "total_points"} <= set(card)
    assert card["rule_set"] == "nd61-2018"  # in force on 2024-03-31
    assert [item["key"] for item in card["indicators"]] == [
        "progress", "online", "e_result", "digitized", "satisfaction", "payment", "sync",
        "petition_on_time", "petition_satisfaction"]  # the feedback indicators, computed since issue 16
    assert all(list(item) == ["key", "numerator", "denominator", "value", "points", "max_points"]
               for item in card["indicators"])
    progress = card["indicators"][0]
    assert (progress["value"], progress["points"], progress["max_points"]) == (100.0, 20.0, 20.0)
    assert card["indicators"][-3] == {"key": "sync", "numerator": 0, "denominator": 0, "value": 0.0, "points": 0.0,
                                      "max_points": 6.0}
    assert any("sync: not measured" in note for note in card["notes"])
    assert card["total_points"] == round(sum(item["points"] for item in card["indicators"]), 2)


def test_par766_table_and_csv(db: str) -> None:
    code, out, _ = run("report", "par766", "--period", "2024-03", "--db", db)
    assert code == 0 and "766" in out and "not measured" in out
    code, out, _ = run("report", "par766", "--period", "2024-03", "--format", "csv", "--db", db)
    lines = list(csv.reader(io.StringIO(out)))
    assert lines[0] == ["key", "label", "numerator", "denominator", "value_percent", "points", "max_points"]
    assert lines[-1][0] == "total"


def test_projections_rebuild(db: str) -> None:
    code, out, _ = run("projections", "rebuild", "--db", db)
    assert code == 0 and "38 audit entries folded" in out


@pytest.mark.parametrize(("args", "option"), [
    (("--period", "2024-13"), "--period"),
    (("--period", "2024-Q5"), "--period"),
    (("--period", "2024-03", "--from", "2024-03-01", "--to", "2024-03-31"), "--period"),
    (("--from", "2024-03-01"), "--to"),
    (("--from", "2024-03-32", "--to", "2024-04-01"), "--from"),
    (("--from", "2024-04-01", "--to", "2024-03-01"), "--to"),
    (("--period", "2024-03", "--cutoff-day", "40"), "--cutoff-day"),
    (("--from", "2024-03-01", "--to", "2024-03-31", "--cutoff-day", "15"), "--cutoff-day"),
    (("--period", "2024-03", "--format", "xlsx"), "--out"),
])
@pytest.mark.parametrize("command", ["bieu06", "par766"])
def test_bad_input_exits_2_with_one_line(db: str, command: str, args: tuple[str, ...], option: str) -> None:
    code, out, err = run("report", command, *args, "--db", db)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and option in err


def test_an_unknown_format_is_a_usage_error(db: str) -> None:
    code, _, _ = run("report", "bieu06", "--period", "2024-03", "--format", "pdf", "--db", db)
    assert code == 2


def test_a_bad_database_url_exits_2(tmp_path: Path) -> None:
    code, _, err = run("report", "bieu06", "--period", "2024-03", "--db", "mysql://nowhere/db")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_every_scored_indicator_is_labelled_in_vietnamese(db: str) -> None:
    """The table, CSV and workbook officials read name each indicator in Vietnamese (NFC), never by its key."""
    code, out, _ = run("report", "par766", "--period", "2024-03", "--format", "csv", "--db", db)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))[1:-1]
    assert [row[0] for row in rows] == list(INDICATOR_KEYS)
    for key, label, *_ in rows:
        assert label != key and label == unicodedata.normalize("NFC", label), key
    assert PAR766_LABELS["petition_on_time"] == "Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn"
