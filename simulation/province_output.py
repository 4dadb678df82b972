"""What ``motcua demo --province`` prints and writes: Biểu 06 per unit and for the province, the chart of the
merger, the workbooks and a JSON summary.

- ``bieu06-2025-<unit code>.xlsx``: each unit's Biểu 06 of the year (the dossiers counted under it: a dossier
  transferred by the merger counts under the successor); ``bieu06-2025-toan-tinh.xlsx``: every dossier;
- on the console, beside Biểu 06, the reform plan's feedback rows and the Decision 766 feedback indicators
  (``petition_on_time``, ``petition_satisfaction``) of each unit and of the province;
- ``ho-so-theo-don-vi-theo-thang.png``: dossiers received per month at each unit — the old communes stop in
  June, phường Thành Đông starts in July;
- ``tom-tat-tinh.json``: the figures of the run.

matplotlib is imported when the chart is drawn (Agg backend), as for one commune's charts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from motcua.adapters.files import replacing, write_text
from motcua.adapters.render.reports import bieu06_table, bieu06_xlsx
from motcua.simulation.charts import MONTHS
from motcua.simulation.province import PROVINCE_YEAR, ProvinceOptions, ProvinceResult, UnitYear, run_province
from motcua.simulation.tables import PERIOD_COLUMNS, written_heading
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.feedback.metrics import feedback_rows
from motcua.workflow.reports.par766 import FeedbackCounts, Scorecard
from motcua.workflow.reports.projection import BIEU06_COUNTS

__all__ = ["PROVINCE_CHART", "PROVINCE_SUMMARY", "province_tables", "run_and_print_province",
           "summary_json", "units_add_up", "write_province_outputs"]

PROVINCE_CHART = "ho-so-theo-don-vi-theo-thang.png"
PROVINCE_SUMMARY = "tom-tat-tinh.json"
PROVINCE_BOOK = f"bieu06-{PROVINCE_YEAR}-toan-tinh.xlsx"
PROVINCE_LABEL = "Toàn tỉnh"
PETITION_INDICATORS = (("petition_on_time", "PAKN đúng hạn (%)"), ("petition_satisfaction", "PAKN hài lòng (%)"))
PROVINCE_HEADING = "Toàn tỉnh: mọi đơn vị của cơ sở dữ liệu (Hải Dương đến 30/06/2025, Hải Phòng từ 01/07/2025)"


def units_add_up(result: ProvinceResult) -> bool:
    """The province's Biểu 06 is the sum of its units' (each dossier counted once, under one unit)."""
    totals = [unit.report.total.counts() for unit in result.units]
    summed = {name: sum(int(counts[name] or 0) for counts in totals) for name in BIEU06_COUNTS}
    return summed == {name: int(value or 0) for name, value in result.province.total.counts().items()}


def _unit_heading(unit: UnitYear) -> str:
    return f"UBND {unit.unit.label} ({unit.unit.code})"


# -- tables ------------------------------------------------------------------------------------------


def _summary_table(result: ProvinceResult) -> Table:
    tally = result.tally
    table = Table(title=f"Một năm của một tỉnh — {len(result.units)} đơn vị cấp xã, năm {PROVINCE_YEAR} "
                        f"(seed {result.options.seed})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    effective = ", ".join(report.day.strftime("%d/%m/%Y") for report in result.mergers) or "—"
    rows = [
        ("Hồ sơ nộp", result.arrivals), ("Hồ sơ tiếp nhận", tally.received), ("Từ chối tiếp nhận", tally.refused),
        ("Đã có kết quả", tally.results), ("Rút hồ sơ", tally.withdrawn),
        ("Phản ánh, kiến nghị tiếp nhận", tally.feedback),
        (f"Hồ sơ chuyển sang đơn vị kế thừa ({effective})", result.transferred),
        ("Nhắc việc, quá hạn, báo cáo cấp trên (bộ hẹn giờ)", result.timers_fired),
        ("Bước xử lý ghi nhật ký (có chuỗi băm)", tally.transitions + result.timers_fired + result.transferred),
        ("Thời gian chạy", f"{result.seconds:.1f} s ({result.arrivals / max(result.seconds, 1e-9):.0f} hồ sơ/s)"),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    return table


def _units_table(result: ProvinceResult) -> Table:
    table = Table(title=f"Biểu số 06/VPCP/KSTT năm {PROVINCE_YEAR} — theo đơn vị và toàn tỉnh")
    table.add_column("Đơn vị", no_wrap=True)
    table.add_column("Hoạt động", no_wrap=True)
    for name in BIEU06_COUNTS:
        table.add_column(PERIOD_COLUMNS.get(name, name), justify="right")
    for unit in result.units:
        table.add_row(unit.unit.label, _active(unit), *(str(value) for value in unit.report.total.counts().values()))
    table.add_section()
    table.add_row(PROVINCE_LABEL, "", *(str(value) for value in result.province.total.counts().values()),
                  style="bold")
    check = ("bằng tổng các đơn vị", "green") if units_add_up(result) else ("KHÁC tổng các đơn vị", "red")
    table.caption = Text.assemble("Toàn tỉnh ", check, " (a dossier counts once, under the unit that holds it)")
    return table


def _active(unit: UnitYear) -> str:
    ends, starts = unit.unit.valid_to is not None, unit.unit.valid_from is not None
    if ends and not starts:
        return f"đến {unit.last_day:%d/%m}"
    if starts and not ends:
        return f"từ {unit.first_day:%d/%m}"
    return f"{unit.first_day:%d/%m}–{unit.last_day:%d/%m}"


def _petition(card: Scorecard) -> dict[str, JsonValue]:
    """The Decision 766 feedback indicators of ``card``, by key."""
    keys = {key for key, _ in PETITION_INDICATORS}
    return {indicator.key: indicator.as_json() for indicator in card.indicators if indicator.key in keys}


def _feedback_cells(counts: FeedbackCounts, card: Scorecard) -> list[str]:
    petition = _petition(card)
    values = [petition.get(key, {}) for key, _ in PETITION_INDICATORS]
    shown = [f"{value['value']:.1f}" if isinstance(value, dict) and isinstance(value.get("value"), float) else "—"
             for value in values]
    return [str(count) for _, _, count in feedback_rows(counts)] + shown


def _feedback_table(result: ProvinceResult) -> Table:
    table = Table(title=f"Phản ánh, kiến nghị năm {PROVINCE_YEAR} — theo đơn vị và toàn tỉnh "
                        "(kế hoạch CCHC; chỉ số Quyết định 766)")
    table.add_column("Đơn vị", no_wrap=True)
    for _, label in (*((key, label) for key, label, _ in feedback_rows(FeedbackCounts())), *PETITION_INDICATORS):
        table.add_column(label, justify="right", overflow="fold")
    for unit in result.units:
        table.add_row(unit.unit.label, *_feedback_cells(unit.feedback, unit.card))
    table.add_section()
    table.add_row(PROVINCE_LABEL, *_feedback_cells(result.province_feedback, result.province_card), style="bold")
    table.caption = "A piece of feedback counts under the unit that holds it (a merger moves what is still open)"
    return table


def province_tables(result: ProvinceResult) -> list[Table]:
    return [_summary_table(result), _units_table(result), _feedback_table(result),
            bieu06_table(result.province, heading=PROVINCE_HEADING)]


# -- files -------------------------------------------------------------------------------------------


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415 - loaded only when the chart is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _merger_chart(result: ProvinceResult, out: Path) -> None:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 4.8), dpi=110)
    for unit in result.units:
        months = range(unit.first_day.month - 1, unit.last_day.month)
        width = 2.2 if unit.unit.code in {s for u in result.units for s in u.unit.successors} else 1.2
        axes.plot(list(months), [unit.received_monthly[m] for m in months], marker="o", linewidth=width,
                  label=unit.unit.label)
    for report in result.mergers:
        axes.axvline(report.day.month - 1.5, color="#555555", linestyle="--")
        axes.annotate(f"Sắp xếp đơn vị hành chính {report.day:%d/%m/%Y}", (report.day.month - 1.45, 0),
                      xycoords=("data", "axes fraction"), xytext=(0, 6), textcoords="offset points", fontsize=8)
    axes.set_xticks(range(12), MONTHS)
    axes.set_ylabel("Số hồ sơ tiếp nhận")
    axes.set_title(f"Hồ sơ tiếp nhận theo tháng và đơn vị — năm {PROVINCE_YEAR}")
    axes.legend(fontsize=7, ncol=2)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    with replacing(out) as temporary:
        figure.savefig(temporary, format="png", metadata={"Software": None})  # no version stamp: same data, same bytes
    plt.close(figure)


def summary_json(result: ProvinceResult) -> dict[str, JsonValue]:
    return {
        "year": PROVINCE_YEAR, "seed": result.options.seed, "dossiers": result.arrivals,
        "transitions": result.tally.transitions, "timers_fired": result.timers_fired,
        "transferred": result.transferred, "units_add_up": units_add_up(result),
        "mergers": [{"day": report.day.isoformat(), "moved": report.moved} for report in result.mergers],
        "units": {unit.unit.code: {"label": unit.unit.label, "first_day": unit.first_day.isoformat(),
                                   "last_day": unit.last_day.isoformat(), "arrivals": unit.arrivals,
                                   "received_monthly": list(unit.received_monthly),
                                   "bieu06": unit.report.as_json(), "feedback": _feedback_json(unit.feedback),
                                   "petition": _petition(unit.card)} for unit in result.units},
        "province": result.province.as_json(),
        "province_feedback": _feedback_json(result.province_feedback),
        "province_petition": _petition(result.province_card),
    }


def _feedback_json(counts: FeedbackCounts) -> dict[str, JsonValue]:
    return {key: count for key, _, count in feedback_rows(counts)}


def write_province_outputs(result: ProvinceResult, out: Path) -> list[Path]:
    written = []
    for unit in result.units:
        path = out / f"bieu06-{PROVINCE_YEAR}-{unit.unit.code}.xlsx"
        bieu06_xlsx(unit.report, path, agency=f"Cơ quan, đơn vị: {_unit_heading(unit)}")
        written.append(path)
    written.append(out / PROVINCE_BOOK)
    bieu06_xlsx(result.province, written[-1], agency=f"Cơ quan, đơn vị: {PROVINCE_HEADING}")
    written.append(out / PROVINCE_CHART)
    _merger_chart(result, written[-1])
    written.append(out / PROVINCE_SUMMARY)
    write_text(written[-1], json.dumps(summary_json(result), ensure_ascii=False, indent=2) + "\n")
    return written


# -- the console -------------------------------------------------------------------------------------


def _run(options: ProvinceOptions, err: Console, progress: bool) -> ProvinceResult:
    if not progress:
        return run_province(options)
    columns = (TextColumn("[bold]Một năm của một tỉnh[/bold]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("hồ sơ"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("year", total=options.dossiers)
        return run_province(options, progress=lambda advance: bar.advance(task, advance),
                            on_total=lambda total: bar.update(task, total=total))


def run_and_print_province(options: ProvinceOptions, out: Console, err: Console, *, progress: bool) -> ProvinceResult:
    result = _run(options, err, progress)
    for table in province_tables(result):
        out.print(table)
    written = write_province_outputs(result, options.out)
    out.print(written_heading(options.out))
    for path in ([result.database_file] if result.database_file else []) + written:
        out.print(f"  {path}")
    db = f"sqlite:///{result.database_file}" if result.database_file else result.database_url
    out.print(f"Kiểm tra nhật ký (check the audit log): motcua verify --db {db}  ·  motcua replay --db {db}")
    return result
