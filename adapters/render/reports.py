"""Renderings of the official reports: Rich tables, CSV, and Excel workbooks an official can print.

The Biểu 06 workbook follows the layout of *Biểu số 06/VPCP/KSTT* (Circular 01/2020/TT-VPCP): title,
period line, a three-row header whose cells are merged by group (received, resolved, in progress),
the column numbers (1)…(13), one row per field of procedure and the total row, on a landscape A4
page fitted to its width, with the header repeated on every printed page.
"""

from __future__ import annotations

import csv
import io
import types
from datetime import date
from pathlib import Path
from typing import Any

from rich.table import Table

from motcua.adapters.files import replacing
from motcua.adapters.render.cells import csv_text, texts_only
from motcua.workflow.reports.par766 import Scorecard
from motcua.workflow.reports.projection import BIEU06_COUNTS, Bieu06, Bieu06Row

Worksheet = Any  # openpyxl ships no type information
_FONT = "Times New Roman"  # the font of official documents
_TITLE_ROW, _PERIOD_ROW, _UNIT_ROW = 2, 3, 4
_FIELD_COLUMN = 2

__all__ = [
    "BIEU06_FORM",
    "BIEU06_GROUPS",
    "BIEU06_LABELS",
    "bieu06_csv",
    "bieu06_table",
    "bieu06_xlsx",
    "par766_csv",
    "par766_table",
    "par766_xlsx",
    "shown",
]

BIEU06_FORM = "Biểu số 06/VPCP/KSTT"
BIEU06_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
TOTAL_LABEL = "Tổng cộng"
BIEU06_LABELS: dict[str, str] = {
    "total": "Tổng số",
    "online": "Trực tuyến",
    "direct_postal": "Trực tiếp, dịch vụ bưu chính công ích",
    "carried_over": "Từ kỳ trước chuyển sang",
    "resolved": "Tổng số",
    "resolved_early": "Trước hạn",
    "resolved_on_time": "Đúng hạn",
    "resolved_late": "Quá hạn",
    "pending": "Tổng số",
    "pending_within": "Trong hạn",
    "pending_overdue": "Quá hạn",
}
# (label, first count, last count) of the three groups of columns
_GROUPS = (
    ("Số hồ sơ tiếp nhận giải quyết", "total", "carried_over"),
    ("Số hồ sơ đã giải quyết", "resolved", "resolved_late"),
    ("Số hồ sơ đang giải quyết", "pending", "pending_overdue"),
)
BIEU06_GROUPS = _GROUPS
"""The three groups of columns of the form (label, first count, last count): the workbook's header and the console's."""
_SHORT = {"total": "Tiếp nhận", "resolved": "Đã giải quyết", "pending": "Đang giải quyết"}
_COLUMNS = 2 + len(BIEU06_COUNTS)  # STT, Lĩnh vực, then the counts: 13
_HEADER_TOP = 5  # first header row of the workbook


def _openpyxl() -> Any:
    """openpyxl's workbook, styles and utilities, loaded only when a workbook is written."""
    import openpyxl  # type: ignore[import-untyped]  # noqa: PLC0415 - only the xlsx format needs it
    import openpyxl.styles  # type: ignore[import-untyped]  # noqa: PLC0415
    import openpyxl.utils  # type: ignore[import-untyped]  # noqa: PLC0415

    return types.SimpleNamespace(
        Workbook=openpyxl.Workbook, Alignment=openpyxl.styles.Alignment, Border=openpyxl.styles.Border,
        Font=openpyxl.styles.Font, Side=openpyxl.styles.Side, column_letter=openpyxl.utils.get_column_letter,
    )


