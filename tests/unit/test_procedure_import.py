"""Importing a province's procedure list: reading CSV/XLSX/YAML within bounds, the typed refusals naming row and
column, the merge into dated versions and fees, the difference, and the atomic revisions of the catalogue
directory."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from motcua.adapters.bootstrap import procedure_catalogue
from motcua.adapters.render import cells
from motcua.adapters.render.reports import bieu06_csv, bieu06_xlsx
from motcua.definitions import catalogue_store, procedure_import
from motcua.definitions.catalogue import PROCEDURES_DIR, load_procedures
from motcua.definitions.catalogue_store import CURRENT_FILE, MANIFEST_FILE, CatalogueStore
from motcua.definitions.procedure_import import apply_import, plan_import, read_table
from motcua.entrypoints.cli.procedures_import_cmd import diff_lines
from motcua.workflow.dossiers.catalogue import Procedure
from motcua.workflow.dossiers.catalogue_import import cell_text_problem, parse_fee, parse_level, parse_tiers, parse_time
from motcua.workflow.errors import CatalogueImportRefused, CellProblem, InvalidDefinition, InvalidInput
from motcua.workflow.reports.projection import Bieu06, Bieu06Row

DAY = date(2026, 1, 1)
HEADERS = ["STT", "Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Mức độ DVC", "Thời hạn giải quyết", "Phí, lệ phí",
           "Cấp thực hiện"]
_UNITS = {"working_days": "ngày làm việc", "working_hours": "giờ làm việc", "calendar_days": "ngày"}
_LEVELS = {"toan_trinh": "Toàn trình", "mot_phan": "Một phần", "truc_tiep": "Trực tiếp"}


def _money(amount: int | None) -> str:
    return f"{amount or 0:,}".replace(",", ".")


def _time(procedure: Procedure) -> str:
    def one(channel: str) -> str:
        value = procedure.time_for(channel)  # type: ignore[arg-type]
        return "Trong ngày" if value.amount == 0 else f"{value.amount:02d} {_UNITS[value.unit]}"
    if one("online") == one("direct") and one("postal") == one("direct"):
        return one("direct")
    return f"Trực tiếp: {one('direct')}; Trực tuyến: {one('online')}; Bưu chính: {one('postal')}"


def _fee(procedure: Procedure) -> str:
    fee = procedure.fees[-1]
    return {"exempt": "Không", "council": "Theo Nghị quyết của HĐND tỉnh",
            "per_case": f"Lệ phí: {_money(fee.amount)} đồng", "per_page": f"{_money(fee.amount)} đồng/trang"}[fee.kind]


def shipped_rows() -> list[list[str]]:
    """The shipped catalogue as the national list would publish it."""
    return [[str(number), p.code, p.name, p.field_name, _LEVELS[p.level], _time(p), _fee(p), "Cấp Xã"]
            for number, p in enumerate(load_procedures(), start=1)]


def write_csv(path: Path, rows: list[list[str]], headers: list[str] = HEADERS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]], headers: list[str] = HEADERS, title: bool = True) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append(["DANH MỤC THỦ TỤC HÀNH CHÍNH CẤP XÃ"])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def refused(path: Path, root: Path | None = None) -> list[CellProblem]:
    with pytest.raises(CatalogueImportRefused) as caught:
        plan_import(path, root, effective=DAY)
    return list(caught.value.cells)


def row_of(code: str, rows: list[list[str]]) -> list[str]:
    return next(row for row in rows if row[1] == code)


# -- the readings of a cell ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("03 ngày làm việc", {"direct": {"amount": 3, "unit": "working_days"}}),
    ("Trong ngày", {"direct": {"amount": 0, "unit": "working_days"}}),
    ("Ngay trong ngày làm việc", {"direct": {"amount": 0, "unit": "working_days"}}),
    ("08 giờ làm việc", {"direct": {"amount": 8, "unit": "working_hours"}}),
    ("30 ngày kể từ ngày nhận đủ hồ sơ hợp lệ", {"direct": {"amount": 30, "unit": "calendar_days"}}),
    ("Trực tiếp: 05 ngày làm việc; Trực tuyến: 03 ngày làm việc",
     {"direct": {"amount": 5, "unit": "working_days"}, "online": {"amount": 3, "unit": "working_days"}}),
    ("Trong ngày làm việc, trường hợp nhận sau 15 giờ thì trả kết quả trong ngày làm việc tiếp theo",
     {"direct": {"amount": 0, "unit": "working_days"}}),  # 15 giờ: the cut-off's hour, not a second time
])
def test_times_read(text: str, expected: dict[str, object]) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("ba ngày", "not a duration"),
    ("-3 ngày làm việc", "negative"),
    ("400 ngày làm việc", "longer than 365 working days"),
    ("400 giờ làm việc", "more than 366 of its unit"),  # 50 working days, but the catalogue holds at most 366 hours
    ("2,5 ngày làm việc", "whole number"),
    ("Trực tuyến: 3 ngày làm việc; Bưu chính: 4 ngày làm việc", "without their channel"),
    ("Trực tiếp: 05 ngày làm việc, Trực tuyến: 03 ngày làm việc", "two times in one"),  # the online 3 was dropped
    ("Trực tiếp: 05 ngày làm việc. Trực tuyến: 03 ngày làm việc", "two times in one"),
    ("05 ngày làm việc (10 ngày làm việc nếu phải xác minh)", "two times in one"),
    ("１０ ngày làm việc", "not a duration"),  # full-width digits: not the 10 they look like to a reader
])
def test_impossible_times_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text)


def test_fees_read() -> None:
    assert parse_fee("Không", None) == {"kind": "exempt"}
    assert parse_fee("Miễn phí", "Luật Hộ tịch 2014, Điều 11") == {"kind": "exempt",
                                                                   "basis": "Luật Hộ tịch 2014, Điều 11"}
    assert parse_fee("Lệ phí: 8.000 đồng", "TT 85/2019") == {"kind": "per_case", "amount": 8000, "basis": "TT 85/2019"}
    assert parse_fee("3.000 đồng/bản", None) == {"kind": "per_case", "amount": 3000, "per": "bản"}
    assert parse_fee("2.000 đồng/trang", None) == {"kind": "per_page", "amount": 2000}
    council = parse_fee("Theo Nghị quyết số 12/2023/NQ-HĐND tỉnh Cao Bằng", None)
    assert council == {"kind": "council", "resolution": "Nghị quyết số 12/2023/NQ-HĐND tỉnh Cao Bằng",
                       "basis": "Theo Nghị quyết số 12/2023/NQ-HĐND tỉnh Cao Bằng"}
    assert parse_fee("Theo Nghị quyết HĐND tỉnh", None)["kind"] == "council"
    assert parse_fee("Lệ phí: 12 500 đồng", None) == {"kind": "per_case", "amount": 12500}  # grouped by spaces
    assert parse_fee("1 200 000 đồng", None) == {"kind": "per_case", "amount": 1200000}
    assert parse_fee("50.000đ", None) == {"kind": "per_case", "amount": 50000}


@pytest.mark.parametrize(("text", "message"), [
    ("tuỳ trường hợp", "cannot read the fee"),
    ("5.000 đồng hoặc 10.000 đồng", "several amounts"),
    ("Lệ phí: 8.000,5 đồng", "cannot read the fee"),  # was read as 5
    ("0,1% giá trị hợp đồng, tối đa 70.000 đồng", "a share"),  # was read as a flat 70.000
])
def test_unreadable_fees_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fee(text, None)


def test_levels_read() -> None:
    assert [parse_level(text) for text in ("Toàn trình", "một phần", "Mức độ 4", "Trực tiếp")] == [
        "toan_trinh", "mot_phan", "toan_trinh", "truc_tiep"]
    with pytest.raises(ValueError, match="unknown online level"):
        parse_level("Mức độ 9")


# -- the list, read against the catalogue --------------------------------------------------------


def test_the_shipped_catalogue_as_a_list_changes_nothing(tmp_path: Path) -> None:
    plan = plan_import(write_csv(tmp_path / "list.csv", shipped_rows()), None, effective=DAY)
    assert plan.difference.empty
    assert plan.difference.unchanged == len(load_procedures())
    assert plan.base_revision is None


def test_changes_become_dated_versions_and_fees(tmp_path: Path) -> None:
    rows = shipped_rows()
    birth = row_of("1.001193", rows)
    birth[2] = "Thủ tục đăng ký khai sinh (tên mới)"
    copy = row_of("2.000815", rows)
    copy[5] = "01 ngày làm việc"
    rows.remove(row_of("1.000894", rows))
    rows.append(["99", "1.999999", "Thủ tục thử nghiệm", "Hộ tịch", "Một phần", "05 ngày làm việc",
                 "Theo Nghị quyết HĐND tỉnh", "Cấp Xã"])
    plan = plan_import(write_csv(tmp_path / "list.csv", rows), None, effective=DAY)
    difference = plan.difference
    assert [code for code, _, _ in difference.added] == ["1.999999"]
    assert difference.removed == ()
    assert [(code, last) for code, _, _, last in difference.ended] == [("1.000894", date(2025, 12, 31))]
    assert difference.unchanged == len(load_procedures()) - 3  # one ended, two changed
    assert {change.code: change.keys for change in difference.changed} == {"1.001193": ("name",),
                                                                         "2.000815": ("versions",)}
    entries = {entry["code"]: entry for document in plan.documents for entry in document["procedures"]}  # type: ignore[union-attr]
    versions = entries["2.000815"]["versions"]
    assert versions[-1]["since"] == DAY
    assert versions[-1]["processing_time"] == {"direct": {"amount": 1, "unit": "working_days"}}
    assert versions[-2]["since"] is None  # the earlier version stays, for dossiers received before
    assert entries["1.000894"]["valid_to"] == date(2025, 12, 31)  # kept for the dossiers received under it
    new = entries["1.999999"]
    assert new["confirmed"] is False
    assert new["fees"] == [{"since": DAY, "kind": "council", "basis": "Theo Nghị quyết HĐND tỉnh"}]


def test_a_changed_fee_closes_the_one_in_force(tmp_path: Path) -> None:
    rows = [[*row[:6], row[6], row[7]] for row in shipped_rows()]
    signature = row_of("2.000884", rows)
    signature[6] = "Lệ phí: 20.000 đồng"
    headers = [*HEADERS, "Căn cứ phí, lệ phí"]
    rows = [[*row, "Nghị quyết thử 01/2026"] if row is signature else [*row, ""] for row in rows]
    plan = plan_import(write_csv(tmp_path / "list.csv", rows, headers), None, effective=DAY)
    assert [change.keys for change in plan.difference.changed] == [("fees",)]
    fees = next(entry["fees"] for document in plan.documents for entry in document["procedures"]  # type: ignore[union-attr]
                if entry["code"] == "2.000884")
    assert fees[-2]["until"] == date(2025, 12, 31)
    assert fees[-1] == {"since": DAY, "kind": "per_case", "amount": 20000, "basis": "Nghị quyết thử 01/2026"}


def test_a_changed_fee_without_basis_is_refused(tmp_path: Path) -> None:
    rows = shipped_rows()
    row_of("2.000884", rows)[6] = "Lệ phí: 20.000 đồng"
    problems = refused(write_csv(tmp_path / "list.csv", rows))
    number = rows.index(row_of("2.000884", rows)) + 2
    assert [(p.row, p.column) for p in problems] == [(number, "Phí, lệ phí")]
    assert "basis" in problems[0].message


def test_a_new_exempt_procedure_needs_its_article(tmp_path: Path) -> None:
    rows = [*shipped_rows(), ["99", "1.999999", "Thủ tục thử", "Hộ tịch", "Một phần", "Trong ngày", "Không", "Xã"]]
    problems = refused(write_csv(tmp_path / "list.csv", rows))
    assert [(p.row, p.column) for p in problems] == [(len(rows) + 1, "Phí, lệ phí")]
    assert "exempts" in problems[0].message


@pytest.mark.parametrize(("change", "column", "message"), [
    ((1, ""), "Mã thủ tục", "missing code"),
    ((1, "1.0011930"), "Mã thủ tục", "d.dddddd"),
    ((5, "-2 ngày làm việc"), "Thời hạn giải quyết", "negative"),
    ((5, "500 ngày làm việc"), "Thời hạn giải quyết", "365"),
    ((5, "nhanh"), "Thời hạn giải quyết", "not a duration"),
    ((4, "Mức độ 7"), "Mức độ DVC", "unknown online level"),
    ((6, "tuỳ"), "Phí, lệ phí", "cannot read the fee"),
])
def test_bad_cells_are_named_by_row_and_column(tmp_path: Path, change: tuple[int, str], column: str,
                                               message: str) -> None:
    rows = shipped_rows()
    rows[3][change[0]] = change[1]
    problems = refused(write_csv(tmp_path / "list.csv", rows))
    assert [(p.row, p.column) for p in problems] == [(5, column)]  # the header is row 1: the 4th procedure, row 5
    assert message in problems[0].message


def test_a_code_given_twice_is_refused(tmp_path: Path) -> None:
    rows = shipped_rows()
    rows.append(list(rows[0]))
    problems = refused(write_csv(tmp_path / "list.csv", rows))
    assert [(p.row, p.column) for p in problems] == [(len(rows) + 1, "Mã thủ tục")]
    assert "also given in row 2" in problems[0].message


def test_an_unknown_column_is_refused(tmp_path: Path) -> None:
    rows = [[*row, "x"] for row in shipped_rows()]
    problems = refused(write_csv(tmp_path / "list.csv", rows, [*HEADERS, "Ghi chú riêng"]))
    assert [(p.row, p.column) for p in problems] == [(1, "Ghi chú riêng")]
    assert "unknown column" in problems[0].message


def test_a_new_field_needs_its_code(tmp_path: Path) -> None:
    rows = [*shipped_rows(), ["99", "1.999999", "Thủ tục thử", "Lĩnh vực mới", "Một phần", "Trong ngày",
                              "Theo Nghị quyết HĐND tỉnh", "Xã"]]
    problems = refused(write_csv(tmp_path / "list.csv", rows))
    assert [(p.row, p.column) for p in problems] == [(len(rows) + 1, "Lĩnh vực")]
    assert "Mã lĩnh vực" in problems[0].message


def test_a_csv_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "list.csv", shipped_rows())
    lines = path.read_bytes().split(b"\n")
    lines[3] = b"\xfb" + lines[3]  # a Windows-1258 byte (û) on row 4
    path.write_bytes(b"\n".join(lines))
    problems = refused(path)
    assert [(p.row, p.column) for p in problems] == [(4, "")]
    assert "not UTF-8" in problems[0].message


def csv_text(path: Path, rows: list[list[str]], ending: str) -> Path:
    """The shipped list as a CSV whose text ends with ``ending`` (a row written by hand)."""
    text = write_csv(path, rows).read_text(encoding="utf-8")
    path.write_text(text + ending, encoding="utf-8")
    return path


@pytest.mark.parametrize("ending", [
    pytest.param('9.999999,"Thủ tục đăng ký khai sinh,Hộ tịch,Toàn trình,03 ngày làm việc,Không\n', id="at-the-end"),
    pytest.param('9.999999,"Thủ tục đăng ký khai sinh,Hộ tịch,Toàn trình,03 ngày làm việc,Không', id="no-line-break"),
    pytest.param('9.999999,"Thủ tục đăng ký khai sinh\n1.999999,Thủ tục thử,Hộ tịch\n', id="over-two-lines"),
])
def test_a_quote_never_closed_is_refused_naming_its_row(tmp_path: Path, ending: str) -> None:
    rows = shipped_rows()
    problems = refused(csv_text(tmp_path / "list.csv", rows, ending))
    assert [(p.row, p.column) for p in problems] == [(len(rows) + 2, "")]
    assert problems[0].message.startswith("not CSV: a quote opened in this row is never closed")


def test_a_quote_followed_by_more_text_in_its_cell_is_refused(tmp_path: Path) -> None:
    rows = shipped_rows()
    problems = refused(csv_text(tmp_path / "list.csv", rows, '9.999999,"Khai sinh" cho con,Hộ tịch\n'))
    assert [(p.row, p.column, p.message) for p in problems] == [(len(rows) + 2, "", "not CSV: ',' expected after '\"'")]


@pytest.mark.parametrize("cells", [2, 7])
def test_a_csv_row_with_fewer_cells_than_the_header_is_refused(tmp_path: Path, cells: int) -> None:
    rows = shipped_rows()
    rows[2] = rows[2][:cells]
    problems = refused(write_csv(tmp_path / "list.csv", rows))
    assert [(p.row, p.column) for p in problems] == [(4, "")]
    assert problems[0].message.startswith(f"{cells} cells for {len(HEADERS)} columns")


def test_a_header_ending_in_a_delimiter_asks_no_row_for_its_unnamed_column(tmp_path: Path) -> None:
    rows = shipped_rows()
    path = write_csv(tmp_path / "list.csv", rows, [*HEADERS, ""])  # "…,Cấp thực hiện," as spreadsheet exports write it
    assert path.read_text(encoding="utf-8").splitlines()[0].endswith(",")
    _, headers, records = read_table(path)
    assert headers == [*HEADERS, ""] and len(records) == len(rows)
    assert records[0][1] == dict(zip(HEADERS, rows[0], strict=True))
    rows[2] = rows[2][:2]
    short = refused(write_csv(tmp_path / "list.csv", rows, [*HEADERS, ""]))
    assert short[0].message.startswith(f"2 cells for {len(HEADERS)} columns")  # a named one is still missing


@pytest.mark.parametrize("ending", ["\n\n", ",,,\n", "\r\n\r\n"])
def test_empty_rows_at_the_end_of_a_csv_are_skipped(tmp_path: Path, ending: str) -> None:
    plan = plan_import(csv_text(tmp_path / "list.csv", shipped_rows(), ending), None, effective=DAY)
    assert not plan.difference.added and not plan.difference.changed


def test_an_xlsx_row_ends_at_its_last_cell_filled(tmp_path: Path) -> None:
    """A workbook stores no empty cell after the last one filled: its rows may be shorter than the header."""
    rows: list[list[object]] = [list(row) for row in shipped_rows()]
    headers = [*HEADERS, "Căn cứ pháp lý"]  # known, not imported: empty in every row
    plan = plan_import(write_xlsx(tmp_path / "list.xlsx", rows, headers), None, effective=DAY)
    assert not plan.difference.added and not plan.difference.changed


def test_a_file_too_large_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procedure_import, "MAX_FILE_BYTES", 100)
    problems = refused(write_csv(tmp_path / "list.csv", shipped_rows()))
    assert "larger than 100 bytes" in problems[0].message


def test_too_many_rows_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procedure_import, "MAX_ROWS", 5)
    for path in (write_csv(tmp_path / "list.csv", shipped_rows()), write_xlsx(tmp_path / "list.xlsx", shipped_rows())):
        assert "more than 5 rows" in refused(path)[0].message


def test_a_change_says_its_time_before_and_after(tmp_path: Path) -> None:
    rows = shipped_rows()
    row_of("2.000815", rows)[5] = "Trực tiếp: 02 ngày làm việc; Trực tuyến: 01 ngày làm việc"
    plan = plan_import(write_csv(tmp_path / "list.csv", rows), None, effective=DAY)
    [change] = plan.difference.changed
    assert change.shifts == (("thời hạn", "Trong ngày",  # the shipped catalogue: the same day, on every channel
                              "Trực tiếp: 2 ngày làm việc; Trực tuyến: 1 ngày làm việc; Bưu chính: 2 ngày làm việc"),)
    lines = diff_lines(plan.difference)
    assert lines[lines.index(next(line for line in lines if line.startswith("~ 2.000815"))) + 1] == (
        "    thời hạn: Trong ngày → Trực tiếp: 2 ngày làm việc; Trực tuyến: 1 ngày làm việc; "
        "Bưu chính: 2 ngày làm việc")


def test_a_fee_change_says_the_amounts(tmp_path: Path) -> None:
    rows = [[*row, "Thông tư 85/2019/TT-BTC"] for row in shipped_rows()]
    row_of("2.000815", rows)[6] = "Lệ phí: 12 500 đồng/bản"
    plan = plan_import(write_csv(tmp_path / "list.csv", rows, [*HEADERS, "Căn cứ phí, lệ phí"]), None, effective=DAY)
    [change] = plan.difference.changed
    assert change.shifts[-1][0] == "phí, lệ phí" and change.shifts[-1][2] == "12.500 đồng/bản"
    assert change.shifts[-1][1] != change.shifts[-1][2]


def test_a_field_written_with_the_old_tone_placement_is_the_same_field(tmp_path: Path) -> None:
    rows = shipped_rows()
    for row in rows:
        row[3] = row[3].replace("Hòa", "Hoà")  # the old placement, as many lists still write it
    plan = plan_import(write_csv(tmp_path / "list.csv", rows), None, effective=DAY)
    assert plan.difference.empty


def test_empty_rows_below_the_list_are_not_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procedure_import, "MAX_ROWS", len(shipped_rows()))
    padded = [*shipped_rows(), *[[""] * len(HEADERS)] * 50]  # borders drawn far below, ",,,," lines
    for path in (write_csv(tmp_path / "list.csv", padded), write_xlsx(tmp_path / "list.xlsx", padded)):  # type: ignore[arg-type]
        assert not plan_import(path, None, effective=DAY).difference.changed
    monkeypatch.setattr(procedure_import, "MAX_SCANNED_ROWS", 40)
    assert "empty ones included" in refused(write_csv(tmp_path / "list.csv", padded))[0].message


def test_a_header_is_never_echoed_whole_nor_raw(tmp_path: Path) -> None:
    headers = [*HEADERS, "Ghi chú\x1b]0;pwned\x07", "Z" * 5000]
    rows = [[*row, "", ""] for row in shipped_rows()]
    problems = refused(write_csv(tmp_path / "list.csv", rows, headers))
    assert [(p.row, p.column) for p in problems] == [(1, "column 9"), (1, "column 10")]
    assert "\x1b" not in str(problems) and "\\x1b" in problems[0].message  # escaped, never sent to a terminal
    assert len(problems[1].message) < 200 and "(5000 characters)" in problems[1].message


def test_a_code_in_other_digits_is_not_the_code_it_looks_like(tmp_path: Path) -> None:
    rows = shipped_rows()
    rows[0][1] = rows[0][1].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert refused(write_csv(tmp_path / "list.csv", rows))[0].message.startswith("a code is d.dddddd")


def test_a_cell_too_long_is_refused(tmp_path: Path) -> None:
    rows = shipped_rows()
    rows[0][2] = "Đ" * 600
    problems = refused(write_csv(tmp_path / "list.csv", rows))
    assert [(p.row, p.column) for p in problems] == [(2, "Tên thủ tục")]


# -- workbooks -----------------------------------------------------------------------------------


def test_a_hidden_sheet_is_not_read(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", shipped_rows())  # type: ignore[arg-type]
    workbook = load_workbook(path)
    old = workbook.create_sheet("Danh mục cũ", 0)  # first, hidden: an old list kept in the workbook
    old.append(HEADERS)
    old.append(shipped_rows()[0])
    old.sheet_state = "hidden"
    workbook.save(path)
    plan = plan_import(path, None, effective=DAY)
    assert not plan.difference.removed and not plan.difference.changed  # the visible list was read, whole


def test_an_error_cell_and_a_code_read_as_a_number_are_refused_saying_why(tmp_path: Path) -> None:
    rows: list[list[object]] = [list(row) for row in shipped_rows()]
    rows[0][2] = "#N/A"
    path = write_xlsx(tmp_path / "list.xlsx", rows)
    workbook = load_workbook(path)
    workbook.active["C3"].data_type = "e"  # as Excel stores an error a lookup left
    workbook.save(path)
    [problem] = refused(path)
    assert (problem.row, problem.column) == (3, "C") and "an error ('#N/A')" in problem.message
    rows[0][2], rows[0][1] = "Thủ tục", 1.00119  # 1.001190 typed into a number cell
    problems = refused(write_xlsx(tmp_path / "numbers.xlsx", rows))
    assert "format the column as Text" in problems[0].message


def test_a_hidden_row_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", shipped_rows())  # type: ignore[arg-type]
    workbook = load_workbook(path)
    workbook.active.row_dimensions[20].hidden = True  # filtered out on screen, still in the file
    workbook.save(path)
    [problem] = refused(path)
    assert problem.row == 20 and "hidden row" in problem.message


def test_an_xlsx_list_with_a_title_row(tmp_path: Path) -> None:
    rows: list[list[object]] = [list(row) for row in shipped_rows()]
    rows[0][0] = 1  # numbers are read as their text
    row_of("2.000815", rows)[5] = "02 ngày làm việc"  # type: ignore[arg-type]
    plan = plan_import(write_xlsx(tmp_path / "list.xlsx", rows), None, effective=DAY)
    assert [change.code for change in plan.difference.changed] == ["2.000815"]


def test_an_xlsx_row_is_named_as_the_sheet_numbers_it(tmp_path: Path) -> None:
    rows: list[list[object]] = [list(row) for row in shipped_rows()]
    rows[2][1] = "9.99"
    problems = refused(write_xlsx(tmp_path / "list.xlsx", rows))
    assert [(p.row, p.column) for p in problems] == [(5, "Mã thủ tục")]  # title 1, header 2, third procedure 5


def test_an_xlsx_with_a_formula_is_refused(tmp_path: Path) -> None:
    rows: list[list[object]] = [list(row) for row in shipped_rows()]
    rows[1][0] = "=1+1"
    problems = refused(write_xlsx(tmp_path / "list.xlsx", rows))
    assert (problems[0].row, problems[0].column) == (4, "A")
    assert "formula" in problems[0].message


def test_cells_merged_down_rows_are_refused_naming_them(tmp_path: Path) -> None:
    """A time merged down two procedures' rows shows in both, but the second row's cell is empty to a reader: that
    procedure's time was silently kept as the catalogue had it. A title merged across its row stays read."""
    rows: list[list[object]] = [list(row) for row in shipped_rows()]
    rows[1][5] = None  # the sheet shows rows[0]'s time there
    path = write_xlsx(tmp_path / "list.xlsx", rows)
    workbook = load_workbook(path)
    workbook.active.merge_cells("A1:H1")  # the title
    workbook.active.merge_cells("F3:F4")  # the first two procedures' time
    workbook.save(path)
    problems = refused(path)
    assert [(p.row, p.column) for p in problems] == [(4, "F")]
    assert "merged" in problems[0].message and "F3:F4" in problems[0].message


