"""The working calendar of a Vietnamese office: days off, working time and due instants (one-stop-shop.md, the legal
clock).

Days off come from the ``holidays`` package (country ``VN``, Vietnamese names), corrected first for the whole
country by a :class:`~motcua.workflow.worktime.national.NationalCalendar` (the government's announcements: a swap,
a make-up Saturday the package lacks), then per office by :class:`CalendarOverrides`.
:meth:`WorkingCalendar.describe` tells of a day whether it is worked, its name, the legal text behind it and whether
it is *provisional* (the package's guess for a holiday not announced yet). Working days are indexed per year as
sorted ordinals, so a position in working time is ``index of the day × length of a working day + time worked that
day``: walking 250 working days costs one bisection and one division, like walking one. The index grows lazily, and
worker threads share it: a list growing at its end keeps its indices, but indexing an earlier year replaces it, so
every count reads one list (:meth:`WorkingCalendar._indexed`) from its first position to its last.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
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
from motcua.workflow.worktime.national import Correction, CorrectionKind, LegalSource, NationalCalendar

__all__ = [
    "DEFAULT_INTERVALS",
    "VN_TZ",
    "CalendarDay",
    "CalendarOverrides",
    "DayKind",
    "DayOrigin",
    "Duration",
    "DurationUnit",
    "Interval",
    "NationalCalendar",
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


class DayKind(StrEnum):
    """What a day is in the calendar."""

    WORKING = "working"  # an ordinary working day
    WEEKEND = "weekend"  # an ordinary weekly rest day
    DAY_OFF = "day_off"  # a holiday, a day in lieu, a swapped day (on a weekend too)
    MAKE_UP = "make_up"  # a weekend day worked
    WORKED = "worked"  # a day off cancelled: worked

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    DayKind.WORKING: "Ngày làm việc",
    DayKind.WEEKEND: "Nghỉ hằng tuần",
    DayKind.DAY_OFF: "Nghỉ",
    DayKind.MAKE_UP: "Làm bù",
    DayKind.WORKED: "Đi làm",
}


class DayOrigin(StrEnum):
    """Who decided a day that is not ordinary: the package's rules, the national corrections, the office file."""

    PACKAGE = "package"
    NATIONAL = "national"
    OFFICE = "office"

    @property
    def label(self) -> str:
        return _ORIGIN_LABELS[self]


_ORIGIN_LABELS = {
    DayOrigin.PACKAGE: "Gói holidays",
    DayOrigin.NATIONAL: "Lịch toàn quốc",
    DayOrigin.OFFICE: "Lịch của văn phòng",
}
_CORRECTION_KINDS = {
    CorrectionKind.DAY_OFF: DayKind.DAY_OFF,
    CorrectionKind.WORKING_DAY: DayKind.MAKE_UP,
    CorrectionKind.REMOVED: DayKind.WORKED,
}


@dataclass(frozen=True)
class CalendarDay:
    """One day as the calendar counts it. ``origin`` is None for an ordinary day; ``source`` is the legal text
    behind a day the package or the national corrections decide (None when none confirms it, or for the office's
    own days); ``provisional`` marks a package day no announcement confirms yet: it may still move."""

    day: date
    working: bool
    kind: DayKind
    name: str | None = None
    origin: DayOrigin | None = None
    source: LegalSource | None = None
    provisional: bool = False

    @property
    def moves_the_count(self) -> bool:
        """A weekday off or a weekend day worked: the days that change a count of working days."""
        return self.kind in (DayKind.DAY_OFF, DayKind.MAKE_UP) and self.working is (self.day.weekday() >= _SATURDAY)


