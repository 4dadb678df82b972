"""Excel workbooks of the auditor's documents: the process control sheet and a dossier's history.

The control sheet follows the official form (Phiếu kiểm soát quá trình giải quyết hồ sơ, form 05 of
Circular 01/2018/TT-VPCP, 06 of Circular 03/2025/TT-VPCP): four columns — the units that give and
receive, the time of the hand-over to the minute with the two people's names, the result of the step
(Trước hạn / Đúng hạn / Quá hạn), a note — then a second sheet with the same rows as flat data. A hand-over that
ends a step of the procedure's internal process is judged against the step's own budget; its note names the step,
the budget and the working time spent, and the data sheet has them in columns of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook  # type: ignore[import-untyped]  # openpyxl ships no type information
from openpyxl.styles import Alignment, Border, Font, Side  # type: ignore[import-untyped]  # same

from motcua.adapters.files import replacing
from motcua.adapters.render.cells import texts_only
from motcua.adapters.render.timeline import Timeline, minute
from motcua.workflow.auditing.control_sheet import ControlSheet, HandOver, StepCheck
from motcua.workflow.dossiers.internal_process import working_time_label
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.labels import trigger_label

__all__ = ["control_sheet_workbook", "history_workbook", "write_control_sheet", "write_history"]

FORM_HEADERS: Final = (
    "TÊN CƠ QUAN",
    "THỜI GIAN GIAO, NHẬN HỒ SƠ",
    "KẾT QUẢ GIẢI QUYẾT HỒ SƠ\n(Trước hạn/đúng hạn/quá hạn)",
    "GHI CHÚ",
)
DATA_HEADERS: Final = (
    "STT", "Bước", "Người giao", "Đơn vị giao", "Người nhận", "Đơn vị nhận", "Thời điểm giao, nhận", "Hạn của bước",
    "Kết quả", "Ghi chú", "Bước của quy trình nội bộ", "Thời hạn của bước", "Bắt đầu bước", "Kết thúc bước",
    "Thời gian đã dùng (phút làm việc)", "Mục nhật ký số",
)
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _spoken_time(instant: datetime) -> str:
    """``08 giờ 05 phút, ngày 04 tháng 03 năm 2024``: the form's wording."""
    t = to_vietnam_time(instant)
    return f"{t:%H} giờ {t:%M} phút, ngày {t:%d} tháng {t:%m} năm {t:%Y}"


def _title(sheet: Any, row: int, text: str, *, bold: bool = True, size: int = 12) -> None:
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(FORM_HEADERS))
    cell = sheet.cell(row=row, column=1, value=text)
    cell.font = Font(bold=bold, size=size)
    cell.alignment = _CENTRE


def _step_note(step: StepCheck | None) -> str:
    """``Bước «…»: thời hạn 0,5 ngày làm việc, đã dùng 5 giờ 10 phút`` for a hand-over that ends a step."""
    if step is None:
        return ""
    return (f"Bước «{step.label}»: thời hạn {step.budget or 'không tính thời gian'}, "
            f"đã dùng {working_time_label(step.spent)}")


def _form_row(sheet: Any, row: int, handover: HandOver) -> None:
    values = (
        f"1. Giao: {handover.giver.unit}\n2. Nhận: {handover.receiver.unit}",
        f"{_spoken_time(handover.at)}\nNgười giao: {handover.giver.name or '—'}\n"
        f"Người nhận: {handover.receiver.name or '—'}",
        handover.result.label,
        "\n".join(part for part in (handover.note, _step_note(handover.step)) if part),
    )
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column, value=value)
        cell.alignment = _CENTRE if column == 3 else _WRAP  # noqa: PLR2004 - the result column is centred
        cell.border = _BOX


