"""The ``motcua`` command line. Each command opens the engine on ``--db`` (or MOTCUA_DATABASE_URL)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.adapters.logging import configure_logging
from motcua.adapters.render.timeline import build_timeline, timeline_tables
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition
from motcua.definitions.yamlsafe import yaml_files
from motcua.entrypoints.cli.audit_cmd import register as register_audit
from motcua.entrypoints.cli.calendar_cmd import calendar_app
from motcua.entrypoints.cli.composed import ComposedGroup
from motcua.entrypoints.cli.definitions_cmd import definitions_app
from motcua.entrypoints.cli.feedback_cmd import register as register_feedback
from motcua.entrypoints.cli.http_cmd import register_http
from motcua.entrypoints.cli.import_cmd import register as register_import
from motcua.entrypoints.cli.plan_cmd import register as register_plan
from motcua.entrypoints.cli.procedures_cmd import procedures_app
from motcua.entrypoints.cli.procedures_cmd import register as register_procedures
from motcua.entrypoints.cli.procedures_import_cmd import register as register_procedure_import
from motcua.entrypoints.cli.report_cmd import register as register_reports
from motcua.entrypoints.cli.sync_cmd import register_sync
from motcua.entrypoints.cli.terminal import flagged, terminal
from motcua.entrypoints.cli.units_cmd import units_app
from motcua.entrypoints.cli.usage import USAGE_ERROR, shown
from motcua.entrypoints.cli.user_cmd import register as register_users
from motcua.entrypoints.cli.worker_cmd import register as register_worker
from motcua.simulation.scenario import DemoOptions
from motcua.simulation.story import DEMO_START, run_story
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.diagram import mermaid
from motcua.workflow.engine.model import Case
from motcua.workflow.errors import InvalidInput, MotcuaError, UnknownDefinition

__all__ = ["app", "main"]

# ComposedGroup: every text given to a command is read as NFC before its checks and the command see it (composed.py)
app = typer.Typer(help="motcua — workflow engine for commune one-stop shops (Bộ phận Một cửa).",
                  no_args_is_help=True, add_completion=False, cls=ComposedGroup)
app.add_typer(calendar_app, name="calendar")
app.add_typer(units_app, name="units")
app.add_typer(definitions_app, name="definitions")
register_procedures(app)
register_procedure_import(procedures_app)  # procedures import FILE, procedures rollback
register_worker(app)
register_reports(app)
register_feedback(app)
register_import(app)
register_plan(app)
register_audit(app)
register_sync(app)
register_users(app)
register_http(app)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
_PIPE_WIDTH = 160  # rich assumes 80 columns when not on a terminal: too narrow for timelines
_WORKFLOW_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # what a definition's key is: its file names start with it
_out = terminal(pipe_width=_PIPE_WIDTH)
_err = terminal(stderr=True, pipe_width=_PIPE_WIDTH)


@app.command()
def demo(
    *,
    year: Annotated[int | None, typer.Option(
        "--year", help="Năm mô phỏng (a year of the commune's reform plan; default 2023).")] = None,
    commune: Annotated[str | None, typer.Option(
        "--commune", help="Xã (a commune with a plan in definitions/plans/; default An Thượng).")] = None,
    dossiers: Annotated[int | None, typer.Option(
        "--dossiers", help="Số hồ sơ trong năm (dossiers in the year; default 6000, with --province 3000).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same year, same numbers.")] = 1,
    db: Annotated[str | None, typer.Option("--db", help="An EMPTY database (default: a fresh OUT/motcua.db).")]
    = None,
    broker: Annotated[str | None, typer.Option("--broker", help="redis://… : timers through dramatiq on Redis.")]
    = None,
    threads: Annotated[int, typer.Option("--threads", help="dramatiq worker threads with --broker.")] = 4,
    out: Annotated[Path, typer.Option("--out", help="Folder for the database, workbooks and charts.")]
    = Path("demo-output"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    province: Annotated[bool, typer.Option(
        "--province", help="Năm 2025 của một tỉnh: các đơn vị của definitions/units/, qua sắp xếp 01/07/2025.")]
    = False,
) -> None:
    """Mô phỏng một năm của Bộ phận Một cửa xã và kế hoạch CCHC, rồi in các báo cáo (docs/tutorials/demo.md).

    With --province: the province's 2025 — its communes until the merger, the wards of Hải Phòng after it."""
    progress = not quiet and _err.is_terminal
    if province:
        _province_demo(year, commune, broker, dossiers, seed=seed, db=db, out=out, progress=progress)
        return
    from motcua.simulation.console import run_and_print  # noqa: PLC0415 - matplotlib & co. load only here

    options = DemoOptions(year=2023 if year is None else year, commune="An Thượng" if commune is None else commune,
                          dossiers=6000 if dossiers is None else dossiers, seed=seed, db=db, broker=broker,
                          out=out, threads=threads)
    run_and_print(options, _out, _err, progress=progress)