def test_a_title_merged_over_two_rows_above_the_header_is_read(tmp_path: Path) -> None:
    """Merged down rows above the header (a title two rows tall, as provinces' lists often have it) hides no value
    of a procedure: the list is read, not refused."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["DANH MỤC THỦ TỤC HÀNH CHÍNH CẤP XÃ"])
    sheet.append([])
    sheet.append(HEADERS)
    for row in shipped_rows():
        sheet.append(row)
    sheet.merge_cells("A1:H2")
    path = tmp_path / "list.xlsx"
    workbook.save(path)

    plan = plan_import(path, None, effective=DAY)

    assert plan.difference.empty and plan.difference.unchanged == len(load_procedures())


def test_a_workbook_with_macros_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsm", [list(row) for row in shipped_rows()])
    assert "macros" in refused(path)[0].message


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"not a zip")
    assert "not an XLSX workbook" in refused(path)[0].message


# -- YAML ----------------------------------------------------------------------------------------


def test_a_yaml_field_file_replaces_the_procedures_it_holds(tmp_path: Path) -> None:
    document = yaml.safe_load((PROCEDURES_DIR / "chung-thuc.yaml").read_text(encoding="utf-8"))
    document["procedures"][0]["name"] = "Tên đã sửa"
    removed = document["procedures"].pop()["code"]
    path = tmp_path / "ct.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    plan = plan_import(path, None, effective=DAY)
    assert [change.keys for change in plan.difference.changed] == [("name",)]
    assert plan.difference.ended == ()  # one file adds or replaces what it holds; it ends nothing
    assert plan.difference.unchanged == len(load_procedures()) - 1
    assert removed in {entry["code"] for d in plan.documents for entry in d["procedures"]}  # type: ignore[union-attr]


def test_a_yaml_file_the_loader_refuses_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load((PROCEDURES_DIR / "chung-thuc.yaml").read_text(encoding="utf-8"))
    document["procedures"][0]["fees"] = [{"since": None, "kind": "exempt"}]
    path = tmp_path / "ct.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    problems = refused(path)
    assert any("article that exempts it" in problem.message for problem in problems)


def test_a_yaml_directory_is_the_whole_catalogue(tmp_path: Path) -> None:
    assert plan_import(PROCEDURES_DIR, None, effective=DAY).difference.empty


# -- revisions -----------------------------------------------------------------------------------


def _changed_list(tmp_path: Path, name: str) -> Path:
    rows = shipped_rows()
    row_of("1.001193", rows)[2] = name
    return write_csv(tmp_path / f"{abs(hash(name))}.csv", rows)


def test_apply_writes_a_revision_the_engine_reads(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    plan = plan_import(_changed_list(tmp_path, "Khai sinh A"), root, effective=DAY)
    manifest = apply_import(plan, root, at=datetime(2026, 1, 1, tzinfo=UTC))
    assert manifest.revision == 1
    assert manifest.previous is None
    assert (root / CURRENT_FILE).read_text(encoding="utf-8").strip() == "1"
    written = json.loads((root / "revisions" / "000001" / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert written["sha256"] == plan.sha256
    assert written["procedures"] == len(load_procedures())
    catalogue = procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)})
    assert catalogue.get("1.001193").name == "Khai sinh A"
    assert procedure_catalogue({}).get("1.001193").name == "Thủ tục đăng ký khai sinh"  # the shipped one, untouched


def test_a_second_import_then_rollback(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    apply_import(plan_import(_changed_list(tmp_path, "Khai sinh A"), root, effective=DAY), root, at=datetime.now(UTC))
    second = plan_import(_changed_list(tmp_path, "Khai sinh B"), root, effective=DAY)
    assert second.base_revision == 1
    assert [change.keys for change in second.difference.changed] == [("name",)]
    assert apply_import(second, root, at=datetime.now(UTC)).previous == 1
    store = CatalogueStore(root)
    assert store.revisions() == [1, 2]
    assert store.rollback().revision == 1
    assert procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)}).get("1.001193").name == "Khai sinh A"
    with pytest.raises(InvalidInput, match="replaced the shipped catalogue"):
        store.rollback()


def test_a_plan_applied_after_another_import_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    stale = plan_import(_changed_list(tmp_path, "Khai sinh A"), root, effective=DAY)
    apply_import(plan_import(_changed_list(tmp_path, "Khai sinh B"), root, effective=DAY), root, at=datetime.now(UTC))
    with pytest.raises(InvalidInput, match="became current"):
        apply_import(stale, root, at=datetime.now(UTC))
    assert CatalogueStore(root).revisions() == [1]


def test_a_failure_mid_write_leaves_the_previous_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "catalogue"
    apply_import(plan_import(_changed_list(tmp_path, "Khai sinh A"), root, effective=DAY), root, at=datetime.now(UTC))
    plan = plan_import(_changed_list(tmp_path, "Khai sinh B"), root, effective=DAY)
    real_write, calls = catalogue_store._write, []

    def failing(path: Path, text: str) -> None:
        calls.append(path.name)
        if len(calls) == 3:
            raise OSError("disk full")
        real_write(path, text)

    monkeypatch.setattr(catalogue_store, "_write", failing)
    with pytest.raises(InvalidInput, match="disk full"):
        apply_import(plan, root, at=datetime.now(UTC))
    assert sorted(path.name for path in (root / "revisions").iterdir()) == ["000001"]  # no staging left behind
    assert (root / CURRENT_FILE).read_text(encoding="utf-8").strip() == "1"
    assert procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)}).get("1.001193").name == "Khai sinh A"


def test_a_failure_when_switching_leaves_the_previous_revision(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "catalogue"
    apply_import(plan_import(_changed_list(tmp_path, "Khai sinh A"), root, effective=DAY), root, at=datetime.now(UTC))
    plan = plan_import(_changed_list(tmp_path, "Khai sinh B"), root, effective=DAY)

    def no_replace(source: object, target: object) -> None:
        raise OSError("replace failed")

    monkeypatch.setattr(catalogue_store.os, "replace", no_replace)
    with pytest.raises(InvalidInput, match="replace failed"):
        apply_import(plan, root, at=datetime.now(UTC))
    monkeypatch.undo()
    assert CatalogueStore(root).revisions() == [1]
    assert procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)}).get("1.001193").name == "Khai sinh A"


def test_an_ended_procedure_listed_again_is_in_force_again(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    rows = shipped_rows()
    without = [row for row in rows if row[1] != "1.000894"]
    apply_import(plan_import(write_csv(tmp_path / "a.csv", without), root, effective=DAY), root, at=datetime.now(UTC))
    assert procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)}).get("1.000894").valid_to == date(2025, 12, 31)
    again = plan_import(write_csv(tmp_path / "b.csv", without), root, effective=date(2026, 2, 1))
    assert again.difference.empty  # ended already: it stays ended on its day
    back = plan_import(write_csv(tmp_path / "c.csv", rows), root, effective=date(2026, 2, 1))
    assert [(change.code, change.keys) for change in back.difference.changed] == [("1.000894", ("valid_to",))]


def test_a_change_dated_before_the_latest_version_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    rows = shipped_rows()
    row_of("2.000815", rows)[5] = "01 ngày làm việc"
    apply_import(plan_import(write_csv(tmp_path / "a.csv", rows), root, effective=DAY), root, at=datetime.now(UTC))
    row_of("2.000815", rows)[5] = "02 ngày làm việc"
    with pytest.raises(CatalogueImportRefused) as caught:
        plan_import(write_csv(tmp_path / "b.csv", rows), root, effective=date(2025, 6, 1))
    assert [(p.row, p.column) for p in caught.value.cells] == [(rows.index(row_of("2.000815", rows)) + 2, "")]
    assert "give a later --since" in caught.value.cells[0].message


# -- review fixes: paths, concurrent writes, stale XLSX dimensions, formulas -------------------


def test_a_field_code_that_is_a_path_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    document = {"field": {"code": f"../../../../../../..{target}", "name": "Hộ tịch giả"},
                "procedures": [{"code": "1.999999", "name": "Thủ tục giả"}]}
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    problems = refused(path)
    assert [(p.row, p.column) for p in problems] == [(0, "field.code")]
    assert not target.with_suffix(".yaml").exists()
    with pytest.raises(InvalidInput, match="cannot name a file"):
        catalogue_store.file_names([document])
    with pytest.raises(InvalidInput, match="not a file name inside"):
        catalogue_store.inside(tmp_path / "scratch", "../ht.yaml")


def test_a_field_code_too_long_is_refused_naming_its_row(tmp_path: Path) -> None:
    headers = [*HEADERS, "Mã lĩnh vực"]
    rows = [[*row, ""] for row in shipped_rows()]
    rows.append(["99", "1.999999", "Thủ tục mới", "Lĩnh vực mới", "Trực tiếp", "05 ngày làm việc", "Không",
                 "Cấp Xã", "X" * 33])
    problems = refused(write_csv(tmp_path / "list.csv", rows, headers))
    assert [(p.row, p.column) for p in problems] == [(len(rows) + 1, "Mã lĩnh vực")]


def test_concurrent_writes_take_turns_and_the_loser_removes_nothing(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "catalogue"
    documents = procedure_import.read_documents(PROCEDURES_DIR)
    real_load = catalogue_store.load_procedures

    def slow_load(path: Path, **options: bool) -> object:
        time.sleep(0.2)  # both writers in flight: without the lock both pass the revision check
        return real_load(path, **options)

    monkeypatch.setattr(catalogue_store, "load_procedures", slow_load)
    outcomes: dict[str, object] = {}
    start = threading.Barrier(2)

    def write(name: str) -> None:
        start.wait()
        try:
            outcomes[name] = CatalogueStore(root).write(documents, source=name, sha256="0" * 64,
                                                        at=datetime.now(UTC), expected=None)
        except InvalidInput as error:
            outcomes[name] = error

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    written = [o for o in outcomes.values() if isinstance(o, catalogue_store.Manifest)]
    lost = [o for o in outcomes.values() if isinstance(o, InvalidInput)]
    assert len(written) == 1 and len(lost) == 1 and "became current" in lost[0].message
    store = CatalogueStore(root)
    assert store.revisions() == [1] and store.current_revision() == 1
    assert store.manifest(1).source == written[0].source
    assert sorted(path.name for path in store.revisions_dir.iterdir()) == ["000001"]
    load_procedures(store.directory(1), legacy_fees=False)


def _edited_sheet(path: Path, edit: Callable[[str], str]) -> Path:
    """``path`` with its first sheet's XML edited (as another program might have saved it)."""
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    name = "xl/worksheets/sheet1.xml"
    entries[name] = edit(entries[name].decode("utf-8")).encode("utf-8")
    edited = path.with_name(f"edited-{path.name}")
    with zipfile.ZipFile(edited, "w") as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return edited


