"""``motcua import dvcqg FILE``: bring the dossiers of a DVCQG sync file into motcua, all or nothing.

A refused file prints one line per refused record (the first ones) and exits 2, having written
nothing; so does a file that is not a DVCQG sync file at all, in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from motcua.adapters.bootstrap import open_motcua
from motcua.entrypoints.cli.terminal import flagged, terminal
from motcua.entrypoints.cli.usage import refusal
from motcua.entrypoints.errors import BadFile, FileRefused
from motcua.entrypoints.importer import import_file
from motcua.workflow.errors import MotcuaError

__all__ = ["import_app", "register"]

import_app = typer.Typer(help="Nhập hồ sơ từ hệ thống khác (import dossiers).", no_args_is_help=True,
                         add_completion=False)

_PIPE_WIDTH: Final = 160
_out = terminal(pipe_width=_PIPE_WIDTH)
_err = terminal(stderr=True, pipe_width=_PIPE_WIDTH)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: sqlite:///motcua.db).")]
FileArgument = Annotated[Path, typer.Argument(help="A JSON list of DongBoHoSoMC records, or a sync body "
                                                   '{"service", "isUpdating", "data"} whose "data" is that list.')]


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


class _Rate(ProgressColumn):
    """Records per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} hồ sơ/s" if speed else "… hồ sơ/s", style="progress.data.speed")


class _Count(ProgressColumn):
    def render(self, task: Task) -> Text:
        done = f"{int(task.completed):,}"
        return Text(done if task.total is None else f"{done}/{int(task.total):,}", style="progress.download")


class _Bar:
    """The importer's progress as a rich bar per pass, on stderr; shown from the first pass on."""

    def __init__(self) -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), _Count(), _Rate(), TimeElapsedColumn())
        self._progress = Progress(*columns, console=_err)
        self._task: TaskID | None = None

    def phase(self, name: str, total: int | None) -> None:
        if self._task is None:
            self._progress.start()
        else:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(name, total=total)

    def advance(self, records: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, records)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc_info: object) -> None:
        if kind is not None:  # the error is the one line shown: the bar goes away
            self._progress.live.transient = True
        self._progress.stop()


def _fail(message: str) -> typer.Exit:
    return refusal(_err, message)


@import_app.command("dvcqg")
def dvcqg(
    file: FileArgument, db: DbOption = None,
    skip_local: Annotated[bool, typer.Option(
        "--skip-local", help="Bỏ qua hồ sơ do motcua xử lý (received here and published to the portal): without it, "
                             "such records refuse the file, every one named.")] = False,
) -> None:
    """Import DVCQG dossier records (service DongBoHoSoMC): every record checked first, then all written.

    Records are numbered from 0, as in the file's list. Re-importing a file changes only what changed.
    """
    if not file.is_file():
        raise _fail(str(BadFile(file, "no such file")))
    motcua = open_motcua(db, observers=[])
    try:
        with _Bar() as bar:
            report = import_file(file, motcua, progress=bar, skip_local=skip_local)
    except FileRefused as refused:
        for record in refused.refused:
            _err.print(flagged("refused", "red", f" {record}"), highlight=False, soft_wrap=True)
        raise _fail(str(refused)) from None
    except MotcuaError as error:
        raise _fail(str(error)) from None
    finally:
        motcua.close()
    skipped = f", {report.skipped:,} skipped (handled in motcua)" if report.skipped else ""
    _out.print(flagged(f"{report.records:,} hồ sơ", "green", f": {report.created:,} created, {report.updated:,} "
                       f"updated, {report.unchanged:,} unchanged{skipped} — kiểm tra nhật ký: motcua verify"),
               highlight=False)
