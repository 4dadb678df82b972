"""Administrative units, loaded from ``definitions/units/<province>.yaml`` (one file per province).

Safe load (no on/off/yes/no booleans) → pydantic schema (``extra="forbid"``) → frozen
:class:`motcua.workflow.units.Province` values → one :class:`motcua.workflow.units.UnitRegister` across every file,
checked by :func:`motcua.workflow.units.build_register`. A bad file raises
:class:`motcua.workflow.errors.InvalidDefinition` naming the file (or the folder, for checks across files) and the
offenders. See docs/reference/units.md.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError

from motcua.definitions.offices import (
    DEFAULT_OFFICE,
    OFFICES_DIR,
    Day,
    IntervalEntry,
    OfficeSettings,
    Text,
    load_office,
    office_names,
)
from motcua.definitions.yamlsafe import load_yaml, yaml_files
from motcua.workflow.engine.bounds import NAME_MAX, line_problem
from motcua.workflow.errors import InvalidDefinition, InvalidInput
from motcua.workflow.units.checks import build_register
from motcua.workflow.units.model import YEAR_ROUND, Province, Resolution, Season, Unit, UnitKind, UnitRegister
from motcua.workflow.worktime.calendar import CalendarOverrides, WorkingCalendar
from motcua.workflow.worktime.hours import OfficeHours

__all__ = [
    "PROVINCE_CODE_PATTERN",
    "UNITS_DIR",
    "UNIT_CODE_MAX_LENGTH",
    "UNIT_CODE_PATTERN",
    "load_province_file",
    "load_units",
    "unit_calendars",
    "unit_code_pattern",
    "unit_files",
]

UNITS_DIR = Path(__file__).with_name("units")
_SLUG = r"^[a-z0-9][a-z0-9-]*$"
UNIT_CODE_PATTERN: Final = r"^[A-Z0-9][A-Z0-9.-]*$"
"""A unit's code (its DVCQG agency code, ``000.00.06.H56``, or a ``LOCAL-…`` code) in its one canonical shape: capital
letters, digits, dots and dashes. Codes are compared exactly, so a ``local-…`` spelling would be another unit (and
escape the check that a ``LOCAL-…`` code is marked unconfirmed): the unit files, the HTTP API and the keys accept
only this shape."""
UNIT_CODE_MAX_LENGTH: Final = 64


def unit_code_pattern(home: str | None = None) -> str:
    """:data:`UNIT_CODE_PATTERN`, taking ``home`` as well, as it is written: a standalone desk's home code
    (``MOTCUA_AGENCY``) is in no register, and its dossiers are held under it even when it has another shape — the rule
    its keys are made with (:func:`motcua.adapters.keys.check_grant`)."""
    if home is None or re.fullmatch(UNIT_CODE_PATTERN, home):
        return UNIT_CODE_PATTERN
    return f"^(?:{UNIT_CODE_PATTERN[1:-1]}|{re.escape(home)})$"
PROVINCE_CODE_PATTERN: Final = _SLUG
MonthDayText = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]
Slug = Annotated[str, StringConstraints(pattern=_SLUG)]


def _capitals(value: object) -> object:
    if isinstance(value, str) and value != value.upper():
        raise PydanticCustomError("unit_code_case", "a unit code is written in capital letters: {code}",
                                  {"code": value.upper()[:UNIT_CODE_MAX_LENGTH]})
    return value


Code = Annotated[str, BeforeValidator(_capitals),
                 StringConstraints(pattern=UNIT_CODE_PATTERN, max_length=UNIT_CODE_MAX_LENGTH)]
"""A unit code in a file: a lowercase letter is named as such (before the pattern), with the code as it must read."""


def _one_line(text: str) -> str:
    problem = line_problem(text, NAME_MAX)
    if problem is not None:
        raise PydanticCustomError("one_line", "{problem}", {"problem": problem})
    return text


Name = Annotated[Text, AfterValidator(_one_line)]
"""A name printed in labels, reports and sheets (a unit's, a province's, a season's, a resolution's number): one line
of at most NAME_MAX characters."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeasonEntry(_Model):
    name: Name
    first_day: MonthDayText
    last_day: MonthDayText
    office_hours: tuple[IntervalEntry, ...] = Field(min_length=1)


