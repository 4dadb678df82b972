"""The national calendar corrections, loaded from ``definitions/calendar/vn.yaml``.

Safe load (no on/off/yes/no booleans) → pydantic schema (``extra="forbid"``; every correction and announcement
needs its legal source: document, number, signing date) → a frozen
:class:`motcua.workflow.worktime.national.NationalCalendar` → checked against the ``holidays`` package
(:meth:`motcua.workflow.worktime.calendar.WorkingCalendar.national_problems`). A bad file raises
:class:`motcua.workflow.errors.InvalidDefinition` naming the file and each entry at fault by its list, position
and date. :func:`national_calendar` is the shipped file, read once per process: every calendar of the product
gets it through :meth:`motcua.definitions.offices.OfficeSettings.calendar`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from motcua.definitions.yamlsafe import load_yaml
from motcua.workflow.errors import InvalidDefinition, InvalidInput
from motcua.workflow.worktime.calendar import WorkingCalendar
from motcua.workflow.worktime.national import (
    DOCUMENT_NUMBER_PATTERN,
    Announcement,
    Correction,
    CorrectionKind,
    FixedDay,
    LegalSource,
    NationalCalendar,
)

__all__ = ["CALENDAR_DIR", "NATIONAL_FILE", "load_national_calendar", "national_calendar"]

CALENDAR_DIR = Path(__file__).with_name("calendar")
NATIONAL_FILE = CALENDAR_DIR / "vn.yaml"


def _reject_numbers(value: object) -> object:
    if isinstance(value, bool | int | float):
        raise ValueError("write the date as YYYY-MM-DD")  # pydantic would read a number as a timestamp
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Day = Annotated[dt.date, BeforeValidator(_reject_numbers)]
Number = Annotated[str, StringConstraints(strip_whitespace=True, pattern=DOCUMENT_NUMBER_PATTERN)]
MonthDay = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceEntry(_Model):
    document: Text
    number: Number
    signed: Day


class DayEntry(_Model):
    date: Day
    name: Text
    source: SourceEntry


class RemovedEntry(_Model):
    date: Day
    reason: Text
    source: SourceEntry


class AnnouncementEntry(_Model):
    holiday: Text
    first_day: Day
    last_day: Day
    working_days: tuple[Day, ...] = ()
    source: SourceEntry


class FixedEntry(_Model):
    month_day: MonthDay
    name: Text
    since: int = Field(ge=1, le=9999)
    source: SourceEntry


class NationalFile(_Model):
    """The schema of the national calendar file."""

    label: Text
    fixed_days: tuple[FixedEntry, ...] = ()
    announcements: tuple[AnnouncementEntry, ...] = ()
    days_off: tuple[DayEntry, ...] = ()
    working_days: tuple[DayEntry, ...] = ()
    removed_days_off: tuple[RemovedEntry, ...] = ()


@cache
def national_calendar() -> NationalCalendar:
    """The shipped national calendar (``definitions/calendar/vn.yaml``), read and checked once per process:
    restart the processes after editing it."""
    return load_national_calendar(NATIONAL_FILE)


def load_national_calendar(path: Path = NATIONAL_FILE) -> NationalCalendar:
    source = str(path)
    raw = load_yaml(path)
    try:
        document = NationalFile.model_validate(raw)
    except ValidationError as error:
        raise InvalidDefinition(source, _messages(error, raw)) from None
    try:
        national = _national(document)
    except InvalidInput as error:
        raise InvalidDefinition(source, [f"{error.field}: {error.message}"]) from None
    problems = WorkingCalendar(national=national).national_problems()
    if problems:
        raise InvalidDefinition(source, problems)
    return national


def _messages(error: ValidationError, raw: object) -> list[str]:
    return [f"{_location(item['loc'], raw)}: {item['msg']}" for item in error.errors()]


def _location(parts: tuple[int | str, ...], raw: object) -> str:
    """``days_off[0] 2026-01-02.source``: the list, the position and the entry's date when it has one."""
    if len(parts) >= 2 and isinstance(parts[0], str) and isinstance(parts[1], int):  # noqa: PLR2004  # list, index
        entry = _entry(raw, parts[0], parts[1])
        named = f"{parts[0]}[{parts[1]}]" + (f" {entry}" if entry else "")
        rest = ".".join(str(part) for part in parts[2:])
        return f"{named}.{rest}" if rest else named
    return ".".join(str(part) for part in parts) or "(document)"


def _entry(raw: object, name: str, index: int) -> str:
    """How the file names entry `index` of list `name`: its date, first day or holiday ("" when it has none)."""
    items = raw.get(name) if isinstance(raw, Mapping) else None
    if not isinstance(items, Sequence) or isinstance(items, str) or not 0 <= index < len(items):
        return ""
    item = items[index]
    if not isinstance(item, Mapping):
        return ""
    for key in ("date", "first_day", "month_day", "holiday"):
        value = item.get(key)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str) and value.strip():
            return repr(value.strip()) if key == "holiday" else value.strip()
    return ""


def _source(entry: SourceEntry) -> LegalSource:
    return LegalSource(entry.document, entry.number, entry.signed)


def _national(document: NationalFile) -> NationalCalendar:
    corrections = [
        *(Correction(CorrectionKind.DAY_OFF, item.date, item.name, _source(item.source)) for item in document.days_off),
        *(Correction(CorrectionKind.WORKING_DAY, item.date, item.name, _source(item.source))
          for item in document.working_days),
        *(Correction(CorrectionKind.REMOVED, item.date, item.reason, _source(item.source))
          for item in document.removed_days_off),
    ]
    announcements = (
        Announcement(item.holiday, item.first_day, item.last_day, _source(item.source), item.working_days)
        for item in document.announcements
    )
    fixed = (
        FixedDay(int(item.month_day[:2]), int(item.month_day[3:]), item.name, item.since, _source(item.source))
        for item in document.fixed_days
    )
    return NationalCalendar(document.label, tuple(corrections), tuple(announcements), tuple(fixed))
