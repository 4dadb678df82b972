"""Reporting periods: calendar months, quarters and years, and the government data cut-off.

A period is a pair of Vietnam dates, both inclusive. ``2024-03``, ``2024-Q1`` and ``2024`` name the
calendar month, quarter and year. With a cut-off day *d* (the periodic reporting regime of the
government counts data "from the 15th of the previous month to the 14th of the reporting month"),
a period starts on day *d* of the month before its first month and ends on day *d − 1* of its last
month: ``2024-03`` with cut-off 15 is 2024-02-15 … 2024-03-14, ``2024-Q1`` is 2023-12-15 … 2024-03-14,
``2024`` is 2023-12-15 … 2024-12-14. A cut-off day of 1 is the calendar period itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from motcua.workflow.engine.bounds import FIRST_DAY, LAST_DAY, day_problem
from motcua.workflow.errors import InvalidInput

__all__ = ["FIRST_DAY", "LAST_DAY", "MAX_CUTOFF_DAY", "Period", "parse_date", "parse_period", "period_of"]

MAX_CUTOFF_DAY = 28  # every month has a day 28: the cut-off exists in February too
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")  # ASCII digits only: `\d` takes any script's
_QUARTER = re.compile(r"^([0-9]{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^([0-9]{4})$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # fromisoformat alone takes 20250101 and week dates too
_MONTHS_PER_QUARTER = 3
_MONTHS_PER_YEAR = 12


@dataclass(frozen=True, slots=True)
class Period:
    """Dates ``start`` … ``end``, both inclusive, in Asia/Ho_Chi_Minh."""

    start: date
    end: date

    def __post_init__(self) -> None:
        for option, day in (("--from", self.start), ("--to", self.end)):
            if not isinstance(day, date) or isinstance(day, datetime):  # a datetime is a date too, comparing with none
                raise InvalidInput(option, f"a date (datetime.date), not {type(day).__name__}")
        if self.end < self.start:
            raise InvalidInput("--to", f"{self.end.isoformat()} is before --from {self.start.isoformat()}")
        for option, day in (("--from", self.start), ("--to", self.end)):
            if (problem := day_problem(day)) is not None:
                raise InvalidInput(option, problem)


def parse_date(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` date between :data:`FIRST_DAY` and :data:`LAST_DAY`: the one way every command reads a day a
    person names. :class:`InvalidInput` naming ``option`` otherwise (``20250701``, a week date, year 1)."""
    stripped = text.strip()
    try:
        day = date.fromisoformat(stripped) if _DATE.match(stripped) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput(option, f"{text[:40]!r} is not a date YYYY-MM-DD")
    if (problem := day_problem(day)) is not None:
        raise InvalidInput(option, problem)
    return day


def parse_period(text: str, cutoff_day: int | None = None) -> Period:
    """The period named ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``, shifted by the cut-off day if given."""
    first, months = _months(text.strip())
    cutoff = _cutoff(cutoff_day)
    if cutoff == 1:
        return Period(_month_start(*first), _month_start(*_add_months(first, months)) - timedelta(days=1))
    before = _add_months(first, -1)
    last = _add_months(first, months - 1)
    return Period(date(before[0], before[1], cutoff), date(last[0], last[1], cutoff - 1))


def period_of(
    start: str | None, end: str | None, period: str | None, cutoff_day: int | None = None
) -> Period:
    """The period of the command-line options: ``--from``/``--to`` or ``--period`` (exclusive)."""
    if period is not None:
        if start is not None or end is not None:
            raise InvalidInput("--period", "give either --period or --from/--to, not both")
        return parse_period(period, cutoff_day)
    if cutoff_day is not None:
        raise InvalidInput("--cutoff-day", "applies to --period only, not to --from/--to")
    if start is None or end is None:
        missing = "--from" if start is None else "--to"
        raise InvalidInput(missing, "give --from and --to together, or --period")
    return Period(parse_date(start, "--from"), parse_date(end, "--to"))


def _months(text: str) -> tuple[tuple[int, int], int]:
    """The first (year, month) of the named period and its length in months."""
    if match := _MONTH.match(text):
        month = int(match[2])
        if not 1 <= month <= _MONTHS_PER_YEAR:
            raise InvalidInput("--period", f"{text!r}: month {month} does not exist")
        return (_year(match[1], text), month), 1
    if match := _QUARTER.match(text):
        return (_year(match[1], text), (int(match[2]) - 1) * _MONTHS_PER_QUARTER + 1), _MONTHS_PER_QUARTER
    if match := _YEAR.match(text):
        return (_year(match[1], text), 1), _MONTHS_PER_YEAR
    raise InvalidInput("--period", f"{text!r}: use YYYY-MM (month), YYYY-Qn (quarter) or YYYY (year)")


def _year(digits: str, text: str) -> int:
    year = int(digits)
    if not FIRST_DAY.year < year < LAST_DAY.year:  # a cut-off period starts in the year before and may end after
        raise InvalidInput("--period", f"{text!r}: year {year} is outside the years a report covers "
                                       f"({FIRST_DAY.year + 1}–{LAST_DAY.year - 1})")
    return year


def _cutoff(day: int | None) -> int:
    if day is None:
        return 1
    if not 1 <= day <= MAX_CUTOFF_DAY:
        raise InvalidInput("--cutoff-day", f"{day} must be between 1 and {MAX_CUTOFF_DAY}")
    return day


def _add_months(month: tuple[int, int], count: int) -> tuple[int, int]:
    index = month[0] * _MONTHS_PER_YEAR + month[1] - 1 + count
    return index // _MONTHS_PER_YEAR, index % _MONTHS_PER_YEAR + 1


def _month_start(year: int, month: int) -> date:
    return date(year, month, 1)
