"""The working calendar of a Vietnamese office: days off, working time and due instants (one-stop-shop.md, the legal
clock).

Days off come from the ``holidays`` package (country ``VN``, Vietnamese names), corrected per office by
:class:`CalendarOverrides`. Working days are indexed per year as sorted ordinals, so a position in working
time is ``index of the day × length of a working day + time worked that day``: walking 250 working days
costs one bisection and one division, like walking one.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType

import holidays

from motcua.workflow.engine.clock import VN_TZ, to_vietnam_time
from motcua.workflow.errors import InvalidInput
from motcua.workflow.worktime.hours import (
    DEFAULT_INTERVALS,
    Duration,
    DurationUnit,
    Interval,
    OfficeHours,
    Timeliness,
    classify,
    clock_from_us,
    clock_us,
)

__all__ = [
    "DEFAULT_INTERVALS",
    "VN_TZ",
    "CalendarOverrides",
    "Duration",
    "DurationUnit",
    "Interval",
    "OfficeHours",
    "Timeliness",
    "WorkingCalendar",
    "classify",
    "to_vietnam_time",
]

_DAYS_PER_YEAR_FLOOR = 230  # fewer working days than any real year has: a safe step when extending
_MAKEUP_NAME = "Ngày làm việc bù"
_NO_CUTOFF = 24 * 3600 * 1_000_000


def _validated_days(field_name: str, raw: object) -> Mapping[date, str]:
    if not isinstance(raw, Mapping):
        raise InvalidInput(field_name, "must map dates to names")
    for day, name in raw.items():
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidInput(field_name, f"{day!r} is not a date")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput(field_name, f"{day.isoformat()} needs a non-empty name")
    return MappingProxyType(dict(sorted(raw.items())))


def _reject_overlap(field_name: str, days_off: Mapping[date, str], other: Mapping[date, str]) -> None:
    clash = sorted(set(days_off) & set(other))
    if clash:
        shown = ", ".join(day.isoformat() for day in clash)
        raise InvalidInput(field_name, f"{shown} also listed in extra_days_off")


@dataclass(frozen=True)
class CalendarOverrides:
    """An office's corrections to the package: days off added, Saturdays worked, days off cancelled.

    Each maps a date to its Vietnamese name (for ``removed_days_off``: the reason the office works).
    """

    extra_days_off: Mapping[date, str] = field(default_factory=dict)
    extra_working_days: Mapping[date, str] = field(default_factory=dict)
    removed_days_off: Mapping[date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("extra_days_off", "extra_working_days", "removed_days_off"):
            object.__setattr__(self, name, _validated_days(name, getattr(self, name)))
        _reject_overlap("extra_working_days", self.extra_days_off, self.extra_working_days)
        _reject_overlap("removed_days_off", self.extra_days_off, self.removed_days_off)

    def __hash__(self) -> int:
        return hash(
            (
                tuple(self.extra_days_off.items()),
                tuple(self.extra_working_days.items()),
                tuple(self.removed_days_off.items()),
            )
        )


def _amount_us(amount: timedelta) -> int:
    if not isinstance(amount, timedelta):
        raise InvalidInput("amount", f"expected a timedelta, got {type(amount).__name__}")
    if amount < timedelta(0):
        raise InvalidInput("amount", f"must not be negative, got {amount}")
    return amount // timedelta(microseconds=1)


def _at(ordinal: int, micros: int) -> datetime:
    return datetime.combine(date.fromordinal(ordinal), clock_from_us(micros), tzinfo=VN_TZ)


def _as_date(day: date) -> date:
    if isinstance(day, datetime):
        return to_vietnam_time(day).date()
    if not isinstance(day, date):
        raise InvalidInput("date", f"expected a date, got {type(day).__name__}")
    return day


class WorkingCalendar:
    """Working days and working time of one office, in Asia/Ho_Chi_Minh.

    Naive datetimes are read as Vietnam time; every datetime returned is aware, in ``VN_TZ``.

    ``seasonal`` gives the office hours of a (month, day) when they change with the season (Hải Dương's
    summer and winter hours); ``hours`` are then those of the days it does not name. Every season's working
    day must be as long as ``hours``' (a working day is the unit of legal time: the hours move, the day's
    length does not), else :class:`InvalidInput` on the first day that differs.
    """

    def __init__(
        self, hours: OfficeHours | None = None, overrides: CalendarOverrides | None = None,
        seasonal: Callable[[int, int], OfficeHours | None] | None = None,
    ) -> None:
        self._hours = OfficeHours() if hours is None else hours
        self._overrides = CalendarOverrides() if overrides is None else overrides
        self._package = holidays.country_holidays("VN", language="vi")
        self._day_us = self._hours.day_length_us
        self._seasonal = seasonal
        self._by_month_day: dict[tuple[int, int], OfficeHours] = {}
        self._lo, self._hi = 1, 0  # indexed years [lo, hi]; empty while hi < lo
        self._days: list[int] = []  # ordinals of the working days of years lo..hi, ascending
        self._indexing = threading.Lock()  # worker threads share one calendar; the index grows lazily
        self._check_removed_days_off()

    @property
    def hours(self) -> OfficeHours:
        """The office hours of a day no season names (every day, without seasons)."""
        return self._hours

    def hours_on(self, day: date) -> OfficeHours:
        """The office hours of `day`: its season's, else :attr:`hours`."""
        if self._seasonal is None:
            return self._hours
        key = (day.month, day.day)
        found = self._by_month_day.get(key)
        if found is None:
            found = self._by_month_day[key] = self._season_hours(key)
        return found

    def _season_hours(self, key: tuple[int, int]) -> OfficeHours:
        assert self._seasonal is not None
        found = self._seasonal(*key) or self._hours
        if found.day_length_us != self._day_us:
            message = (f"the working day of {key[1]:02d}/{key[0]:02d} lasts {found.day_length}, not "
                       f"{self._hours.day_length} like the others: seasons move the hours, not the day's length")
            raise InvalidInput("seasons", message)
        return found

    @property
    def overrides(self) -> CalendarOverrides:
        return self._overrides

    @property
    def years(self) -> tuple[int, int]:
        """First and last year the holiday data covers."""
        return self._package.start_year, self._package.end_year

    # -- days ---------------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        day = _as_date(day)
        self._cover(day.year, day.year)
        ordinal = day.toordinal()
        index = bisect_left(self._days, ordinal)
        return index < len(self._days) and self._days[index] == ordinal

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day = _as_date(day)
        return date.fromordinal(self._next_working_ordinal(day.toordinal(), day.year))

    def days_off(self, year: int) -> list[tuple[date, str]]:
        """Days off of `year` the package or the office names (weekend holidays included), by date."""
        self._check_year(year)
        self._cover(year, year)
        removed = self._overrides.removed_days_off
        names = {day: str(name) for day, name in self._package.items() if day.year == year}
        names = {day: name for day, name in names.items() if day not in removed}
        names.update((day, name) for day, name in self._overrides.extra_days_off.items() if day.year == year)
        return [(day, name) for day, name in sorted(names.items()) if not self.is_working_day(day)]

    def extra_working_days(self, year: int) -> list[tuple[date, str]]:
        """Weekend days worked in `year` (make-up Saturdays of the package or of the office), by date."""
        self._check_year(year)
        first, last = self.years
        self._cover(max(year - 1, first), min(year + 1, last))  # a swap may cross the new year
        package_days = [day for day in sorted(self._package.weekend_workdays) if day.year == year]
        found = {day: self._makeup_name(day) for day in package_days}
        office_days = self._overrides.extra_working_days.items()
        found.update((day, name) for day, name in office_days if day.year == year)
        return [(day, name) for day, name in sorted(found.items()) if self.is_working_day(day)]

    # -- instants -----------------------------------------------------------------------------------

    def effective_start(self, received: datetime, cutoff: time | None = None) -> datetime:
        """The reception instant moved forward to the next working instant (after `cutoff`: next day)."""
        limit = _cutoff_us(cutoff)
        local = to_vietnam_time(received)
        day, clock = local.date(), clock_us(local.time())
        if self.is_working_day(day) and clock <= limit:
            opened = self.hours_on(day).next_open_us(clock)
            if opened is not None:
                return _at(day.toordinal(), opened)
        following = self._next_working_ordinal(day.toordinal(), day.year)
        return _at(following, clock_us(self.hours_on(date.fromordinal(following)).opening))

    def due(self, received: datetime, duration: Duration, cutoff: time | None = None) -> datetime:
        """The due instant of `duration` counted from `received` (one-stop-shop.md, the legal clock)."""
        if not isinstance(duration, Duration):
            raise InvalidInput("duration", f"expected a Duration, got {type(duration).__name__}")
        start = self.effective_start(received, cutoff)
        if duration.unit is DurationUnit.CALENDAR_DAYS:
            return self._calendar_days_due(start, duration.amount)
        if duration.unit is DurationUnit.WORKING_DAYS and duration.amount == 0:
            return _at(start.toordinal(), clock_us(self.hours_on(start.date()).closing))
        return self.add_working(start, _working_amount(duration, self._hours.day_length))

    def add_working(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant after `start` by which `amount` of working time has passed."""
        micros = _amount_us(amount)
        local = to_vietnam_time(start)
        if micros == 0:
            return local
        self._cover(local.year, local.year)
        day_index, rest = divmod(self._position(local) + micros, self._day_us)
        if rest == 0:  # exactly at a closing time: stay there, not at the next opening
            day_index, rest = day_index - 1, self._day_us
        self._extend_to_index(day_index)
        ordinal = self._days[day_index]
        return _at(ordinal, self.hours_on(date.fromordinal(ordinal)).clock_reaching_us(rest))

    def subtract_working(self, end: datetime, amount: timedelta) -> datetime:
        """The latest instant before `end` from which `amount` of working time remains until `end`."""
        micros = _amount_us(amount)
        local = to_vietnam_time(end)
        if micros == 0:
            return local
        self._cover(local.year, local.year)
        while (target := self._position(local) - micros) < 0:
            self._cover(self._lo - 1 - (-target // self._day_us) // _DAYS_PER_YEAR_FLOOR, self._hi)
        day_index, rest = divmod(target, self._day_us)
        ordinal = self._days[day_index]
        return _at(ordinal, self.hours_on(date.fromordinal(ordinal)).clock_leaving_us(rest))

    def elapsed_working(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants; zero when `end` is not after `start`."""
        first, last = to_vietnam_time(start), to_vietnam_time(end)
        if last <= first:
            return timedelta(0)
        self._cover(first.year, last.year)
        return timedelta(microseconds=self._position(last) - self._position(first))

    # -- internals ----------------------------------------------------------------------------------

    def _calendar_days_due(self, start: datetime, days: int) -> datetime:
        try:
            landing = start.date() + timedelta(days=days)
        except OverflowError:
            raise InvalidInput("duration", f"{days} calendar days is beyond the calendar") from None
        if self.is_working_day(landing):
            return datetime.combine(landing, start.time(), tzinfo=VN_TZ)
        moved = datetime.combine(self.next_working_day(landing), start.time(), tzinfo=VN_TZ)
        return self.effective_start(moved)

    def _position(self, local: datetime) -> int:
        """Working microseconds from the start of the index to `local` (its year must be indexed)."""
        ordinal = local.toordinal()
        index = bisect_left(self._days, ordinal)
        position = index * self._day_us
        if index < len(self._days) and self._days[index] == ordinal:
            position += self.hours_on(local.date()).offset_us(clock_us(local.time()))
        return position

    def _next_working_ordinal(self, ordinal: int, year: int) -> int:
        self._cover(year, year)
        index = bisect_right(self._days, ordinal)
        self._extend_to_index(index)
        return self._days[index]

    def _extend_to_index(self, index: int) -> None:
        while index >= len(self._days):
            missing_years = (index - len(self._days)) // _DAYS_PER_YEAR_FLOOR + 1
            self._cover(self._lo, self._hi + missing_years)

    def _cover(self, first: int, last: int) -> None:
        """Index the working days of every year from `first` to `last` (and those already indexed)."""
        if self._lo <= first and last <= self._hi:
            return
        with self._indexing:
            self._grow(first, last)

    def _grow(self, first: int, last: int) -> None:
        if self._lo <= first and last <= self._hi:
            return  # another thread indexed it meanwhile
        lo, hi = (first, last) if self._hi < self._lo else (min(first, self._lo), max(last, self._hi))
        self._check_year(lo)
        self._check_year(hi)
        if self._hi < self._lo or lo < self._lo:
            self._days = [ordinal for year in range(lo, hi + 1) for ordinal in self._year_days(year)]
        else:
            added = range(self._hi + 1, hi + 1)
            self._days.extend(ordinal for year in added for ordinal in self._year_days(year))
        self._lo, self._hi = lo, hi

    def _check_year(self, year: int) -> None:
        if isinstance(year, bool) or not isinstance(year, int):
            raise InvalidInput("year", f"expected a year number, got {year!r}")
        first, last = self.years
        if not first <= year <= last:
            message = f"year {year} is outside the years the holiday data covers ({first}–{last})"
            raise InvalidInput("date", message)

    def _year_days(self, year: int) -> list[int]:
        first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
        days = (date.fromordinal(ordinal) for ordinal in range(first, last + 1))
        return [day.toordinal() for day in days if self._rule_says_working(day)]

    def _rule_says_working(self, day: date) -> bool:
        overrides = self._overrides
        if day in overrides.extra_days_off:
            return False
        if day in overrides.extra_working_days:
            return True
        if day in overrides.removed_days_off:
            return not self._package.is_weekend(day) or day in self._package.weekend_workdays
        return bool(self._package.is_working_day(day))

    def _makeup_name(self, day: date) -> str:
        """Name a make-up working day after the day off it pays for (the package names only the latter)."""
        stamp = day.strftime("%d/%m/%Y")
        for off_day, name in sorted(self._package.items()):
            if stamp in str(name):
                return f"{_MAKEUP_NAME} (thay cho ngày nghỉ {off_day:%d/%m/%Y})"
        return _MAKEUP_NAME

    def _check_removed_days_off(self) -> None:
        for day in self._overrides.removed_days_off:
            self._check_year(day.year)
            if day not in self._package:
                message = f"{day.isoformat()} is not a day off in the holidays data: nothing to remove"
                raise InvalidInput("removed_days_off", message)


def _cutoff_us(cutoff: time | None) -> int:
    """The cut-off as microseconds since midnight; no cut-off is later than any clock."""
    if cutoff is None:
        return _NO_CUTOFF
    if not isinstance(cutoff, time) or cutoff.tzinfo is not None:
        raise InvalidInput("cutoff", f"expected a naive wall-clock time, got {cutoff!r}")
    return clock_us(cutoff)


def _working_amount(duration: Duration, day_length: timedelta) -> timedelta:
    try:
        if duration.unit is DurationUnit.WORKING_HOURS:
            return timedelta(hours=duration.amount)
        return day_length * duration.amount
    except OverflowError:
        raise InvalidInput("duration", f"{duration.label} is beyond the calendar") from None