_SATURDAY = 5


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

    ``national`` are the country's corrections, applied before ``overrides`` (without it: the package's days as they
    are, every one of them provisional; the product's calendars get the shipped corrections from
    :meth:`motcua.definitions.offices.OfficeSettings.calendar`). ``seasonal`` gives the office hours of a day when
    they change with the season (Hải Dương's summer and winter hours) or with the unit's version (a unit that moved
    to another province on 1 July 2025 keeps its old province's hours before); ``hours`` are then those of the days
    it does not name. Every season's working day must be as long as ``hours``' (a working day is the unit of
    legal time: the hours move, the day's length does not), else :class:`InvalidInput` on the first day that
    differs.
    """

    def __init__(
        self, hours: OfficeHours | None = None, overrides: CalendarOverrides | None = None,
        seasonal: Callable[[date], OfficeHours | None] | None = None,
        national: NationalCalendar | None = None,
    ) -> None:
        self._hours = OfficeHours() if hours is None else hours
        self._overrides = CalendarOverrides() if overrides is None else overrides
        self._national = NationalCalendar() if national is None else national
        self._package = holidays.country_holidays("VN", language="vi")
        self._provisional: dict[int, tuple[date, ...]] = {}  # per year: the provisional days that move a count
        self._day_us = self._hours.day_length_us
        self._seasonal = seasonal
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
        found = self._seasonal(day) or self._hours  # nothing kept per day: a calendar's memory does not grow with use
        if found.day_length_us != self._day_us:
            message = (f"the working day of {day.isoformat()} lasts {found.day_length}, not "
                       f"{self._hours.day_length} like the others: seasons move the hours, not the day's length")
            raise InvalidInput("seasons", message)
        return found

    @property
    def overrides(self) -> CalendarOverrides:
        return self._overrides

    @property
    def national(self) -> NationalCalendar:
        return self._national

    @property
    def years(self) -> tuple[int, int]:
        """First and last year the holiday data covers."""
        return self._package.start_year, self._package.end_year

    # -- days ---------------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        day = _as_date(day)
        self._cover(day.year, day.year)
        days, ordinal = self._indexed(), day.toordinal()
        index = bisect_left(days, ordinal)
        return index < len(days) and days[index] == ordinal

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day = _as_date(day)
        return date.fromordinal(self._next_working_ordinal(day.toordinal(), day.year))

    def days_off(self, year: int) -> list[tuple[date, str]]:
        """Days off of `year` the package, the national corrections or the office name (weekend holidays
        included), by date."""
        return [(item.day, item.name or "") for item in self.special_days(year)
                if item.kind is DayKind.DAY_OFF and not item.working]

    def extra_working_days(self, year: int) -> list[tuple[date, str]]:
        """Weekend days worked in `year` (make-up Saturdays of the package, the national corrections or the
        office), by date."""
        return [(item.day, item.name or "") for item in self.special_days(year)
                if item.kind is DayKind.MAKE_UP and item.working]

    def describe(self, day: date) -> CalendarDay:
        """What `day` is: worked or not, its name, who decided it and on what legal text, provisional or not.

        The office's overrides win over the national corrections, which win over the package."""
        day = _as_date(day)
        working = self.is_working_day(day)
        office = self._office_day(day, working)
        if office is not None:
            return office
        correction = self._national.correction(day)
        if correction is not None:
            kind = _CORRECTION_KINDS[correction.kind]
            return CalendarDay(day, working, kind, correction.name, DayOrigin.NATIONAL, correction.source)
        if day in self._package or day in self._package.weekend_workdays:
            kind = DayKind.DAY_OFF if day in self._package else DayKind.MAKE_UP
            name = str(self._package[day]) if kind is DayKind.DAY_OFF else self._makeup_name(day)
            source = self._national.confirmation(day)
            return CalendarDay(day, working, kind, name, DayOrigin.PACKAGE, source, provisional=source is None)
        return CalendarDay(day, working, DayKind.WORKING if working else DayKind.WEEKEND)

    def special_days(self, year: int) -> list[CalendarDay]:
        """Every day of `year` that is not an ordinary working day or weekend, by date."""
        self._check_year(year)
        first, last = self.years
        self._cover(max(year - 1, first), min(year + 1, last))  # a swap may cross the new year
        overrides = self._overrides
        with self._indexing:  # the package adds a year's days only while a thread indexes it, under this lock
            candidates = {day for day in self._package if day.year == year}
            candidates.update(day for day in self._package.weekend_workdays if day.year == year)
        candidates.update(item.day for item in self._national.corrections if item.day.year == year)
        for days in (overrides.extra_days_off, overrides.extra_working_days, overrides.removed_days_off):
            candidates.update(day for day in days if day.year == year)
        described = (self.describe(day) for day in sorted(candidates))
        return [item for item in described if item.origin is not None]

    def provisional_days(self, first: date, last: date) -> tuple[date, ...]:
        """The provisional days from `first` to `last` (both included) that move a count of working days: a
        weekday off or a weekend day worked that no announcement confirms yet."""
        first, last = _as_date(first), _as_date(last)
        found: list[date] = []
        for year in range(first.year, last.year + 1):
            found.extend(day for day in self._provisional_of(year) if first <= day <= last)
        return tuple(found)

    def _provisional_of(self, year: int) -> tuple[date, ...]:
        known = self._provisional.get(year)
        if known is None:
            special = self.special_days(year)
            known = tuple(item.day for item in special if item.provisional and item.moves_the_count)
            self._provisional[year] = known  # computed again at worst by a racing thread: same value
        return known

    def _office_day(self, day: date, working: bool) -> CalendarDay | None:
        overrides = self._overrides
        if day in overrides.extra_days_off:
            return CalendarDay(day, working, DayKind.DAY_OFF, overrides.extra_days_off[day], DayOrigin.OFFICE)
        if day in overrides.extra_working_days:
            return CalendarDay(day, working, DayKind.MAKE_UP, overrides.extra_working_days[day], DayOrigin.OFFICE)
        if day in overrides.removed_days_off:
            return CalendarDay(day, working, DayKind.WORKED, overrides.removed_days_off[day], DayOrigin.OFFICE)
        return None

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
            return self.calendar_days_after(start, duration.amount)
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
        while True:
            days = self._indexed()
            day_index, rest = divmod(self._position(days, local) + micros, self._day_us)
            if rest == 0:  # exactly at a closing time: stay there, not at the next opening
                day_index, rest = day_index - 1, self._day_us
            if day_index < len(days):
                break
            self._extend_to_index(day_index)
        ordinal = days[day_index]
        return _at(ordinal, self.hours_on(date.fromordinal(ordinal)).clock_reaching_us(rest))

    def subtract_working(self, end: datetime, amount: timedelta) -> datetime:
        """The latest instant before `end` from which `amount` of working time remains until `end` (exactly at a
        closing, the opening after it: a warning two working hours before 09:00 comes at 07:00 that day)."""
        return self._before(end, amount, latest=True)

    def deadline_before(self, end: datetime, amount: timedelta) -> datetime:
        """The instant before `end` from which `amount` of working time remains until `end`, for a duty due that long
        before `end` and judged by dates: at `end`'s own clock time where the two meet — `end` at a closing time, the
        earliest such instant, as :meth:`add_working` keeps a closing time (one working day before 17:00 on the 8th is
        17:00 on the 7th, not 07:00 on the 8th, the same working instant); otherwise the latest (one working day before
        07:00 on the 8th is 07:00 on the 7th, not 17:00 on the 6th)."""
        local = to_vietnam_time(end)
        closing = self.is_working_day(local.date()) and self.hours_on(local.date()).closes_at_us(clock_us(local.time()))
        return self._before(end, amount, latest=not closing)

    def elapsed_working(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants; zero when `end` is not after `start`."""
        first, last = to_vietnam_time(start), to_vietnam_time(end)
        if last <= first:
            return timedelta(0)
        self._cover(first.year, last.year)
        days = self._indexed()
        return timedelta(microseconds=self._position(days, last) - self._position(days, first))

    def calendar_days_after(self, start: datetime, days: int) -> datetime:
        """``days`` calendar days after ``start`` at its clock time, as a deadline in calendar days lands: on a day
        off, the next working day at the same clock time, moved into office hours (the legal clock)."""
        start = to_vietnam_time(start)
        try:
            landing = start.date() + timedelta(days=days)
        except OverflowError:
            raise InvalidInput("duration", f"{days} calendar days is beyond the calendar") from None
        if self.is_working_day(landing):
            return datetime.combine(landing, start.time(), tzinfo=VN_TZ)
        moved = datetime.combine(self.next_working_day(landing), start.time(), tzinfo=VN_TZ)
        return self.effective_start(moved)

    # -- internals ----------------------------------------------------------------------------------

    def _before(self, end: datetime, amount: timedelta, *, latest: bool) -> datetime:
        micros = _amount_us(amount)
        local = to_vietnam_time(end)
        if micros == 0:
            return local
        self._cover(local.year, local.year)
        while (target := self._position(days := self._indexed(), local) - micros) < int(not latest):
            self._cover(self._lo - 1 - (-target // self._day_us) // _DAYS_PER_YEAR_FLOOR, self._hi)
        day_index, rest = divmod(target, self._day_us)
        if latest:
            ordinal = days[day_index]
            return _at(ordinal, self.hours_on(date.fromordinal(ordinal)).clock_leaving_us(rest))
        if rest == 0:  # exactly at an opening: the closing of the working day before
            day_index, rest = day_index - 1, self._day_us
        ordinal = days[day_index]
        return _at(ordinal, self.hours_on(date.fromordinal(ordinal)).clock_reaching_us(rest))

    def _indexed(self) -> list[int]:
        """The index as it is now: read once per count, since another thread indexing an earlier year replaces it
        (positions in one list are consistent; a list only ever grows at its end)."""
        return self._days

    def _position(self, days: list[int], local: datetime) -> int:
        """Working microseconds from the start of `days` (the index) to `local` (its year must be indexed)."""
        ordinal = local.toordinal()
        index = bisect_left(days, ordinal)
        position = index * self._day_us
        if index < len(days) and days[index] == ordinal:
            position += self.hours_on(local.date()).offset_us(clock_us(local.time()))
        return position

    def _next_working_ordinal(self, ordinal: int, year: int) -> int:
        self._cover(year, year)
        while True:
            days = self._indexed()
            index = bisect_right(days, ordinal)
            if index < len(days):
                return days[index]
            self._extend_to_index(index)

    def _extend_to_index(self, index: int) -> None:
        """Index years after the last one until the index holds position `index`; the years guessed never step past
        the data's last year (a count ending in it is counted), and one beyond it is refused naming that year."""
        last = self.years[1]
        while index >= len(self._days):
            if self._hi >= last:
                self._check_year(self._hi + 1)
            missing_years = (index - len(self._days)) // _DAYS_PER_YEAR_FLOOR + 1
            self._cover(self._lo, min(self._hi + missing_years, last))

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
            return not self._package.is_weekend(day) or self._national_makeup(day)
        return self._national_says_working(day)

    def _national_says_working(self, day: date) -> bool:
        """The package's answer, corrected by the national calendar."""
        correction = self._national.correction(day)
        if correction is None:
            return bool(self._package.is_working_day(day))
        if correction.kind is CorrectionKind.REMOVED:
            return not self._package.is_weekend(day) or day in self._package.weekend_workdays
        return correction.kind is CorrectionKind.WORKING_DAY

    def _national_makeup(self, day: date) -> bool:
        correction = self._national.correction(day)
        if correction is not None:
            return correction.kind is CorrectionKind.WORKING_DAY
        return day in self._package.weekend_workdays

    def _national_day_off(self, day: date) -> bool:
        """A day off of the package or of the national corrections (not one they cancel)."""
        correction = self._national.correction(day)
        if correction is not None:
            return correction.kind is CorrectionKind.DAY_OFF
        return day in self._package

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
            if not self._national_day_off(day):
                message = (f"{day.isoformat()} is not a day off in the holidays data or the national corrections: "
                           "nothing to remove")
                raise InvalidInput("removed_days_off", message)

    def national_problems(self) -> list[str]:
        """What is wrong with the national corrections against the ``holidays`` package, each naming its entry: a
        correction outside the package's years, an announcement whose break is not all off (or whose make-up days
        are not worked) once corrected, a fixed day that is not off. Empty when the corrections and the
        announcements agree. A correction the package has since learnt is not wrong (applying it changes nothing):
        :meth:`redundant_corrections` names those, for the maintainer to delete after upgrading the package."""
        first, last = self.years
        problems = [f"{item.where}: outside the years the holiday data covers ({first}–{last})"
                    for item in self._national.corrections if not first <= item.day.year <= last]
        for announcement in self._national.announcements:
            for day in announcement.break_days():
                if self._national_says_working(day):
                    problems.append(f"{announcement.where}: {day.isoformat()} is a working day in the corrected "
                                    "calendar, but the announcement gives it off: add it to days_off")
            for day in announcement.working_days:
                if not self._national_says_working(day):
                    problems.append(f"{announcement.where}: {day.isoformat()} is not worked in the corrected "
                                    "calendar, but the announcement makes it a working day: add it to working_days")
        last_year = min(max(self._national.years(), default=0), self.years[1])  # the years the file speaks of
        for fixed in self._national.fixed_days:
            for year in range(max(fixed.since, self.years[0]), last_year + 1):
                fixed_on = fixed.on(year)
                if fixed_on is not None and not self._national_day_off(fixed_on):
                    problems.append(f"fixed_days {fixed.month:02d}-{fixed.day:02d}: {fixed_on.isoformat()} is not a "
                                    "day off in the corrected calendar")
        return problems

    def redundant_corrections(self) -> list[str]:
        """The national corrections the ``holidays`` package already applies (a later release learnt them), each
        naming its entry: harmless, but to be deleted so that the file lists only what the package has wrong."""
        return [problem for item in self._national.corrections if (problem := self._redundancy(item))]

    def _redundancy(self, item: Correction) -> str | None:
        day, package = item.day, self._package
        first, last = self.years
        if not first <= day.year <= last:
            return None
        if item.kind is CorrectionKind.REMOVED and day not in package:
            return f"{item.where}: not a day off in the holidays package: nothing to remove"
        if item.kind is CorrectionKind.DAY_OFF and not package.is_working_day(day):
            return f"{item.where}: already a day off in the holidays package (or a weekend): nothing to add"
        if item.kind is CorrectionKind.WORKING_DAY and package.is_working_day(day):
            return f"{item.where}: already a working day in the holidays package: nothing to add"
        return None


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