class ResolutionEntry(_Model):
    number: Name
    signed: Day


class UnitEntry(_Model):
    code: Code
    name: Name
    kind: UnitKind
    valid_from: Day | None = None
    valid_to: Day | None = None
    successors: tuple[Code, ...] = ()
    succession: ResolutionEntry | None = None
    seasons: tuple[SeasonEntry, ...] = ()
    office: Slug | None = None
    unconfirmed: bool = False
    note: str = ""


ProvinceCode = Annotated[str, StringConstraints(pattern=PROVINCE_CODE_PATTERN, max_length=UNIT_CODE_MAX_LENGTH)]


class ProvinceEntry(_Model):
    code: ProvinceCode
    name: Name
    kind: Annotated[str, StringConstraints(pattern=r"^(tỉnh|thành phố)$")]
    valid_from: Day | None = None
    valid_to: Day | None = None
    successor: ProvinceCode | None = None
    seasons: tuple[SeasonEntry, ...] = ()
    note: str = ""


class UnitsFile(_Model):
    """The schema of one province file."""

    province: ProvinceEntry
    units: tuple[UnitEntry, ...] = Field(min_length=1)


def unit_files(directory: Path = UNITS_DIR) -> list[Path]:
    return yaml_files(directory)


def load_units(directory: Path = UNITS_DIR, offices: Path = OFFICES_DIR) -> UnitRegister:
    """Every province file of `directory`, checked together (successors may cross provinces), and every unit's working
    day one length across its versions (:func:`_day_length_problems`)."""
    provinces = [load_province_file(path, offices) for path in unit_files(directory)]
    register = build_register(provinces, str(directory))
    settings = _office_settings(register, offices)
    problems = [problem for code in register.codes
                for problem in _day_length_problems(register, register.versions(code), settings[code])]
    if problems:
        raise InvalidDefinition(str(directory), problems)
    return register


def unit_calendars(register: UnitRegister, offices: Path = OFFICES_DIR) -> dict[str, WorkingCalendar]:
    """The working calendar of each unit code of a register :func:`load_units` loaded: the national corrections and
    the days off and worked of its office file (the default office's without one), and its hours — its own seasons,
    else its province's; the office file's hours when neither declares seasons. A code with several versions (renamed,
    moved to another province) counts each day on the version that day belongs to
    (:meth:`UnitRegister.version_counting`): that version's office days and hours."""
    settings = _office_settings(register, offices)
    return {code: _calendar(register, register.versions(code), settings[code]) for code in register.codes}


def _office_settings(register: UnitRegister, offices: Path) -> dict[str, list[OfficeSettings]]:
    """The office settings of each version of each code; each office file read once, however many units name it."""
    loaded = {name: load_office(name, offices)
              for name in {unit.office or DEFAULT_OFFICE for unit in register.units}}
    return {code: [loaded[unit.office or DEFAULT_OFFICE] for unit in register.versions(code)]
            for code in register.codes}


def _calendar(register: UnitRegister, versions: tuple[Unit, ...], settings: list[OfficeSettings]) -> WorkingCalendar:
    if len(versions) == 1:
        declared = versions[0].seasons or register.province(versions[0].province).seasons
        return settings[0].calendar(None if declared is YEAR_ROUND else register.seasonal_hours(versions[0]))
    position = {id(unit): index for index, unit in enumerate(versions)}
    seasonal = [register.seasonal_hours(unit) for unit in versions]

    def hours_on(day: dt.date) -> OfficeHours:
        index = position[id(register.version_counting(versions[0].code, day))]
        return seasonal[index](day) or settings[index].hours

    overrides = CalendarOverrides(*(_counted(versions, settings, name) for name in _OVERRIDES))
    return settings[-1].calendar(hours_on, overrides)


_OVERRIDES: Final = ("extra_days_off", "extra_working_days", "removed_days_off")


