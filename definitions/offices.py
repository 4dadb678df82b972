"""Per-office calendar settings, loaded from ``definitions/offices/<name>.yaml``.

Safe load (no on/off/yes/no booleans) → pydantic schema (``extra="forbid"``) → frozen
:class:`OfficeSettings` ready to build a :class:`motcua.workflow.worktime.calendar.WorkingCalendar`. A bad file raises
:class:`motcua.workflow.errors.InvalidDefinition` naming the file and the field.

:meth:`OfficeSettings.calendar` is where every calendar of the product is built (the engine's, each unit's, the
commands'): the ``holidays`` package, the national corrections of ``definitions/calendar/vn.yaml``, then the
office's own overrides.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from motcua.definitions.calendar import national_calendar
from motcua.definitions.yamlsafe import load_yaml, yaml_files
from motcua.workflow.engine.bounds import day_problem
from motcua.workflow.errors import InvalidDefinition, InvalidInput, NotFound
from motcua.workflow.worktime.calendar import CalendarOverrides, OfficeHours, WorkingCalendar

__all__ = [
    "DEFAULT_OFFICE",
    "OFFICES_DIR",
    "OfficeSettings",
    "load_office",
    "load_office_file",
    "office_names",
]

OFFICES_DIR = Path(__file__).with_name("offices")
DEFAULT_OFFICE = "default"
_OFFICE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _reject_numbers(value: object) -> object:
    if isinstance(value, bool | int | float):
        raise ValueError("write the date as YYYY-MM-DD")  # pydantic would read a number as a timestamp
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ClockText = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
def _within_bounds(day: dt.date) -> dt.date:
    """A day a person may name (1990–2199): the YAML loader checks unquoted dates, a quoted one reaches here
    unchecked (``"9999-12-31"`` had overflowed the first day after it, and stopped every command)."""
    if (problem := day_problem(day)) is not None:
        raise ValueError(problem)
    return day


Day = Annotated[dt.date, BeforeValidator(_reject_numbers), AfterValidator(_within_bounds)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntervalEntry(_Model):
    start: ClockText
    end: ClockText


class NamedDay(_Model):
    date: Day
    name: Text


class RemovedDay(_Model):
    date: Day
    reason: Text


_DEFAULT_HOURS = (IntervalEntry(start="07:00", end="11:30"), IntervalEntry(start="13:30", end="17:00"))


class OfficeFile(_Model):
    """The schema of one office file."""

    label: Text
    office_hours: tuple[IntervalEntry, ...] = Field(default=_DEFAULT_HOURS, min_length=1)
    extra_days_off: tuple[NamedDay, ...] = ()
    extra_working_days: tuple[NamedDay, ...] = ()
    removed_days_off: tuple[RemovedDay, ...] = ()


@dataclass(frozen=True)
class OfficeSettings:
    """Validated settings of one office."""

    name: str
    label: str
    hours: OfficeHours
    overrides: CalendarOverrides
    source: str

    def calendar(
        self, seasonal: Callable[[dt.date], OfficeHours | None] | None = None,
        overrides: CalendarOverrides | None = None,
    ) -> WorkingCalendar:
        """The office's working calendar: the package's days, corrected by the national calendar, then by the
        office's overrides (or ``overrides``: a unit's, gathered from the offices of its versions); ``seasonal``: the
        hours of a day when they change with the season or the unit's version."""
        return WorkingCalendar(self.hours, overrides or self.overrides, seasonal, national_calendar())


def office_names(directory: Path = OFFICES_DIR) -> list[str]:
    return [path.stem for path in yaml_files(directory)]


def load_office(name: str = DEFAULT_OFFICE, directory: Path = OFFICES_DIR) -> OfficeSettings:
    """Settings of the office called `name`; an unknown or malformed name raises InvalidInput."""
    if not isinstance(name, str) or not _OFFICE_NAME.match(name):
        raise InvalidInput("office", f"{name!r} is not an office name (lowercase letters, digits, '-')")
    path = directory / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(office_names(directory)) or "none"
        raise NotFound("office", f"unknown office {name!r} (known: {known})")
    return load_office_file(path)


def load_office_file(path: Path) -> OfficeSettings:
    source = str(path)
    try:
        document = OfficeFile.model_validate(load_yaml(path))
    except ValidationError as error:
        raise InvalidDefinition(source, _messages(error)) from None
    _reject_repeated_dates(source, document)
    try:
        settings = OfficeSettings(path.stem, document.label, _hours(document), _overrides(document), source)
        settings.calendar()  # checks the removed days against the package data
    except InvalidInput as error:
        raise InvalidDefinition(source, [f"{error.field}: {error.message}"]) from None
    return settings


def _messages(error: ValidationError) -> list[str]:
    return [f"{_location(item['loc'])}: {item['msg']}" for item in error.errors()]


def _location(parts: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in parts) or "(document)"


def _reject_repeated_dates(source: str, document: OfficeFile) -> None:
    problems = [
        f"{field}: {day.isoformat()} is listed more than once"
        for field, days in _date_lists(document).items()
        for day in sorted({day for day in days if days.count(day) > 1})
    ]
    if problems:
        raise InvalidDefinition(source, problems)


def _date_lists(document: OfficeFile) -> dict[str, list[dt.date]]:
    return {
        "extra_days_off": [entry.date for entry in document.extra_days_off],
        "extra_working_days": [entry.date for entry in document.extra_working_days],
        "removed_days_off": [entry.date for entry in document.removed_days_off],
    }


def _hours(document: OfficeFile) -> OfficeHours:
    return OfficeHours(tuple(_interval(entry) for entry in document.office_hours))


def _interval(entry: IntervalEntry) -> tuple[dt.time, dt.time]:
    return dt.time.fromisoformat(entry.start), dt.time.fromisoformat(entry.end)


def _overrides(document: OfficeFile) -> CalendarOverrides:
    return CalendarOverrides(
        extra_days_off=_named(document.extra_days_off),
        extra_working_days=_named(document.extra_working_days),
        removed_days_off={entry.date: entry.reason for entry in document.removed_days_off},
    )


def _named(entries: Sequence[NamedDay]) -> dict[dt.date, str]:
    return {entry.date: entry.name for entry in entries}
