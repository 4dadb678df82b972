"""``motcua plan load``, ``motcua report plan`` and ``motcua report book``.

``plan load`` turns a reform plan's tasks into ``plan-task`` cases, one per task and, for a recurring task,
one per period (code ``<plan>/<task>`` or ``<plan>/<task>/<period>``); a second run creates nothing.
``report plan`` shows the plan's targets (target, actual, verdict) and its tasks' own status, measured over the plan's
own units (:func:`~motcua.workflow.plan.metrics.plan_units`) or one unit (``--unit``, checked as every report's), the
units named on its first line. ``plan load`` opens the tasks at ``--unit`` or the home unit, which must be in force
today (a unit that ended is refused, naming its successor). ``report book``
prints the dossier tracking book (Sổ theo dõi hồ sơ) of a period as a table, CSV or an Excel workbook, of one
unit (``--unit``) or of the province (every unit), its title naming which.

Reports fold the whole audit log in memory (``motcua.workflow.reports.projection.fold``): fine at the size of a
commune's
year, not meant for a province's.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.files import replacing, write_text
from motcua.adapters.render.cells import csv_text, texts_only
from motcua.definitions.plans import load_plan
from motcua.entrypoints.cli.groups import report_group
from motcua.entrypoints.cli.report_scope import ReportScope, UnitOption, report_scope
from motcua.entrypoints.cli.terminal import terminal
from motcua.workflow.dossiers.tracking_book import BookRow, tracking_book
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.errors import InvalidInput, NoRuleSetInForce
from motcua.workflow.feedback.metrics import feedback_rows
from motcua.workflow.plan.intake import load_tasks
from motcua.workflow.plan.metrics import (
    PLAN_TASK_WORKFLOW,
    PlanInputs,
    TargetResult,
    TaskStatus,
    Verdict,
    evaluate,
    plan_inputs,
    plan_units,
)
from motcua.workflow.plan.model import GROUP_LABELS, Occurrence, Plan
from motcua.workflow.reports.par766 import FeedbackCounts
from motcua.workflow.reports.periods import parse_date

__all__ = ["plan_app", "register", "report_book", "report_plan"]

plan_app = typer.Typer(help="Kế hoạch cải cách hành chính: nạp nhiệm vụ (plan tasks).", no_args_is_help=True,
                       add_completion=False)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
PlanArgument = Annotated[Path, typer.Argument(help="The plan file, e.g. definitions/plans/an-thuong-2023.yaml.")]
_PIPE_WIDTH = 200


class PlanFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class BookFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    XLSX = "xlsx"


def _console() -> Console:
    return terminal(pipe_width=_PIPE_WIDTH)


def _day(text: str | None, option: str) -> date | None:
    """``option``, read and bounded as every command reads a day
    (:func:`~motcua.workflow.reports.periods.parse_date`)."""
    return None if text is None else parse_date(text, option)


def _period(start: date | None, end: date | None, default: tuple[date, date] | None) -> tuple[date, date]:
    if start is None or end is None:
        if default is None:
            raise InvalidInput("--from/--to", "both are required (YYYY-MM-DD)")
        start, end = start or default[0], end or default[1]
    if end < start:
        raise InvalidInput("--to", f"{end.isoformat()} is before --from {start.isoformat()}")
    return start, end


def _shown(moment: datetime | date | None, with_time: bool = False) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        local = to_vietnam_time(moment)
        return local.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")
    return moment.strftime("%d/%m/%Y")


# -- plan load -------------------------------------------------------------------------------------


LoadUnitOption = Annotated[str | None, typer.Option(
    "--unit", help="The unit whose plan it is (its agency code: `motcua units list`), in force today; the home unit "
                   "(MOTCUA_AGENCY) when omitted.")]


@plan_app.command("load")
def plan_load(path: PlanArgument, db: DbOption = None, unit: LoadUnitOption = None) -> None:
    """Nạp nhiệm vụ của kế hoạch thành hồ sơ công việc (plan-task); chạy lại không tạo trùng.

    Nạp vào đơn vị --unit (mặc định MOTCUA_AGENCY). Đơn vị đã kết thúc (sáp nhập) bị từ chối, kèm tên đơn vị kế
    thừa."""
    plan = load_plan(path)
    motcua = open_motcua(db, observers=[])
    try:
        result = load_tasks(motcua.service, motcua.rules, plan, unit=unit or motcua.desk.agency,
                            units=motcua.desk.units)
    except InvalidInput as error:
        if error.field != "unit":
            raise
        raise InvalidInput("--unit" if unit else "MOTCUA_AGENCY", error.message) from None
    finally:
        motcua.close()
    typer.echo(f"{plan.title}: {len(result.created)} nhiệm vụ mới, {len(result.existing)} đã có "
               f"(created {len(result.created)}, existing {len(result.existing)})")
    for code in result.differing:
        typer.echo(f"cảnh báo: {code} khác với kế hoạch (nội dung, chủ trì hoặc thời hạn); không sửa", err=True)


# -- report plan -----------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:g} %".replace(".", ",")


def _target_json(result: TargetResult) -> dict[str, JsonValue]:
    target, measured = result.target, result.measurement
    return {
        "id": target.id, "task": target.task, "metric": target.metric, "label": result.spec.label,
        "comparison": target.comparison, "value": target.value, "upper": target.upper, "unit": target.unit,
        "target": target.shown(), "implied": target.implied, "quote": target.quote,
        "numerator": measured.numerator, "denominator": measured.denominator, "actual": measured.percent,
        "verdict": result.verdict.value, "verdict_label": result.verdict.label, "reason": measured.reason,
        "formula": result.spec.formula,
    }


@dataclass(frozen=True)
class _TaskLine:
    occurrence: Occurrence
    status: TaskStatus | None


def _labels(app: Motcua, region: str) -> dict[str, str]:
    states = app.workflows.latest(PLAN_TASK_WORKFLOW).definition.regions[region].states
    return {name: spec.label for name, spec in states.items()}


def _task_json(plan: Plan, line: _TaskLine, as_of: date, labels: dict[str, dict[str, str]]) -> dict[str, JsonValue]:
    occurrence, status = line.occurrence, line.status
    task = occurrence.task
    row: dict[str, JsonValue] = {
        "code": occurrence.code, "task": task.id, "period": occurrence.period,
        "period_label": occurrence.period_label, "group": task.group, "group_label": GROUP_LABELS[task.group],
        "title": task.text,
        "owner": plan.owner_text(task), "due": occurrence.due.isoformat(), "loaded": status is not None,
    }
    if status is not None:
        row.update({
            "lifecycle": status.lifecycle, "lifecycle_label": labels["lifecycle"].get(status.lifecycle),
            "deadline": status.deadline, "deadline_label": labels["deadline"].get(status.deadline),
            "evidence": status.evidence, "overdue": status.overdue(as_of),
            "ended_at": status.ended_at.isoformat() if status.ended_at else None,
        })
    return row


def _targets_table(plan: Plan, results: tuple[TargetResult, ...], start: date, end: date) -> Table:
    table = Table(title=f"{plan.title} — chỉ tiêu, kỳ {_shown(start)}–{_shown(end)}", show_lines=True)
    for column in ("Chỉ tiêu", "Nhiệm vụ", "Mục tiêu", "Thực tế", "Số liệu", "Đánh giá", "Ghi chú"):
        table.add_column(column, overflow="fold")
    for result in results:
        measured = result.measurement
        counts = f"{measured.numerator}/{measured.denominator}" if measured.denominator else ""
        target = result.target.shown() + (" (*)" if result.target.implied else "")
        table.add_row(result.spec.label, result.target.task, target, _percent(measured.percent), counts,
                      result.verdict.label, measured.reason or "")
    return table


def _feedback_table(plan: Plan, counts: FeedbackCounts, start: date, end: date) -> Table:
    table = Table(title=f"{plan.title} — phản ánh, kiến nghị, kỳ {_shown(start)}–{_shown(end)}", show_lines=True)
    table.add_column("Phản ánh, kiến nghị", overflow="fold")
    table.add_column("Số lượng", justify="right")
    for _, label, count in feedback_rows(counts):
        table.add_row(label, str(count))
    return table


def _tasks_table(plan: Plan, rows: list[dict[str, JsonValue]], as_of: date) -> Table:
    table = Table(title=f"{plan.title} — nhiệm vụ ({len(rows)}), tính đến ngày {_shown(as_of)}", show_lines=True)
    columns = ("Mã", "Nội dung", "Chủ trì", "Hạn", "Tiến độ", "Trạng thái hạn (nhắc việc)", "Minh chứng",
               f"Quá hạn đến {_shown(as_of)}")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        title = str(row["title"]) + (f" — {row['period_label']}" if row["period_label"] else "")
        due = _shown(date.fromisoformat(str(row["due"])))
        if not row["loaded"]:
            table.add_row(str(row["code"]), title, str(row["owner"]), due, "Chưa nạp", "", "", "")
            continue
        table.add_row(str(row["code"]), title, str(row["owner"]), due, str(row["lifecycle_label"]),
                      str(row["deadline_label"]), str(row["evidence"]), "Có" if row["overdue"] else "Không")
    return table


def _plan_scope(motcua: Motcua, plan: Plan, unit: str | None, start: date, end: date) -> ReportScope:
    """``--unit``'s figures (checked as every report's ``--unit``), else those of the plan's own units
    (:func:`~motcua.workflow.plan.metrics.plan_units`), with the heading that names them."""
    if unit is not None:
        return report_scope(motcua, unit)
    directory = motcua.desk.units
    units = plan_units(motcua.store.cases(), plan.key, directory.register, directory.home, start=start, end=end)
    if units is None:  # a standalone desk's plan: its whole database
        return report_scope(motcua, None)
    return ReportScope(units, "Đơn vị: " + "; ".join(directory.label(code) for code in sorted(units)))


def _plan_inputs(
    motcua: Motcua, plan: Plan, start: date, end: date, units: frozenset[str] | None,
) -> tuple[PlanInputs, dict[str, TaskStatus]]:
    today = to_vietnam_time(motcua.service.engine.clock.now()).date()
    return plan_inputs(motcua.store.entries(), motcua.store.cases(), motcua.workflows.status_of, motcua.catalogue,
                       plan, start=start, end=end, as_of=min(today, end), units=units)


def report_plan(
    path: PlanArgument,
    db: DbOption = None,
    output: Annotated[PlanFormat, typer.Option("--format", help="table or json.")] = PlanFormat.TABLE,
    start: Annotated[str | None, typer.Option("--from", help="Đầu kỳ (YYYY-MM-DD); mặc định 01/01 năm kế hoạch.")]
    = None,
    end: Annotated[str | None, typer.Option("--to", help="Cuối kỳ (YYYY-MM-DD); mặc định 31/12 năm kế hoạch.")]
    = None,
    *, unit: Annotated[str | None, typer.Option(
        "--unit", help="One unit's figures (its agency code: `motcua units list`); the plan's own unit, and the units "
                       "that held its place in the period, when omitted.")] = None,
) -> None:
    """Chỉ tiêu của kế hoạch (mục tiêu, thực tế, đạt/không đạt) và tình trạng các nhiệm vụ.

    Đo trên hồ sơ và phản ánh, kiến nghị của đơn vị có kế hoạch (hoặc của đơn vị --unit)."""
    plan = load_plan(path)
    first, last = _period(_day(start, "--from"), _day(end, "--to"), (plan.start, plan.end))
    motcua = open_motcua(db, observers=[])
    try:
        scope = _plan_scope(motcua, plan, unit, first, last)
        inputs, statuses = _plan_inputs(motcua, plan, first, last, scope.units)
        labels = {region: _labels(motcua, region) for region in ("lifecycle", "deadline")}
    finally:
        motcua.close()
    results = evaluate(plan, inputs)
    lines = [_TaskLine(occurrence, statuses.get(occurrence.code)) for occurrence in plan.occurrences()]
    tasks = [_task_json(plan, line, inputs.as_of, labels) for line in lines]
    if output is PlanFormat.JSON:
        document: dict[str, JsonValue] = {
            "plan": plan.key, "title": plan.title, "from": first.isoformat(), "to": last.isoformat(),
            "as_of": inputs.as_of.isoformat(),
            "units": None if scope.units is None else list[JsonValue](sorted(scope.units)), "heading": scope.heading,
            "targets": [_target_json(r) for r in results],
            "feedback": [{"key": key, "label": label, "count": count}
                         for key, label, count in feedback_rows(inputs.feedback)],
            "tasks": list[JsonValue](tasks),
        }
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    console = _console()
    console.print(scope.heading)
    console.print(_targets_table(plan, results, first, last))
    console.print("(*) chỉ tiêu kế hoạch không ghi con số, lấy theo yêu cầu của văn bản "
                  "(xem docs/reference/reform-plan.md)")
    if all(r.verdict is Verdict.NO_DATA for r in results if r.spec.source == "dossiers"):
        console.print(f"Không có hồ sơ nào trong kỳ {_shown(first)}–{_shown(last)}: chọn kỳ khác bằng --from/--to.")
    console.print(_feedback_table(plan, inputs.feedback, first, last))
    console.print(_tasks_table(plan, tasks, inputs.as_of))


# -- report book -----------------------------------------------------------------------------------

BOOK_COLUMNS = ("STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Chủ hồ sơ", "Ngày nhận", "Ngày hẹn trả",
                "Ngày chuyển xử lý", "Ngày trả kết quả", "Kết quả", "Ghi chú")


def _book_cells(row: BookRow) -> list[str]:
    return [
        str(row.number), row.code, row.procedure_name or row.procedure_code, row.applicant,
        _shown(row.received_at, True), _shown(row.appointment, True), _shown(row.handed_over_at, True),
        _shown(row.returned_at, True), row.result_label, "; ".join(row.notes),
    ]


def _book_csv_cells(row: BookRow) -> list[str]:
    return [csv_text(cell) for cell in _book_cells(row)]  # the applicant's name as typed online: never a formula


def _book_title(motcua: Motcua, start: date, end: date, heading: str) -> str:
    """The form's title, the period and ``heading``, the unit (or the province) the book covers."""
    period = f"từ {_shown(start)} đến {_shown(end)}"
    try:
        form = motcua.rules.in_force(start).form("tracking_book")
    except NoRuleSetInForce:  # a period before the first rule set: the book still prints
        return f"SỔ THEO DÕI HỒ SƠ — {period} — {heading}"
    numbered = f" (mẫu số {form.number})" if form.number is not None else ""
    return f"{form.name.upper()}{numbered} — {period} — {heading}"