def shown(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _period_line(report: Bieu06) -> str:
    return f"Kỳ báo cáo: từ ngày {shown(report.start)} đến ngày {shown(report.end)}"


def _named(row: Bieu06Row) -> str:
    return f"{row.field_name} ({row.field_code})" if row.field_code else row.field_name


# -- Biểu 06 ---------------------------------------------------------------------------------------


def _titled(heading: str | None, title: str) -> str:
    """``title`` under the line naming what the report covers (its unit, or the province), when given."""
    return title if heading is None else f"{heading}\n{title}"


def bieu06_table(report: Bieu06, *, heading: str | None = None) -> Table:
    """``heading``: the line naming the unit (or the province) the report covers, above the title."""
    title = _titled(heading, f"{BIEU06_FORM} — {BIEU06_TITLE.capitalize()}\n{_period_line(report)}")
    table = Table(title=title, show_lines=False)
    table.add_column("STT", justify="right")
    table.add_column("Lĩnh vực", overflow="fold")
    for name in BIEU06_COUNTS:
        label = f"{_SHORT[name]}: tổng số" if name in _SHORT else BIEU06_LABELS[name]
        table.add_column(label, justify="right", overflow="fold")
    for number, row in enumerate(report.rows, start=1):
        table.add_row(str(number), _named(row), *(str(value) for value in row.counts().values()))
    table.add_section()
    table.add_row("", TOTAL_LABEL, *(str(value) for value in report.total.counts().values()), style="bold")
    return table


def bieu06_csv(report: Bieu06) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["field_code", "field_name", *BIEU06_COUNTS])
    for row in report.rows:
        writer.writerow([csv_text(row.field_code), csv_text(row.field_name), *row.counts().values()])
    writer.writerow(["", TOTAL_LABEL, *report.total.counts().values()])
    return buffer.getvalue()


def bieu06_xlsx(report: Bieu06, out: Path, *, agency: str | None = None) -> None:
    xl = _openpyxl()

    book = xl.Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "Bieu 06"
    _xlsx_heading(sheet, report, agency)
    _xlsx_header(sheet)
    first = _HEADER_TOP + 4
    for number, row in enumerate(report.rows, start=1):
        sheet.append([number, _named(row), *row.counts().values()])
    sheet.append([TOTAL_LABEL, None, *report.total.counts().values()])  # A:B merged, the label in A
    last = sheet.max_row
    sheet.merge_cells(start_row=last, start_column=1, end_row=last, end_column=2)
    _xlsx_body_style(sheet, first, last)
    _xlsx_signatures(sheet, last + 2)
    _xlsx_print_setup(sheet)
    with replacing(out) as temporary:
        texts_only(book).save(temporary)


def _xlsx_heading(sheet: Worksheet, report: Bieu06, agency: str | None) -> None:
    xl = _openpyxl()

    sheet["A1"] = agency or "Cơ quan, đơn vị báo cáo: …"
    sheet["A1"].font = xl.Font(name=_FONT, bold=True)
    sheet.cell(row=1, column=_COLUMNS, value=BIEU06_FORM).font = xl.Font(name=_FONT, bold=True)
    sheet.cell(row=1, column=_COLUMNS).alignment = xl.Alignment(horizontal="right")
    for row, text, size in ((_TITLE_ROW, BIEU06_TITLE, 14), (_PERIOD_ROW, _period_line(report), 12)):
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=_COLUMNS)
        cell = sheet.cell(row=row, column=1, value=text)
        cell.font = xl.Font(name=_FONT, bold=row == _TITLE_ROW, italic=row == _PERIOD_ROW, size=size)
        cell.alignment = xl.Alignment(horizontal="center")
    unit = sheet.cell(row=_UNIT_ROW, column=_COLUMNS, value="Đơn vị tính: số hồ sơ")
    unit.font = xl.Font(name=_FONT, italic=True)
    unit.alignment = xl.Alignment(horizontal="right")