def test_an_xlsx_with_a_stale_dimension_is_read_whole(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", [list(row) for row in shipped_rows()])
    edited = _edited_sheet(path, lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:B2"', xml))
    assert 'ref="A1:B2"' in zipfile.ZipFile(edited).read("xl/worksheets/sheet1.xml").decode()
    plan = plan_import(edited, None, effective=DAY)
    assert plan.difference.empty  # every row read: none of the shipped procedures ended


@pytest.mark.parametrize("edit", [
    lambda xml: xml.replace("</sheetData>", '<row r="200"><c r="A200" t="n"><v>abc</v></c></row></sheetData>'),
    lambda xml: xml.replace("</sheetData>", '<row r="200"><c r="!!"><v>1</v></c></row></sheetData>'),
    lambda xml: xml.replace("</sheetData>", "<row r="),
])
def test_an_unreadable_xlsx_row_is_a_typed_refusal(tmp_path: Path, edit: Callable[[str], str]) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", [list(row) for row in shipped_rows()])
    problems = refused(_edited_sheet(path, edit))
    assert len(problems) == 1 and problems[0].row > 0 and "unreadable row" in problems[0].message


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+cmd", "@SUM(A1)", "-x+1", "Khai sinh \u202e",
                                  "-2+3+cmd|' /C calc'!A0", "-1*A1"])
