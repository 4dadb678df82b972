"""``motcua calendar``: due instants and days off of an office's working calendar.

Every calendar here is the product's: the ``holidays`` package, the national corrections
(``definitions/calendar/vn.yaml``), then the office's overrides. ``days`` shows for each day the legal text behind
it (``Nguồn``) and marks the package's days no announcement confirms yet (``Tạm tính``).
Every bad input ends with exit code 2 and one line on stderr naming what was wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from motcua.definitions.offices import DEFAULT_OFFICE, load_office
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import fail
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.errors import InvalidInput, MotcuaError
from motcua.workflow.worktime.calendar import CalendarDay, DayOrigin, Duration, DurationUnit

__all__ = ["calendar_app"]

calendar_app = typer.Typer(
    help="Lịch làm việc (working calendar): due instants and days off.",
    no_args_is_help=True,
    add_completion=False,
)

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
_DURATION_OPTIONS = {
    "--working-days": DurationUnit.WORKING_DAYS,
    "--working-hours": DurationUnit.WORKING_HOURS,
    "--calendar-days": DurationUnit.CALENDAR_DAYS,
}

OfficeOption = Annotated[str, typer.Option("--office", help="Office settings in definitions/offices/.")]
_PROVISIONAL = "Tạm tính"


class DaysFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@dataclass(frozen=True)
class _DueRequest:
    received: datetime
    duration: Duration
    cutoff: time | None


def _timestamp(text: str | None) -> datetime:
    if text is None:
        raise InvalidInput("--received", "is required (an ISO 8601 timestamp, e.g. 2024-04-26T16:10)")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("--received", f"{text!r} is not an ISO 8601 timestamp") from None


def _cutoff(text: str | None) -> time | None:
    if text is None:
        return None
    if not _CLOCK.match(text):
        raise InvalidInput("--cutoff", f"{text!r} is not a clock time HH:MM")
    return time.fromisoformat(text)


def _count(option: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(option, f"{text!r} is not a whole number") from None
    if value < 0:
        raise InvalidInput(option, f"must not be negative, got {value}")
    return value


def _duration(given: dict[str, str | None]) -> Duration:
    chosen = {option: text for option, text in given.items() if text is not None}
    if len(chosen) != 1:
        options = " | ".join(_DURATION_OPTIONS)
        raise InvalidInput("duration", f"give exactly one of {options} (got {len(chosen)})")
    [(option, text)] = chosen.items()
    return Duration(_count(option, text), _DURATION_OPTIONS[option])


@calendar_app.command("due")
def due_command(
    *,
    received: Annotated[str | None, typer.Option("--received", help="Reception instant, ISO 8601.")] = None,
    working_days: Annotated[str | None, typer.Option("--working-days", help="N working days.")] = None,
    working_hours: Annotated[str | None, typer.Option("--working-hours", help="N working hours.")] = None,
    calendar_days: Annotated[str | None, typer.Option("--calendar-days", help="N calendar days.")] = None,
    cutoff: Annotated[str | None, typer.Option("--cutoff", help="Cut-off clock time HH:MM.")] = None,
    office: OfficeOption = DEFAULT_OFFICE,
) -> None:
    """Print the due instant (ISO 8601 with seconds and offset) of a dossier received at --received."""
    durations = {
        "--working-days": working_days,
        "--working-hours": working_hours,
        "--calendar-days": calendar_days,
    }
    try:
        request = _DueRequest(_timestamp(received), _duration(durations), _cutoff(cutoff))
        calendar = load_office(office).calendar()
        moment = calendar.due(request.received, request.duration, request.cutoff)
    except MotcuaError as error:
        fail(error, source="office file")
    typer.echo(moment.isoformat(timespec="seconds"))


def _year(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput("YEAR", f"{text!r} is not a year") from None


def _source(item: CalendarDay) -> str:
    """The ``Nguồn`` column: the legal text, the office's own file, or the package's guess."""
    if item.source is not None:
        return item.source.label
    if item.origin is DayOrigin.OFFICE:
        return DayOrigin.OFFICE.label
    return f"{DayOrigin.PACKAGE.label} (chưa có thông báo)"


def _table(title: str, rows: list[CalendarDay]) -> Table:
    table = Table(title=title, caption=f"{_PROVISIONAL}: ngày nghỉ, ngày làm bù chưa được công bố, có thể thay đổi.")
    for column in ("Ngày", "Thứ", "Loại", "Tên", "Nguồn", _PROVISIONAL):
        table.add_column(column)
    for item in rows:
        table.add_row(item.day.isoformat(), _WEEKDAYS[item.day.weekday()], item.kind.label, item.name or "",
                      _source(item), _PROVISIONAL if item.provisional else "")
    return table


def _document(label: str, year: int, rows: list[CalendarDay]) -> dict[str, JsonValue]:
    days: list[JsonValue] = [
        {
            "date": item.day.isoformat(), "weekday": _WEEKDAYS[item.day.weekday()], "kind": item.kind.value,
            "kind_label": item.kind.label, "name": item.name, "working": item.working,
            "origin": item.origin.value if item.origin else None,
            "source": item.source.label if item.source else None,
            "source_number": item.source.number if item.source else None,
            "source_signed": item.source.signed.isoformat() if item.source else None,
            "provisional": item.provisional,
        }
        for item in rows
    ]
    return {"office": label, "year": year, "days": days}


@calendar_app.command("days")
def days_command(
    year: Annotated[str, typer.Argument(help="Calendar year, e.g. 2025.")],
    office: OfficeOption = DEFAULT_OFFICE,
    output: Annotated[DaysFormat, typer.Option("--format", help="table or json.")] = DaysFormat.TABLE,
) -> None:
    """List the days off, make-up working days and cancelled days off of YEAR: name, legal source, provisional."""
    try:
        number = _year(year)
        settings = load_office(office)
        rows = settings.calendar().special_days(number)
    except MotcuaError as error:
        fail(error, source="office file")
    if output is DaysFormat.JSON:
        typer.echo(json.dumps(_document(settings.label, number, rows), ensure_ascii=False, indent=2))
        return
    terminal(pipe_width=None).print(_table(f"{settings.label} — năm {number}", rows))
