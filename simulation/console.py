"""The demo on a terminal: a progress bar on standard error while the year runs, then the tables, then
the list of files written to ``--out``."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from motcua.simulation.files import write_outputs
from motcua.simulation.run import DemoResult, run_demo
from motcua.simulation.scenario import DemoOptions
from motcua.simulation.tables import tables, written_heading

__all__ = ["run_and_print"]


def _run(options: DemoOptions, err: Console, progress: bool) -> DemoResult:
    if not progress:
        return run_demo(options)
    columns = (TextColumn("[bold]Một năm ở Bộ phận Một cửa[/bold]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("hồ sơ"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("year", total=options.dossiers)
        return run_demo(options, progress=lambda advance: bar.advance(task, advance),
                        on_total=lambda total: bar.update(task, total=total))


def run_and_print(options: DemoOptions, out: Console, err: Console, *, progress: bool) -> DemoResult:
    result = _run(options, err, progress)
    for table in tables(result):
        out.print(table)
    written = write_outputs(result, options.out)
    database = result.scenario.fresh_file
    out.print(written_heading(options.out))
    for path in ([database] if database else []) + written:
        out.print(f"  {path}")
    db = f"sqlite:///{database}" if database else result.scenario.database_url
    out.print(f"Kiểm tra nhật ký (check the audit log): motcua verify --db {db}  ·  motcua replay --db {db}")
    return result