def test_a_cell_a_spreadsheet_would_run_is_refused(tmp_path: Path, text: str) -> None:
    rows = shipped_rows()
    rows[1][2] = text
    problems = refused(write_csv(tmp_path / "list.csv", rows))
    assert [(p.row, p.column) for p in problems] == [(3, "Tên thủ tục")]


def test_a_negative_number_is_not_a_formula() -> None:
    assert cell_text_problem("-5") is None and cell_text_problem("Khai sinh - kết hôn") is None
    assert cell_text_problem("-") is None
    assert cell_text_problem("-5,5") is None and cell_text_problem("-3 ngày làm việc") is None


def test_a_number_then_an_operator_is_a_formula_in_an_export() -> None:
    """``-2+3+cmd|' /C calc'!A0`` (the classic DDE payload) starts like a number, and a spreadsheet runs it: it was
    written as it came into the tracking book's CSV (an applicant's name typed online)."""
    assert cells.csv_text("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0"
    assert cells.csv_text("-1-1") == "'-1-1" and cells.csv_text("-5") == "-5"


def test_bieu06_exports_quote_what_a_spreadsheet_would_run(tmp_path: Path) -> None:
    report = Bieu06(DAY, DAY, (Bieu06Row("HT", "=HYPERLINK(\"http://x\")", total=1), Bieu06Row("CT", "-5")))
    lines = list(csv.reader(io.StringIO(bieu06_csv(report))))
    assert [line[1] for line in lines[1:3]] == ["'=HYPERLINK(\"http://x\")", "-5"]
    bieu06_xlsx(report, tmp_path / "b.xlsx")
    sheet = load_workbook(tmp_path / "b.xlsx").active
    cells = [cell for line in sheet.iter_rows() for cell in line if str(cell.value).startswith("=HYPERLINK")]
    assert [(cell.value, cell.data_type) for cell in cells] == [("=HYPERLINK(\"http://x\") (HT)", "s")]


@pytest.mark.parametrize("current", [b"\xc2\xb2\n", b"\xff1\n", b"-1\n", b"1" + b" " * 80 + b"2\n", None])
def test_a_current_file_that_names_no_revision_is_an_invalid_definition_naming_it(tmp_path: Path,
                                                                                  current: bytes | None) -> None:
    root = tmp_path / "catalogue"
    apply_import(plan_import(_changed_list(tmp_path, "Khai sinh A"), root, effective=DAY), root, at=datetime.now(UTC))
    (root / CURRENT_FILE).unlink()
    if current is None:
        (root / CURRENT_FILE).mkdir()
    else:
        (root / CURRENT_FILE).write_bytes(current)
    with pytest.raises(InvalidDefinition) as refused:
        procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)})
    assert refused.value.source == str(root / CURRENT_FILE)


