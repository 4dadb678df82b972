"""What ``motcua demo`` writes to ``--out``: the workbooks an official can print, the charts, a JSON summary.

Biểu 06 (each quarter and the year) and the Decision 766 scorecard use the workbook writers of
``motcua report`` (:mod:`motcua.adapters.render.reports`); the plan's targets get a one-sheet workbook.
The audit database is already there (``motcua.db``), written as the year ran.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from motcua.adapters.files import replacing, write_text
from motcua.adapters.render.reports import bieu06_xlsx, par766_xlsx
from motcua.simulation.charts import write_charts
from motcua.simulation.run import DemoResult
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.feedback.metrics import feedback_rows

__all__ = ["PLAN_HEADER", "PLAN_SHEET", "summary_json", "write_outputs"]

PLAN_SHEET = "Chi tieu ke hoach"
PLAN_HEADER = ("Chỉ tiêu", "Nhiệm vụ", "Mục tiêu", "Thực tế (%)", "Tử số", "Mẫu số", "Đánh giá", "Ghi chú")
_SLUGS = ("quy-1", "quy-2", "quy-3", "quy-4", "nam")


def _plan_xlsx(result: DemoResult, out: Path) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415 - only when writing
    from openpyxl.styles import Font  # type: ignore[import-untyped]  # noqa: PLC0415

    book = Workbook()
    sheet: Any = book.active
    sheet.title = PLAN_SHEET
    sheet.append([result.scenario.plan.title])
    sheet.append(list(PLAN_HEADER))
    for target in result.targets:
        measured = target.measurement
        sheet.append([target.spec.label, target.target.task, target.target.shown(), measured.percent,
                      measured.numerator, measured.denominator, target.verdict.label, measured.reason or ""])
    sheet.append([])
    sheet.append(["Phản ánh, kiến nghị", "", "", "Số lượng"])
    for _, label, count in feedback_rows(result.feedback):
        sheet.append([label, "", "", count])
    for cell in (*sheet[1], *sheet[2]):
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 60
    with replacing(out) as temporary:
        book.save(temporary)


def summary_json(result: DemoResult) -> dict[str, JsonValue]:
    tally = result.run.tally
    return {
        "commune": result.scenario.commune, "year": result.options.year, "seed": result.options.seed,
        "dossiers": result.arrivals, "transitions": tally.transitions, "timers_fired": result.run.timers_fired,
        "apologies_in_time": tally.apologies_in_time, "apologies_late": tally.apologies_late,
        "bieu06": {label: report.as_json() for label, report in result.periods},
        "par766": result.card.as_json(),
        "plan_targets": {t.target.id: t.verdict.value for t in result.targets},
        "feedback": {key: count for key, _, count in feedback_rows(result.feedback)},
        "seconds": round(result.seconds, 2),
    }


def write_outputs(result: DemoResult, out: Path) -> list[Path]:
    agency = f"Cơ quan, đơn vị: UBND xã {result.scenario.commune} ({result.agency})"
    written = []
    for slug, (_, report) in zip(_SLUGS, result.periods, strict=True):
        path = out / f"bieu06-{result.options.year}-{slug}.xlsx"
        bieu06_xlsx(report, path, agency=agency)
        written.append(path)
    written.append(out / f"qd766-{result.options.year}.xlsx")
    par766_xlsx(result.card, written[-1])
    written.append(out / f"chi-tieu-ke-hoach-{result.options.year}.xlsx")
    _plan_xlsx(result, written[-1])
    written.extend(write_charts(result.facts, result.options.year, out))
    summary = {key: value for key, value in summary_json(result).items() if key != "seconds"}
    written.append(out / "tom-tat.json")
    write_text(written[-1], json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    return written