def _xlsx_header(sheet: Worksheet) -> None:
    """Three header rows with merged group cells, then the column numbers (1)…(13)."""
    top = _HEADER_TOP
    position = {name: 3 + index for index, name in enumerate(BIEU06_COUNTS)}
    _merged(sheet, (top, 1, top + 2, 1), "STT")
    _merged(sheet, (top, 2, top + 2, 2), "Lĩnh vực giải quyết")
    for label, first, last in _GROUPS:
        _merged(sheet, (top, position[first], top, position[last]), label)
        _merged(sheet, (top + 1, position[first], top + 2, position[first]), BIEU06_LABELS[first])
        _merged(sheet, (top + 1, position[first] + 1, top + 1, position[last]), "Trong đó")
        for name in BIEU06_COUNTS[position[first] - 2:position[last] - 2]:
            sheet.cell(row=top + 2, column=position[name], value=BIEU06_LABELS[name])
    for column in range(1, _COLUMNS + 1):
        sheet.cell(row=top + 3, column=column, value=column)
    _header_style(sheet, top, top + 3)


def _merged(sheet: Worksheet, corners: tuple[int, int, int, int], text: str) -> None:
    """Write ``text`` in the cell (row, column) and merge it down/right to (end row, end column)."""
    row, column, end_row, end_column = corners
    if (row, column) != (end_row, end_column):
        sheet.merge_cells(start_row=row, start_column=column, end_row=end_row, end_column=end_column)
    sheet.cell(row=row, column=column, value=text)


def _border() -> Any:
    xl = _openpyxl()
    thin = xl.Side(style="thin")
    return xl.Border(left=thin, right=thin, top=thin, bottom=thin)


def _header_style(sheet: Worksheet, first: int, last: int) -> None:
    xl = _openpyxl()

    for line in sheet.iter_rows(min_row=first, max_row=last, max_col=_COLUMNS):
        for cell in line:
            cell.font = xl.Font(name=_FONT, bold=cell.row < last, italic=cell.row == last)
            cell.alignment = xl.Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = _border()
    sheet.row_dimensions[first + 2].height = 48


def _xlsx_body_style(sheet: Worksheet, first: int, last: int) -> None:
    xl = _openpyxl()

    for line in sheet.iter_rows(min_row=first, max_row=last, max_col=_COLUMNS):
        for cell in line:
            cell.font = xl.Font(name=_FONT, bold=cell.row == last)
            cell.border = _border()
            if cell.column == _FIELD_COLUMN:
                cell.alignment = xl.Alignment(wrap_text=True, vertical="center")
            else:
                cell.alignment = xl.Alignment(horizontal="center", vertical="center")
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 34
    for column in range(3, _COLUMNS + 1):
        sheet.column_dimensions[_letter(column)].width = 12


def _xlsx_signatures(sheet: Worksheet, row: int) -> None:
    xl = _openpyxl()

    for column, end_column, text in ((1, 4, "NGƯỜI LẬP BIỂU"), (9, _COLUMNS, "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ")):
        sheet.merge_cells(start_row=row, start_column=column, end_row=row, end_column=end_column)
        cell = sheet.cell(row=row, column=column, value=text)
        cell.font = xl.Font(name=_FONT, bold=True)
        cell.alignment = xl.Alignment(horizontal="center")
        note = sheet.cell(row=row + 1, column=column, value="(Ký, ghi rõ họ tên)" if column == 1
                          else "(Ký tên, đóng dấu)")
        sheet.merge_cells(start_row=row + 1, start_column=column, end_row=row + 1, end_column=end_column)
        note.font = xl.Font(name=_FONT, italic=True)
        note.alignment = xl.Alignment(horizontal="center")


def _xlsx_print_setup(sheet: Worksheet) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{_HEADER_TOP}:{_HEADER_TOP + 3}"
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.freeze_panes = sheet.cell(row=_HEADER_TOP + 4, column=3)


def _letter(column: int) -> str:
    xl = _openpyxl()
    return str(xl.column_letter(column))


# -- Decision 766 ----------------------------------------------------------------------------------

