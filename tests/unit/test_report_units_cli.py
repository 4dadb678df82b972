"""``motcua report bieu06|par766|book --unit CODE`` on a SQLite file holding dossiers of several units across the
2025 merger (the scenario of tests/contract/test_report_units_contract.py): one unit's report, the province's
without ``--unit``, the headings that name which, and an unknown code refused."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from motcua.adapters.bootstrap import open_motcua
from motcua.entrypoints.cli.report_scope import EVERY_UNIT
from motcua.workflow.errors import InvalidInput
from motcua.workflow.reports.projection import BIEU06_COUNTS
from motcua.workflow.reports.service import ReportService
from tests.contract.test_report_units_contract import AN_THUONG, THANH_DONG, THUY_NGUYEN, run_year
from tests.unit.province_cli import province_file, run

YEAR = ("--period", "2025")
THANH_DONG_HEADING = "Đơn vị: phường Thành Đông (LOCAL-HP-THANH-DONG)"


pytestmark = pytest.mark.usefixtures("no_home")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    with province_file(tmp_path_factory, "unit-reports") as (url, province):
        run_year(province)
    return url


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def every_unit(db: str) -> list[str]:
    motcua = open_motcua(db, observers=[])
    try:
        return sorted({unit.code for unit in motcua.desk.units.register.units})
    finally:
        motcua.close()


def test_one_units_bieu06_is_the_reports_of_that_unit(db: str) -> None:
    document = json.loads(ok("report", "bieu06", *YEAR, "--unit", THANH_DONG, "--format", "json", "--db", db))

    motcua = open_motcua(db, observers=[])
    try:
        reports = ReportService(motcua.reports, motcua.rules).caught_up()
        expected = reports.bieu06(date(2025, 1, 1), date(2025, 12, 31), units=frozenset({THANH_DONG}))
        card = reports.scorecard(date(2025, 1, 1), date(2025, 12, 31), units=frozenset({THUY_NGUYEN}))
    finally:
        motcua.close()
    assert document == expected.as_json()
    assert document["total"]["total"] == 6
    scored = json.loads(ok("report", "par766", *YEAR, "--unit", THUY_NGUYEN, "--format", "json", "--db", db))
    assert scored == card.as_json()


def test_the_province_bieu06_without_unit_is_the_sum_of_every_units(db: str) -> None:
    province = json.loads(ok("report", "bieu06", *YEAR, "--format", "json", "--db", db))
    totals = [json.loads(ok("report", "bieu06", *YEAR, "--unit", unit, "--format", "json", "--db", db))["total"]
              for unit in every_unit(db)]

    assert province["total"]["total"] == 11
    assert {name: sum(total[name] for total in totals) for name in BIEU06_COUNTS} == province["total"]


@pytest.mark.parametrize("command", ["bieu06", "par766"])
def test_an_unknown_unit_is_a_usage_error(db: str, command: str) -> None:
    result = run("report", command, *YEAR, "--unit", "LOCAL-HP-NOWHERE", "--db", db)

    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "--unit" in line and "LOCAL-HP-NOWHERE" in line and "motcua units list" in line


def test_the_book_refuses_an_unknown_unit(db: str) -> None:
    result = run("report", "book", "--from", "2025-01-01", "--to", "2025-12-31", "--unit", "LOCAL-HP-NOWHERE",
                 "--db", db)
    assert isinstance(result.exception, InvalidInput) and result.exception.field == "--unit"


def test_the_bieu06_workbook_names_the_unit(db: str, tmp_path: Path) -> None:
    target = tmp_path / "thanh-dong.xlsx"
    ok("report", "bieu06", *YEAR, "--unit", THANH_DONG, "--format", "xlsx", "--out", str(target), "--db", db)

    sheet = load_workbook(target).active
    assert sheet["A1"].value == THANH_DONG_HEADING
    assert sheet["M1"].value == "Biểu số 06/VPCP/KSTT"
    total = next(line for line in sheet.iter_rows(min_row=9, values_only=True) if line[0] == "Tổng cộng")
    assert total[2] == 6


def test_the_province_workbook_names_the_province_of_the_home_unit(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "province.xlsx"
    ok("report", "bieu06", *YEAR, "--format", "xlsx", "--out", str(target), "--db", db)
    assert load_workbook(target).active["A1"].value == f"Đơn vị: {EVERY_UNIT}"  # the default home: no register

    monkeypatch.setenv("MOTCUA_AGENCY", AN_THUONG)  # merged into phường Thành Đông, thành phố Hải Phòng
    ok("report", "bieu06", *YEAR, "--format", "xlsx", "--out", str(target), "--db", db)
    assert load_workbook(target).active["A1"].value == "Đơn vị: thành phố Hải Phòng"


def test_the_scorecard_workbook_and_the_tables_name_the_unit(db: str, tmp_path: Path) -> None:
    target = tmp_path / "par766.xlsx"
    ok("report", "par766", *YEAR, "--unit", THANH_DONG, "--format", "xlsx", "--out", str(target), "--db", db)
    sheet = load_workbook(target).active
    assert sheet["A1"].value == THANH_DONG_HEADING
    assert str(sheet["A2"].value).startswith("Chỉ số Quyết định 766/QĐ-TTg")

    for command in ("bieu06", "par766"):
        assert THANH_DONG_HEADING in ok("report", command, *YEAR, "--unit", THANH_DONG, "--db", db)
    assert f"Đơn vị: {EVERY_UNIT}" in ok("report", "bieu06", *YEAR, "--db", db)


def book_codes(db: str, *unit: str) -> list[str]:
    output = ok("report", "book", "--from", "2025-01-01", "--to", "2025-12-31", "--format", "csv", *unit, "--db", db)
    return [row[1] for row in list(csv.reader(io.StringIO(output)))[1:]]


def test_the_book_of_a_unit_lists_the_dossiers_counted_under_it(db: str, tmp_path: Path) -> None:
    thanh_dong = book_codes(db, "--unit", THANH_DONG)
    province = book_codes(db)

    assert len(thanh_dong) == 6 and any(code.startswith(AN_THUONG) for code in thanh_dong)  # transferred ones
    assert book_codes(db, "--unit", AN_THUONG) == [code for code in province if code.startswith(AN_THUONG)
                                                   and code not in thanh_dong]
    assert sorted(code for unit in every_unit(db) for code in book_codes(db, "--unit", unit)) == sorted(province)
    target = tmp_path / "book.xlsx"
    ok("report", "book", "--from", "2025-01-01", "--to", "2025-12-31", "--unit", THANH_DONG, "--format", "xlsx",
       "--out", str(target), "--db", db)
    title = str(load_workbook(target).active["A1"].value)
    assert title.startswith("SỔ THEO DÕI HỒ SƠ") and title.endswith(THANH_DONG_HEADING)