def test_a_revision_that_lost_a_field_file_is_refused_when_the_process_starts(tmp_path: Path) -> None:
    """A revision is written whole; one edited by hand since (a field file deleted, or every one) no longer holds the
    procedures its manifest counts, and is refused rather than served with procedures missing."""
    root = tmp_path / "catalogue"
    apply_import(plan_import(_changed_list(tmp_path, "Khai sinh A"), root, effective=DAY), root, at=datetime.now(UTC))
    revision = root / "revisions" / "000001"
    (revision / "ht.yaml").unlink()
    with pytest.raises(InvalidDefinition) as refused:
        procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)})
    assert refused.value.source == str(revision)
    assert "manifest" in str(refused.value)
    for path in revision.glob("*.yaml"):
        path.unlink()
    with pytest.raises(InvalidDefinition, match="manifest"):
        procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)})


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_procedures_dir_that_is_not_a_directory_is_refused_rather_than_the_shipped_catalogue_served(
        tmp_path: Path, kind: str) -> None:
    """A misspelled ``MOTCUA_PROCEDURES_DIR`` (or one naming a file) served the shipped catalogue, silently: a province
    that had imported its own would run on the package's. It is refused, naming the variable; an existing directory
    without a revision yet still serves the shipped one (before the first import)."""
    root = tmp_path / "catalouge"
    if kind == "file":
        root.write_text("1\n", encoding="utf-8")
    with pytest.raises(InvalidDefinition) as refused:
        procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(root)})
    assert refused.value.source == "MOTCUA_PROCEDURES_DIR"
    assert str(root) in str(refused.value) and "not a directory" in str(refused.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    shipped = procedure_catalogue({"MOTCUA_PROCEDURES_DIR": str(empty)})
    assert shipped.get("1.001193").name == "Thủ tục đăng ký khai sinh"


@pytest.mark.parametrize(("text", "tiers"), [
    ("Cấp Xã", {"commune"}),
    ("Cấp Tỉnh, Cấp Xã", {"province", "commune"}),
    ("UBND cấp xã; UBND cấp huyện", {"commune", "district"}),
    ("cấp tỉnh và cấp xã", {"province", "commune"}),
    ("Xã, phường, đặc khu", {"commune"}),
    ("Cấp Bộ, ngành", {"central"}),
    ("Cơ quan khác", {"other"}),
    ("Cấp Tỉnh\nCấp Xã", {"province", "commune"}),  # a cell of two lines
    ("Cấp Tỉnh – Cấp Xã", {"province", "commune"}),
    ("Cấp bộ/ngành", {"central"}),
    ("Cấp Thành phố", {"province"}),  # Hải Phòng's provincial tier
    ("Cấp Xã, Ngành dọc", {"commune", "other"}),
    ("Cấp Xã (Phường, Thị trấn)", {"commune"}),
])
def test_the_tiers_that_carry_a_procedure_out_are_read(text: str, tiers: set[str]) -> None:
    assert parse_tiers(text) == tiers


@pytest.mark.parametrize("text", ["Cấp thôn", "Tổ dân phố", ", ;"])
def test_a_tier_no_one_knows_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="level of execution"):
        parse_tiers(text)