def _province_demo(year: int | None, commune: str | None, broker: str | None, dossiers: int | None, *, seed: int,
                   db: str | None, out: Path, progress: bool) -> None:
    from motcua.simulation.province import PROVINCE_DOSSIERS, PROVINCE_YEAR, ProvinceOptions  # noqa: PLC0415
    from motcua.simulation.province_output import run_and_print_province  # noqa: PLC0415 - matplotlib & co.

    if year not in (None, PROVINCE_YEAR):
        raise InvalidInput("--year", f"{year}: the province demo plays {PROVINCE_YEAR}, the year of the merger")
    if commune is not None:
        raise InvalidInput("--commune", "the province demo plays every unit of definitions/units/")
    if broker is not None:
        raise InvalidInput("--broker", "the province demo fires its timers in process")
    options = ProvinceOptions(dossiers=PROVINCE_DOSSIERS if dossiers is None else dossiers, seed=seed, db=db, out=out)
    run_and_print_province(options, _out, _err, progress=progress)


@app.command()
def story(db: DbOption = None, quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False) -> None:
    """Six dossiers over six weeks, every path once; prints their histories.

    docs/explanation/audit-log.md walks through them."""
    clock = ManualClock(DEMO_START)
    motcua = open_motcua(db, clock=clock, observers=[])
    try:
        cases = run_story(motcua, clock)
        for case in cases:
            if not quiet:
                _print_history(motcua, case)
        _out.print(flagged(f"{len(cases)} hồ sơ đã xử lý", "green", " — kiểm tra nhật ký: motcua verify"))
    finally:
        motcua.close()


def _print_history(motcua: Motcua, case: Case) -> None:
    """The case's timeline, as ``motcua history`` prints it."""
    definition = motcua.workflows.get(case.definition_key, case.definition_version).definition
    for table in timeline_tables(build_timeline(motcua.store.history(case.code), definition)):
        _out.print(table)


@app.command()
def diagram(key: str, version: Annotated[int | None, typer.Option("--version")] = None) -> None:
    """Print a Mermaid state diagram of a workflow definition (all regions)."""
    if not _WORKFLOW_KEY.fullmatch(key):  # a key, never a file pattern or a path
        raise UnknownDefinition(key, version)  # echoed bounded, as every error is (usage.shown)
    paths = yaml_files(WORKFLOWS_DIR, f"{key}.v*.yaml")
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
        _refuse(str(error))
    except OSError as error:  # a file or a directory the command was given cannot be used (an --out, a --dir …)
        named = f"{error.filename}: " if error.filename is not None else ""
        _refuse(f"{named}{error.strerror or type(error).__name__}")


def _refuse(message: str) -> NoReturn:
    """End on a refusal: ``error: …`` on one line of stderr (never wrapped), exit status 2."""
    _err.print(flagged("error:", "red", f" {shown(message)}"), highlight=False, soft_wrap=True)
    sys.exit(USAGE_ERROR)