def _form(sheet: Any, control: ControlSheet) -> None:
    sheet.title = "Phiếu kiểm soát"
    for letter, width in zip("ABCD", (34, 40, 20, 30), strict=True):
        sheet.column_dimensions[letter].width = width
    _title(sheet, 1, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    _title(sheet, 2, "Độc lập - Tự do - Hạnh phúc", bold=False)
    _title(sheet, 4, "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", size=14)
    _title(sheet, 5, f"Mã hồ sơ: {control.code}", bold=False)
    _title(sheet, 6, f"(Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả số: {control.code})", bold=False)
    lines = [
        f"Thủ tục: {control.procedure}", f"Chủ hồ sơ: {control.applicant}",
        f"Ngày tiếp nhận: {minute(control.received_at) if control.received_at else '—'}; "
        f"ngày hẹn trả kết quả: {minute(control.appointment) if control.appointment else '—'}",
        "Cơ quan (bộ phận) giải quyết hồ sơ: Ủy ban nhân dân xã",
    ]
    for offset, line in enumerate(lines):
        sheet.merge_cells(start_row=7 + offset, start_column=1, end_row=7 + offset, end_column=4)
        sheet.cell(row=7 + offset, column=1, value=line)
    header = 8 + len(lines)
    for column, text in enumerate(FORM_HEADERS, start=1):
        cell = sheet.cell(row=header, column=column, value=text)
        cell.font = Font(bold=True)
        cell.alignment = _CENTRE
        cell.border = _BOX
    for offset, handover in enumerate(control.handovers, start=1):
        _form_row(sheet, header + offset, handover)
    foot = header + len(control.handovers) + 2
    notes = (
        "Ghi chú: Kết quả giải quyết hồ sơ do bên nhận hồ sơ ghi khi nhận bàn giao hồ sơ.",
        "Bước có thời hạn riêng theo quy trình nội bộ được đánh giá theo thời hạn ấy (thời gian làm việc đã dùng, "
        "không tính thời gian tạm dừng); mỗi bước khác được đánh giá theo ngày hẹn trả kết quả hợp pháp của hồ sơ "
        "tại thời điểm bàn giao (đã cộng thời gian tạm dừng; không tính ngày hẹn lại trong phiếu xin lỗi).",
        "Phiếu được lập tự động từ nhật ký hệ thống (motcua).",
    )
    for offset, note in enumerate(notes):
        sheet.merge_cells(start_row=foot + offset, start_column=1, end_row=foot + offset, end_column=4)
        sheet.cell(row=foot + offset, column=1, value=note).font = Font(italic=True, size=9)


def _data(sheet: Any, control: ControlSheet, definition: WorkflowDefinition) -> None:
    sheet.append(list(DATA_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for h in control.handovers:
        sheet.append([
            h.number, trigger_label(definition, h.trigger), h.giver.name, h.giver.unit, h.receiver.name,
            h.receiver.unit, minute(h.at), minute(h.deadline) if h.deadline else "", h.result.label, h.note,
            *_step_columns(h.step), h.sequence,
        ])


def _step_columns(step: StepCheck | None) -> tuple[str | int, ...]:
    if step is None:
        return ("", "", "", "", "")
    return (step.label, step.budget or "không tính thời gian", minute(step.started), minute(step.ended),
            int(step.spent.total_seconds()) // 60)


def control_sheet_workbook(control: ControlSheet, definition: WorkflowDefinition) -> Any:
    """The workbook: the official form, then the same rows as data, each step named by ``definition``'s label."""
    book = Workbook()
    _form(book.active, control)
    _data(book.create_sheet("Dữ liệu"), control, definition)
    return texts_only(book)


def write_control_sheet(control: ControlSheet, definition: WorkflowDefinition, path: Path) -> None:
    with replacing(path) as temporary:
        control_sheet_workbook(control, definition).save(temporary)


def _history_sheet(sheet: Any, timeline: Timeline) -> None:
    sheet.title = "Diễn biến"
    regions = [move.region_label for move in timeline.rows[0].moves] if timeline.rows else []
    headers = ["#", "Thời điểm", "Người thực hiện", "Vai trò", "Thao tác"]
    headers += [f"{label} — {side}" for label in regions for side in ("trước", "sau")]
    headers += ["Lý do", "Ghi chú"]
    sheet.append(headers)
    for row in timeline.rows:
        moves = {move.region_label: move for move in row.moves}
        states: list[str] = []
        for label in regions:
            move = moves.get(label)
            states += [move.before_label, move.after_label] if move else ["", ""]
        sheet.append([row.sequence, minute(row.at), row.actor, row.role_label, row.trigger_label, *states,
                      row.reason or "", row.note])


def _rows_sheet(sheet: Any, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))


def history_workbook(timeline: Timeline) -> Any:
    book = Workbook()
    _history_sheet(book.active, timeline)
    _rows_sheet(book.create_sheet("Lịch sử hẹn trả"), ("Thời điểm", "Ngày hẹn trả", "Loại", "Lý do"),
                [(a.at, a.appointment, a.kind_label, a.reason) for a in timeline.appointments])
    stood = "Tại thời điểm" if timeline.at is not None else "Hiện trạng"
    state_rows: list[Sequence[object]] = [(label, f"{shown} ({state})") for label, state, shown in timeline.states]
    state_rows.append(("Phiên bản", timeline.case.version))
    if timeline.at is not None:
        state_rows.insert(0, ("Thời điểm", minute(timeline.at)))
    _rows_sheet(book.create_sheet(stood), ("Mục", "Giá trị"), state_rows)
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    return texts_only(book)


def write_history(timeline: Timeline, path: Path) -> None:
    with replacing(path) as temporary:
        history_workbook(timeline).save(temporary)