def test_a_list_of_other_tiers_only_is_refused_whole(tmp_path: Path) -> None:
    rows = [[*row[:7], "Cấp Tỉnh"] for row in shipped_rows()]
    with pytest.raises(CatalogueImportRefused) as refusal:
        plan_import(write_csv(tmp_path / "province.csv", rows), None, effective=DAY, tier="commune")
    assert [(problem.column, problem.message.split(" (")[0]) for problem in refusal.value.cells] == [
        ("Cấp thực hiện", "no procedure of the list is carried out at Cấp Xã")]
    bad = shipped_rows()
    row_of("1.001193", bad)[7] = "Cấp thôn"
    with pytest.raises(CatalogueImportRefused) as refusal:
        plan_import(write_csv(tmp_path / "bad.csv", bad), None, effective=DAY, tier="commune")
    [problem] = refusal.value.cells
    assert (problem.row, problem.column) == (int(row_of("1.001193", bad)[0]) + 1, "Cấp thực hiện")  # header: row 1
    assert plan_import(tmp_path / "bad.csv", None, effective=DAY).difference.empty  # every tier: the cell not read


def test_a_yaml_catalogue_has_no_tier_to_choose() -> None:
    with pytest.raises(InvalidInput, match="--tier"):
        plan_import(PROCEDURES_DIR, None, effective=DAY, tier="commune")


def test_a_procedure_whose_tier_the_list_does_not_say_is_imported(tmp_path: Path) -> None:
    rows = shipped_rows()
    row_of("1.001193", rows)[7] = ""
    rows.append(["99", "1.999999", "Thủ tục thử", "Hộ tịch", "Một phần", "05 ngày làm việc",
                 "Theo Nghị quyết HĐND tỉnh", "Cấp Tỉnh"])
    plan = plan_import(write_csv(tmp_path / "list.csv", rows), None, effective=DAY, tier="commune")
    assert plan.difference.empty
    assert [row.code for row in plan.left_out] == ["1.999999"]
    assert plan.left_out_by_tiers() == {"Cấp Tỉnh": 1}
    every = plan_import(tmp_path / "list.csv", None, effective=DAY)  # the default: every tier, the others counted
    assert [code for code, *_ in every.difference.added] == ["1.999999"]
    assert [row.code for row in every.beyond_commune] == ["1.999999"] and every.left_out == ()