def _counted(versions: tuple[Unit, ...], settings: list[OfficeSettings], name: str) -> dict[dt.date, str]:
    """The office corrections ``name`` of each version, on the days that version counts (from its start to the next
    version's; the first from the beginning, the last to the end)."""
    ends = [unit.valid_from or dt.date.min for unit in versions[1:]] + [dt.date.max]
    counted: dict[dt.date, str] = {}
    start = dt.date.min
    for office, end in zip(settings, ends, strict=True):
        counted.update((day, text) for day, text in getattr(office.overrides, name).items() if start <= day < end)
        start = end
    return counted


def _day_length_problems(
    register: UnitRegister, versions: tuple[Unit, ...], settings: list[OfficeSettings],
) -> list[str]:
    """Each version's hours (its seasons, else its province's, else its office file's) last as long a day as the
    office hours of the code's latest version, which the calendar counts working time in."""
    expected = settings[-1].hours.day_length
    problems = []
    for unit, office in zip(versions, settings, strict=True):
        seasons = unit.seasons or register.province(unit.province).seasons
        worked = [office.hours] if seasons is YEAR_ROUND else [season.hours for season in seasons]
        other = sorted({str(hours.day_length) for hours in worked if hours.day_length != expected})
        if other:
            problems.append(f"unit {unit.code} ({unit.label}, {unit.province}): a working day of {', '.join(other)}, "
                            f"not {expected} as its office hours count: a unit keeps one working-day length, the "
                            "unit of legal time (a new code with successors starts a new one)")
    return problems


def load_province_file(path: Path, offices: Path = OFFICES_DIR) -> Province:
    source = str(path)
    try:
        document = UnitsFile.model_validate(load_yaml(path))
    except ValidationError as error:
        raise InvalidDefinition(source, _messages(error)) from None
    _check_offices(source, document, offices)
    try:
        return _province(document)
    except InvalidInput as error:
        raise InvalidDefinition(source, [f"{error.field}: {error.message}"]) from None


def _messages(error: ValidationError) -> list[str]:
    return [f"{'.'.join(str(part) for part in item['loc']) or '(document)'}: {item['msg']}" for item in error.errors()]


def _check_offices(source: str, document: UnitsFile, offices: Path) -> None:
    known = set(office_names(offices))
    problems = [
        f"unit {unit.code} ({unit.name}): unknown office {unit.office!r} (known: {', '.join(sorted(known))})"
        for unit in document.units
        if unit.office is not None and unit.office not in known
    ]
    if problems:
        raise InvalidDefinition(source, problems)


def _province(document: UnitsFile) -> Province:
    entry = document.province
    return Province(
        code=entry.code,
        name=entry.name,
        kind=entry.kind,
        units=tuple(_unit(unit, entry.code) for unit in document.units),
        valid_from=entry.valid_from,
        valid_to=entry.valid_to,
        seasons=_seasons(entry.seasons) or YEAR_ROUND,
        note=entry.note,
        successor=entry.successor,
    )


def _unit(entry: UnitEntry, province: str) -> Unit:
    succession = entry.succession
    return Unit(
        code=entry.code,
        name=entry.name,
        kind=entry.kind,
        province=province,
        valid_from=entry.valid_from,
        valid_to=entry.valid_to,
        successors=entry.successors,
        succession=Resolution(succession.number, succession.signed) if succession else None,
        seasons=_seasons(entry.seasons),
        office=entry.office,
        unconfirmed=entry.unconfirmed,
        note=entry.note.strip(),
    )


def _seasons(entries: tuple[SeasonEntry, ...]) -> tuple[Season, ...]:
    return tuple(
        Season(entry.name, _month_day(entry.first_day), _month_day(entry.last_day), _hours(entry.office_hours))
        for entry in entries
    )


def _month_day(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


def _hours(entries: tuple[IntervalEntry, ...]) -> OfficeHours:
    intervals = ((dt.time.fromisoformat(entry.start), dt.time.fromisoformat(entry.end)) for entry in entries)
    return OfficeHours(tuple(intervals))


