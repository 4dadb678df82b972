"""What ``motcua demo`` prints at the end: rich tables with Vietnamese labels.

The Biểu 06 and Decision 766 tables are the ones ``motcua report`` prints (:mod:`motcua.adapters.render.reports`);
the quarter summary and the plan's targets are the demo's own compact views.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from motcua.adapters.render.reports import BIEU06_LABELS, bieu06_table, par766_table
from motcua.simulation.run import DemoResult
from motcua.workflow.feedback.metrics import feedback_rows
from motcua.workflow.plan.metrics import TargetResult, Verdict
from motcua.workflow.reports.projection import BIEU06_COUNTS

__all__ = ["PERIOD_COLUMNS", "plan_table", "quarters_table", "summary_table", "tables", "written_heading"]

PERIOD_COLUMNS = {
    "total": "Tổng số", "online": "Trực tuyến", "direct_postal": "Trực tiếp, BCCI",
    "carried_over": "Kỳ trước", "resolved": "Đã giải quyết", "resolved_early": "Trước hạn",
    "resolved_on_time": "Đúng hạn", "resolved_late": "Quá hạn", "pending": "Đang giải quyết",
    "pending_within": "Trong hạn", "pending_overdue": "Quá hạn (đang)",
}
_VERDICT_STYLE = {Verdict.MET: "green", Verdict.NOT_MET: "red"}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %".replace(".", ",")


def summary_table(result: DemoResult) -> Table:
    tally, options = result.run.tally, result.options
    table = Table(title=f"Một năm của Bộ phận Một cửa xã {result.scenario.commune} — năm {options.year} "
                        f"(seed {options.seed})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    rows = [
        ("Hồ sơ nộp", result.arrivals), ("Hồ sơ tiếp nhận", tally.received), ("Từ chối tiếp nhận", tally.refused),
        ("Đã có kết quả", tally.results), ("Yêu cầu bổ sung", tally.supplements),
        ("Chờ nghĩa vụ tài chính", tally.payments), ("Rút hồ sơ", tally.withdrawn),
        ("Thư xin lỗi gửi đúng hạn", tally.apologies_in_time), ("Thư xin lỗi gửi muộn", tally.apologies_late),
        ("Nhắc việc, quá hạn, báo cáo cấp trên (bộ hẹn giờ)", result.run.timers_fired),
        ("Nhiệm vụ kế hoạch CCHC (hoàn thành / tổng)", f"{tally.tasks_done} / {result.run.plan_tasks}"),
        ("Ngày nghỉ của cán bộ, công chức", result.cast.absence_days()),
        ("Bước xử lý ghi nhật ký (có chuỗi băm)", tally.transitions + result.run.timers_fired),
        ("Thời gian chạy", f"{result.seconds:.1f} s ({result.arrivals / max(result.seconds, 1e-9):.0f} hồ sơ/s)"),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    return table


def quarters_table(result: DemoResult) -> Table:
    table = Table(title="Biểu số 06/VPCP/KSTT — tổng hợp theo quý và cả năm")
    table.add_column("Kỳ")
    for name in BIEU06_COUNTS:
        table.add_column(PERIOD_COLUMNS.get(name, BIEU06_LABELS[name]), justify="right")
    for index, (label, report) in enumerate(result.periods):
        if index == len(result.periods) - 1:
            table.add_section()
        style = "bold" if index == len(result.periods) - 1 else None
        table.add_row(label, *(str(value) for value in report.total.counts().values()), style=style)
    return table


def _target_row(result: TargetResult) -> tuple[str | Text, ...]:
    measured = result.measurement
    counts = f"{measured.numerator}/{measured.denominator}" if measured.denominator else ""
    style = _VERDICT_STYLE.get(result.verdict)
    verdict = Text(result.verdict.label, style=style or "")
    return (result.spec.label, result.target.shown(), _percent(measured.percent), counts, verdict)


def plan_table(result: DemoResult) -> Table:
    plan = result.scenario.plan
    table = Table(title=f"{plan.title} — chỉ tiêu: đạt hay không đạt")
    for column, justify in (("Chỉ tiêu", "left"), ("Mục tiêu", "right"), ("Thực tế", "right"),
                            ("Số liệu", "right"), ("Đánh giá", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]  # literal values
    for target in result.targets:
        if target.verdict is not Verdict.NOT_MEASURED:
            table.add_row(*_target_row(target))
    return table


def feedback_table(result: DemoResult) -> Table:
    """The plan report's rows on citizens' feedback, over the year."""
    table = Table(title=f"{result.scenario.plan.title} — phản ánh, kiến nghị")
    table.add_column("Phản ánh, kiến nghị", overflow="fold")
    table.add_column("Số lượng", justify="right")
    for _, label, count in feedback_rows(result.feedback):
        table.add_row(label, str(count))
    return table


def tables(result: DemoResult) -> list[Table]:
    return [summary_table(result), quarters_table(result), bieu06_table(result.year_report),
            par766_table(result.card), plan_table(result), feedback_table(result)]


def written_heading(out: Path) -> Text:
    """The line before the files the demo wrote, the folder in bold: a :class:`Text`, since the CLI's consoles read
    no markup (:mod:`motcua.entrypoints.cli.terminal`)."""
    return Text.assemble("\n", (f"Đã ghi vào {out}/", "bold"), " (written):")
