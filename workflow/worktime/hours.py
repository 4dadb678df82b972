"""Values of working time: office hours, durations, timeliness (one-stop-shop.md, the legal clock).

Pure values, no holidays: :mod:`motcua.workflow.worktime.calendar` combines them with the days off. Clock times inside a
day are handled as integer microseconds since midnight so that walking through intervals is exact.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.errors import InvalidInput

__all__ = [
    "DEFAULT_INTERVALS",
    "Duration",
    "DurationUnit",
    "Interval",
    "OfficeHours",
    "Timeliness",
    "classify",
    "clock_from_us",
    "clock_us",
]

Interval = tuple[time, time]
DEFAULT_INTERVALS: tuple[Interval, ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
_US_PER_SECOND = 1_000_000
_PAIR = 2


def clock_us(clock: time) -> int:
    """Microseconds since midnight of a wall-clock time."""
    seconds = clock.hour * 3600 + clock.minute * 60 + clock.second
    return seconds * _US_PER_SECOND + clock.microsecond


def clock_from_us(micros: int) -> time:
    """The wall-clock time `micros` microseconds after midnight."""
    seconds, micro = divmod(micros, _US_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, micro)


def _interval_problem(index: int, interval: object) -> str | None:
    if not (isinstance(interval, tuple) and len(interval) == _PAIR):
        return f"interval {index} must be a (start, end) pair of times"
    start, end = interval
    if not (isinstance(start, time) and isinstance(end, time)):
        return f"interval {index} must be a (start, end) pair of times"
    if start.tzinfo is not None or end.tzinfo is not None:
        return f"interval {index} must use naive wall-clock times (Vietnam time is implied)"
    if start >= end:
        return f"interval {index} ({start:%H:%M}–{end:%H:%M}) must start before it ends"
    return None


def _validated_intervals(raw: object) -> tuple[Interval, ...]:
    items = raw if isinstance(raw, tuple | list) else ()
    intervals = tuple(tuple(item) if isinstance(item, list) else item for item in items)
    if not intervals:
        raise InvalidInput("office_hours", "at least one working interval is required")
    for index, interval in enumerate(intervals):
        if problem := _interval_problem(index, interval):
            raise InvalidInput("office_hours", problem)
    for index in range(1, len(intervals)):
        if intervals[index][0] <= intervals[index - 1][1]:
            message = f"interval {index} must start after interval {index - 1} ends (ordered, with a break)"
            raise InvalidInput("office_hours", message)
    return intervals


@dataclass(frozen=True)
class OfficeHours:
    """Ordered, non-overlapping working intervals of a working day (default 07:00–11:30, 13:30–17:00)."""

    intervals: tuple[Interval, ...] = DEFAULT_INTERVALS
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _ends: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _before: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        intervals = _validated_intervals(self.intervals)
        starts = tuple(clock_us(start) for start, _ in intervals)
        ends = tuple(clock_us(end) for _, end in intervals)
        before = tuple(sum(ends[i] - starts[i] for i in range(index)) for index in range(len(intervals) + 1))
        object.__setattr__(self, "intervals", intervals)
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_ends", ends)
        object.__setattr__(self, "_before", before)

    @property
    def opening(self) -> time:
        return self.intervals[0][0]

    @property
    def closing(self) -> time:
        return self.intervals[-1][1]

    @property
    def day_length(self) -> timedelta:
        """Working time of one working day (8 hours by default)."""
        return timedelta(microseconds=self.day_length_us)

    @property
    def day_length_us(self) -> int:
        return self._before[-1]

    def offset_us(self, clock: int) -> int:
        """Working microseconds of the day elapsed at `clock` (microseconds since midnight)."""
        index = bisect_right(self._starts, clock) - 1
        if index < 0:
            return 0
        return self._before[index] + min(clock, self._ends[index]) - self._starts[index]

    def clock_reaching_us(self, offset: int) -> int:
        """Earliest clock at which `offset` working microseconds are done (an interval end if exact)."""
        index = max(bisect_left(self._before, offset) - 1, 0)
        return self._starts[index] + offset - self._before[index]

    def clock_leaving_us(self, offset: int) -> int:
        """Latest clock at which exactly `offset` working microseconds are done (an opening if exact)."""
        index = min(bisect_right(self._before, offset) - 1, len(self._starts) - 1)
        return self._starts[index] + offset - self._before[index]

    def closes_at_us(self, clock: int) -> bool:
        """Whether `clock` is the end of one of the day's working intervals (11:30, 17:00 by default)."""
        return clock in self._ends

    def next_open_us(self, clock: int) -> int | None:
        """The first working clock at or after `clock` (intervals are half-open), None after closing."""
        index = bisect_right(self._ends, clock)
        if index == len(self._ends):
            return None
        return max(clock, self._starts[index])


class DurationUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CALENDAR_DAYS = "calendar_days"

    @property
    def label(self) -> str:
        return _UNIT_LABELS[self]


_UNIT_LABELS = {
    DurationUnit.WORKING_DAYS: "ngày làm việc",
    DurationUnit.WORKING_HOURS: "giờ làm việc",
    DurationUnit.CALENDAR_DAYS: "ngày",
}


@dataclass(frozen=True)
class Duration:
    """A legal processing time: `amount` (≥ 0) of `unit`. 0 working days means "trong ngày"."""

    amount: int
    unit: DurationUnit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidInput("amount", f"must be a whole number, got {self.amount!r}")
        if self.amount < 0:
            raise InvalidInput("amount", f"must not be negative, got {self.amount}")
        try:
            object.__setattr__(self, "unit", DurationUnit(self.unit))
        except ValueError:
            known = ", ".join(unit.value for unit in DurationUnit)
            raise InvalidInput("unit", f"unknown unit {self.unit!r} (known: {known})") from None

    @property
    def label(self) -> str:
        if self.amount == 0 and self.unit is DurationUnit.WORKING_DAYS:
            return "trong ngày"
        return f"{self.amount} {self.unit.label}"


class Timeliness(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"

    @property
    def label(self) -> str:
        return _TIMELINESS_LABELS[self]


_TIMELINESS_LABELS = {
    Timeliness.EARLY: "Trước hạn",
    Timeliness.ON_TIME: "Đúng hạn",
    Timeliness.LATE: "Quá hạn",
}


def _vietnam_date(moment: datetime) -> date:
    return to_vietnam_time(moment).date()


def classify(end: datetime, appointment: datetime | None) -> Timeliness:
    """Early / on time / late by calendar dates in Asia/Ho_Chi_Minh; no appointment is on time."""
    if appointment is None:
        return Timeliness.ON_TIME
    end_date, due_date = _vietnam_date(end), _vietnam_date(appointment)
    if end_date < due_date:
        return Timeliness.EARLY
    return Timeliness.ON_TIME if end_date == due_date else Timeliness.LATE
