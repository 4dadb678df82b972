"""The ``motcua`` command line. Each command opens the engine on ``--db`` (or MOTCUA_DATABASE_URL)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from adapters.bootstrap import open_motcua
from adapters.cli.audit_cmd import register as register_audit
from adapters.cli.calendar_cmd import calendar_app
from adapters.cli.http_cmd import register_http
from adapters.cli.import_cmd import register as register_import
from adapters.cli.plan_cmd import register as register_plan
from adapters.cli.procedures_cmd import register as register_procedures
from adapters.cli.render import timeline
from adapters.cli.report_cmd import register as register_reports
from adapters.cli.sync_cmd import register_sync
from adapters.cli.worker_cmd import register as register_worker
from adapters.demo import DEMO_START, run_story
from adapters.logging import configure_logging
from definitions.workflows import WORKFLOWS_DIR, load_definition
from workflow.clock import ManualClock
from workflow.diagram import mermaid
from workflow.errors import MotcuaError, UnknownDefinition

__all__ = ["app", "main"]

app = typer.Typer(help="motcua — workflow engine for commune one-stop shops (Bộ phận Một cửa).",
                  no_args_is_help=True, add_completion=False)
app.add_typer(calendar_app, name="calendar")
register_procedures(app)
register_worker(app)
register_reports(app)
register_import(app)
register_plan(app)
register_audit(app)
register_sync(app)
register_http(app)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
_PIPE_WIDTH = 160  # rich assumes 80 columns when not on a terminal: too narrow for timelines
_out = Console(width=None if sys.stdout.isatty() else _PIPE_WIDTH)
_err = Console(stderr=True, width=None if sys.stderr.isatty() else _PIPE_WIDTH)


@app.command()
def demo(db: DbOption = None, quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False) -> None:
    """Run a short end-to-end story on the embedded default and print the dossiers' histories."""
    clock = ManualClock(DEMO_START)
    motcua = open_motcua(db, clock=clock, observers=[])
    try:
        cases = run_story(motcua, clock)
        for case in cases:
            definition = motcua.workflows.get(case.definition_key, case.definition_version).definition
            if not quiet:
                _out.print(timeline(case, motcua.store.history(case.code), definition))
        _out.print(f"[green]{len(cases)} hồ sơ đã xử lý[/green] — kiểm tra nhật ký: motcua verify")
    finally:
        motcua.close()


@app.command()
def diagram(key: str, version: Annotated[int | None, typer.Option("--version")] = None) -> None:
    """Print a Mermaid state diagram of a workflow definition (all regions)."""
    paths = sorted(WORKFLOWS_DIR.glob(f"{key}.v*.yaml"))
    chosen = [p for p in paths if version is None or p.name == f"{key}.v{version}.yaml"]
    if not chosen:
        raise UnknownDefinition(key, version)
    latest = max((load_definition(Path(p)) for p in chosen), key=lambda d: d.version)
    sys.stdout.write(mermaid(latest))


def main() -> None:
    configure_logging()
    try:
        app()
    except MotcuaError as error:
        _err.print(f"[red]error:[/red] {error}", highlight=False)
        sys.exit(2)