def _book_csv(rows: tuple[BookRow, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BOOK_COLUMNS)
    writer.writerows(_book_csv_cells(row) for row in rows)
    return buffer.getvalue()


def _excel_time(moment: datetime | None) -> datetime | None:
    return to_vietnam_time(moment).replace(tzinfo=None) if moment else None  # Excel has no time zones


def _book_xlsx(title: str, rows: tuple[BookRow, ...], out: Path) -> None:
    # openpyxl ships no type information; it loads only when the xlsx format is asked for
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]  # noqa: PLC0415

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "So theo doi ho so"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(list(BOOK_COLUMNS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        sheet.append([
            row.number, row.code, row.procedure_name or row.procedure_code, row.applicant,
            _excel_time(row.received_at), _excel_time(row.appointment), _excel_time(row.handed_over_at),
            _excel_time(row.returned_at), row.result_label, "; ".join(row.notes),
        ])
    for line in sheet.iter_rows(min_row=3, min_col=5, max_col=8):
        for cell in line:
            cell.number_format = "dd/mm/yyyy hh:mm"
    for letter, width in zip("ABCDEFGHIJ", (6, 26, 48, 24, 17, 17, 17, 17, 14, 48), strict=True):
        sheet.column_dimensions[letter].width = width
    with replacing(out) as temporary:
        texts_only(book).save(temporary)


def _book_table(title: str, rows: tuple[BookRow, ...]) -> Table:
    table = Table(title=title, show_lines=True)
    for column in BOOK_COLUMNS:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*_book_cells(row))
    return table


def report_book(
    start: Annotated[str, typer.Option("--from", help="Ngày nhận từ (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Ngày nhận đến (YYYY-MM-DD), tính cả ngày này.")],
    output: Annotated[BookFormat, typer.Option("--format", help="table, csv or xlsx.")] = BookFormat.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Ghi ra tệp (bắt buộc với xlsx).")] = None,
    *, unit: UnitOption = None, db: DbOption = None,
) -> None:
    """Sổ theo dõi hồ sơ: mỗi hồ sơ tiếp nhận trong kỳ một dòng; của một đơn vị (--unit), hoặc của cả tỉnh."""
    first, last = _period(_day(start, "--from"), _day(end, "--to"), None)
    if output is BookFormat.XLSX and out is None:
        raise InvalidInput("--out", "the xlsx format writes a file: give --out FILE.xlsx")
    motcua = open_motcua(db, observers=[])
    try:
        scope = report_scope(motcua, unit)
        rows = tracking_book(motcua.store.entries(), motcua.workflows.status_of, first, last, units=scope.units)
        title = _book_title(motcua, first, last, scope.heading)
    finally:
        motcua.close()
    if output is BookFormat.XLSX and out is not None:
        _book_xlsx(title, rows, out)
        typer.echo(f"{len(rows)} hồ sơ → {out}")
    elif output is BookFormat.CSV:
        text = _book_csv(rows)
        if out is None:
            typer.echo(text, nl=False)
        else:
            write_text(out, text, encoding="utf-8-sig")  # the BOM lets Excel read UTF-8
            typer.echo(f"{len(rows)} hồ sơ → {out}")
    else:
        _console().print(_book_table(title, rows))


# -- wiring ----------------------------------------------------------------------------------------



def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")
    report = report_group(app)
    report.command("plan")(report_plan)
    report.command("book")(report_book)