PAR766_LABELS: dict[str, str] = {
    "progress": "Tiến độ giải quyết (trước hạn, đúng hạn, trong hạn)",
    "online": "Tỷ lệ hồ sơ trực tuyến toàn trình (TTHC đủ điều kiện toàn trình)",
    "e_result": "Tỷ lệ hồ sơ có kết quả điện tử",
    "digitized": "Tỷ lệ hồ sơ số hóa (và kết quả điện tử khi bắt buộc)",
    "satisfaction": "Mức độ hài lòng trong thực hiện TTHC",
    "payment": "Tỷ lệ hồ sơ thanh toán trực tuyến",
    "sync": "Tỷ lệ hồ sơ đồng bộ trạng thái với Cổng DVCQG",
    "petition_on_time": "Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn",
    "petition_satisfaction": "Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị",
}
"""The Vietnamese name of every scored indicator (``par766.INDICATOR_KEYS``), as officials read it."""
_PAR766_HEADER = ("key", "label", "numerator", "denominator", "value_percent", "points", "max_points")


def _value(value: float | None) -> str:
    return "N/A" if value is None else f"{value:.2f}"


def par766_table(card: Scorecard, *, heading: str | None = None) -> Table:
    """``heading``: as :func:`bieu06_table`'s."""
    title = _titled(heading, f"Chỉ số Quyết định 766/QĐ-TTg — từ {shown(card.start)} đến {shown(card.end)} "
                             f"(bộ quy tắc {card.rule_set})")
    table = Table(title=title, caption="\n".join(card.notes) or None)
    columns = (("Chỉ số", "left"), ("Tử số", "right"), ("Mẫu số", "right"), ("Tỷ lệ (%)", "right"),
               ("Điểm", "right"), ("Tối đa", "right"))
    for column, justify in columns:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]  # literal justify values
    for indicator in card.indicators:
        table.add_row(PAR766_LABELS[indicator.key], str(indicator.numerator),
                      str(indicator.denominator), _value(indicator.value), f"{indicator.points:g}",
                      f"{indicator.max_points:g}")
    table.add_section()
    table.add_row("Tổng", "", "", "", f"{card.total_points:g}", f"{card.max_points:g}", style="bold")
    return table


def par766_csv(card: Scorecard) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_PAR766_HEADER)
    for indicator in card.indicators:
        writer.writerow([indicator.key, PAR766_LABELS[indicator.key], indicator.numerator,
                         indicator.denominator, "" if indicator.value is None else indicator.value, indicator.points,
                         indicator.max_points])
    writer.writerow(["total", "Tổng", "", "", "", card.total_points, card.max_points])
    return buffer.getvalue()


def par766_xlsx(card: Scorecard, out: Path, *, heading: str | None = None) -> None:
    """``heading``: the unit (or the province) the scorecard covers, in A1 above the title when given."""
    xl = _openpyxl()

    book = xl.Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "QD 766"
    if heading is not None:
        sheet.append([heading])
    title = 1 if heading is None else 2  # the title row
    sheet.append([f"Chỉ số Quyết định 766/QĐ-TTg — từ {shown(card.start)} đến {shown(card.end)}"])
    sheet.append([f"Bộ quy tắc: {card.rule_set}"])
    sheet.append(["Mã", "Chỉ số", "Tử số", "Mẫu số", "Tỷ lệ (%)", "Điểm", "Điểm tối đa"])
    for indicator in card.indicators:
        sheet.append([indicator.key, PAR766_LABELS[indicator.key], indicator.numerator,
                      indicator.denominator, indicator.value, indicator.points, indicator.max_points])
    sheet.append(["", "Tổng", None, None, None, card.total_points, card.max_points])
    for note in card.notes:
        sheet.append([note])
    for cell in (*sheet[1], *sheet[title], *sheet[title + 2], *sheet[sheet.max_row - len(card.notes)]):
        cell.font = xl.Font(bold=True)
    sheet.column_dimensions["B"].width = 52
    with replacing(out) as temporary:
        texts_only(book).save(temporary)
