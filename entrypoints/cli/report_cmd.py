"""``motcua report bieu06``, ``motcua report par766`` and ``motcua projections rebuild``.

Both reports first catch the reporting projection up with the audit log, then compute one SQL
aggregation over it (or the in-memory reference on ``memory://``). A period is ``--from``/``--to``
(dates, inclusive) or ``--period`` (``2024-03``, ``2024-Q1``, ``2024``), optionally with the
government's data cut-off (``--cutoff-day 15``: the 15th of the previous month to the 14th).
``par766`` scores the indicators with the rule set in force on the period's last day. ``--unit CODE`` reports
one unit, its absence the province (every unit; :mod:`motcua.entrypoints.cli.report_scope`), and the headings
of the table and of the workbook name which.

Bad input (a malformed date or period, ``--period`` with ``--from``, an unknown ``--unit``…) exits with status 2
and a one-line message on standard error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.table import Table

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.files import replacing, write_text
from motcua.adapters.render.reports import (
    bieu06_csv,
    bieu06_table,
    bieu06_xlsx,
    par766_csv,
    par766_table,
    par766_xlsx,
)
from motcua.entrypoints.cli.groups import report_group
from motcua.entrypoints.cli.report_scope import UnitOption, report_scope
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import USAGE_ERROR, shown
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.errors import InvalidInput, MotcuaError
from motcua.workflow.reports.par766 import Scorecard
from motcua.workflow.reports.periods import Period, period_of
from motcua.workflow.reports.projection import Bieu06
from motcua.workflow.reports.service import ReportService

__all__ = ["Format", "bieu06", "par766", "projections_app", "rebuild", "register"]

_PIPE_WIDTH = 200  # rich assumes 80 columns when not on a terminal: too narrow for 13 columns


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


FromOption = Annotated[str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day of the period (YYYY-MM-DD), included.")]
PeriodOption = Annotated[str | None, typer.Option(
    "--period", help="A month 2024-03, a quarter 2024-Q1 or a year 2024 (instead of --from/--to).")]
CutoffOption = Annotated[int | None, typer.Option(
    "--cutoff-day", help="Data cut-off day of government reporting: 15 = from the 15th to the 14th.")]
FormatOption = Annotated[Format, typer.Option("--format", help="table, json, csv or xlsx.")]
OutOption = Annotated[Path | None, typer.Option("--out", help="Write to this file (required for xlsx).")]
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]

projections_app = typer.Typer(help="Reporting projections maintained from the audit log.", no_args_is_help=True,
                              add_completion=False)


def _console(file: TextIO | None = None) -> Console:
    if file is not None:
        return terminal(file=file, width=_PIPE_WIDTH)
    return terminal(pipe_width=_PIPE_WIDTH)


@contextmanager
def _reporting(db: str | None) -> Iterator[Motcua]:
    """The engine on ``db``; any :class:`MotcuaError` inside ends the command with status 2 and one line."""
    try:
        motcua = open_motcua(db, observers=[])
        try:
            yield motcua
        finally:
            motcua.close()
    except MotcuaError as error:
        typer.echo(f"error: {shown(str(error))}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


def _reports(motcua: Motcua) -> ReportService:
    """The reports over the projection caught up with the audit log."""
    return ReportService(motcua.reports, motcua.rules, motcua.store).caught_up()


def _period(start: str | None, end: str | None, period: str | None, cutoff_day: int | None) -> Period:
    try:
        return period_of(start, end, period, cutoff_day)
    except InvalidInput as error:
        typer.echo(f"error: {shown(str(error))}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


@dataclass(frozen=True)
class _Rendered:
    """One report, ready to be rendered in each format."""

    document: dict[str, JsonValue]
    csv: Callable[[], str]
    table: Callable[[], Table]
    workbook: Callable[[Path], None]


def _emit(rendered: _Rendered, output: Format, out: Path | None) -> None:
    """Print or write one report in the chosen format."""
    if output is Format.XLSX:
        if out is None:
            typer.echo("error: --out: the xlsx format writes a file, give --out FILE.xlsx", err=True)
            raise typer.Exit(2)
        rendered.workbook(out)
        typer.echo(f"→ {out}")
        return
    if output is Format.TABLE:
        table = rendered.table()
        if out is None:
            _console().print(table)
            return
        with replacing(out) as temporary, temporary.open("w", encoding="utf-8") as file:
            _console(file).print(table)
        return
    document = json.dumps(rendered.document, ensure_ascii=False, indent=2) + "\n"
    content = document if output is Format.JSON else rendered.csv()
    if out is None:
        typer.echo(content, nl=False)
    else:  # a CSV file carries a BOM so that Excel reads it as UTF-8
        write_text(out, content, encoding="utf-8-sig" if output is Format.CSV else "utf-8")


def bieu06(
    *, start: FromOption = None, end: ToOption = None, period: PeriodOption = None, cutoff_day: CutoffOption = None,
    unit: UnitOption = None, output: FormatOption = Format.TABLE, out: OutOption = None, db: DbOption = None,
) -> None:
    """Biểu số 06/VPCP/KSTT: dossiers received, resolved and in progress in the period, per field.

    Of one unit (--unit), or of the province (every unit) when omitted."""
    chosen = _period(start, end, period, cutoff_day)
    with _reporting(db) as motcua:
        scope = report_scope(motcua, unit)
        report: Bieu06 = _reports(motcua).bieu06(chosen.start, chosen.end, units=scope.units)
    rendered = _Rendered(report.as_json(), lambda: bieu06_csv(report),
                         lambda: bieu06_table(report, heading=scope.heading),
                         lambda path: bieu06_xlsx(report, path, agency=scope.heading))
    _emit(rendered, output, out)


def par766(
    *, start: FromOption = None, end: ToOption = None, period: PeriodOption = None, cutoff_day: CutoffOption = None,
    unit: UnitOption = None, output: FormatOption = Format.TABLE, out: OutOption = None, db: DbOption = None,
) -> None:
    """Decision 766 indicators computable from dossiers, scored with the rule set in force at the period's end.

    Of one unit (--unit), or of the province (every unit) when omitted.

    The DVCQG status-sync indicator counts the period's dossiers that were published to the portal and,
    of those, the ones with every change synced (docs/how-to/sync-to-dvcqg.md), read from the database whatever
    this shell's settings; where none of the period's dossiers was published it is "not measured" (0).
    """
    chosen = _period(start, end, period, cutoff_day)
    with _reporting(db) as motcua:
        scope = report_scope(motcua, unit)
        card: Scorecard = _reports(motcua).scorecard(chosen.start, chosen.end, units=scope.units)
    rendered = _Rendered(card.as_json(), lambda: par766_csv(card), lambda: par766_table(card, heading=scope.heading),
                         lambda path: par766_xlsx(card, path, heading=scope.heading))
    _emit(rendered, output, out)


@projections_app.command("rebuild")
def rebuild(db: DbOption = None) -> None:
    """Empty the reporting projection and fold the whole audit log into it again."""
    with _reporting(db) as motcua:
        folded = motcua.reports.rebuild()
    typer.echo(f"reporting projection rebuilt: {folded} audit entries folded")



def register(app: typer.Typer) -> None:
    report = report_group(app)
    report.command("bieu06")(bieu06)
    report.command("par766")(par766)
    app.add_typer(projections_app, name="projections")
