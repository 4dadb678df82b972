"""Properties of working-time arithmetic, checked against a slow day-by-day reference walker."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.workflow.worktime.calendar import VN_TZ, Duration, DurationUnit, OfficeHours, WorkingCalendar, classify

CAL = WorkingCalendar()
PACKAGE = holidays.country_holidays("VN", language="vi")
HOURS = OfficeHours()
MAKE_UP_SATURDAYS = [day for year in range(2014, 2027) for day, _ in CAL.extra_working_days(year)]

instants = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31, 23, 59)).map(
    lambda moment: moment.replace(tzinfo=VN_TZ)
)
minute_instants = instants.map(lambda moment: moment.replace(second=0, microsecond=0))
amounts = st.integers(min_value=0, max_value=8 * 60 * 300).map(lambda minutes: timedelta(minutes=minutes))
short_amounts = st.integers(min_value=1, max_value=8 * 60 * 12).map(lambda minutes: timedelta(minutes=minutes))
durations = st.builds(Duration, st.integers(min_value=0, max_value=300), st.sampled_from(DurationUnit))
cutoffs = st.none() | st.sampled_from([time(15), time(16, 30)])


def in_office_hours(moment: datetime) -> bool:
    clock = moment.time()
    return CAL.is_working_day(moment.date()) and any(start <= clock <= end for start, end in HOURS.intervals)


def reference_add(start: datetime, amount: timedelta) -> datetime:
    """Walk day by day through the intervals, using the package directly (no index)."""
    day, remaining, first = start.date(), amount, True
    while True:
        if PACKAGE.is_working_day(day):
            for opening, closing in HOURS.intervals:
                begin = max(opening, start.time()) if first else opening
                if begin >= closing:
                    continue
                span = datetime.combine(day, closing) - datetime.combine(day, begin)
                if remaining <= span:
                    return datetime.combine(day, begin, tzinfo=VN_TZ) + remaining
                remaining -= span
        day, first = day + timedelta(days=1), False


@settings(max_examples=300)
@given(instants, durations, cutoffs)
def test_due_never_falls_outside_office_hours(received: datetime, duration: Duration, cutoff: time | None) -> None:
    result = CAL.due(received, duration, cutoff)
    assert result.tzinfo is VN_TZ
    assert in_office_hours(result)  # an interval's end (a closing time) counts as inside
    assert result >= received


@given(instants, amounts, amounts)
def test_adding_a_then_b_equals_adding_a_plus_b(start: datetime, first: timedelta, second: timedelta) -> None:
    assert CAL.add_working(CAL.add_working(start, first), second) == CAL.add_working(start, first + second)


@given(instants, amounts)
def test_elapsed_working_inverts_add_working(start: datetime, amount: timedelta) -> None:
    assert CAL.elapsed_working(start, CAL.add_working(start, amount)) == amount


@given(instants, amounts)
def test_subtract_working_inverts_add_working_on_working_instants(start: datetime, amount: timedelta) -> None:
    end = CAL.add_working(start, amount)
    assert CAL.elapsed_working(CAL.subtract_working(end, amount), end) == amount
    assert CAL.subtract_working(end, amount) <= end
    due = CAL.deadline_before(end, amount)
    assert CAL.elapsed_working(due, end) == amount and due <= CAL.subtract_working(end, amount)


@given(instants, st.integers(min_value=0, max_value=300))
def test_a_duty_whole_working_days_before_keeps_the_clock_time(start: datetime, days: int) -> None:
    """A working instant (openings and closings included) minus whole working days: the same clock time, on the
    working day that many before — never the same instant in working time on another date."""
    end = CAL.effective_start(start)  # an opening, or inside office hours
    closing = CAL.due(start, Duration(0, DurationUnit.WORKING_DAYS))  # 17:00 of that day
    for moment in (end, CAL.add_working(end, timedelta(minutes=30)), closing):
        due = CAL.deadline_before(moment, timedelta(hours=8 * days))
        assert due.time() == moment.time() and CAL.elapsed_working(due, moment) == timedelta(hours=8 * days)


@given(minute_instants, short_amounts)
def test_add_working_matches_the_reference_walker(start: datetime, amount: timedelta) -> None:
    assert CAL.add_working(start, amount) == reference_add(start, amount)


@given(instants, st.integers(min_value=1, max_value=300))
def test_working_days_are_eight_working_hours(received: datetime, days: int) -> None:
    by_days = CAL.due(received, Duration(days, DurationUnit.WORKING_DAYS))
    assert by_days == CAL.due(received, Duration(8 * days, DurationUnit.WORKING_HOURS))


@given(st.sampled_from(MAKE_UP_SATURDAYS), st.integers(min_value=1, max_value=8 * 60))
def test_make_up_saturday_is_a_working_day(saturday: date, minutes: int) -> None:
    assert saturday.weekday() == 5
    assert CAL.is_working_day(saturday)
    whole_day = CAL.elapsed_working(datetime.combine(saturday, time(0), tzinfo=VN_TZ), _midnight_after(saturday))
    assert whole_day == timedelta(hours=8)
    # One working minute before the Saturday opens (16:59 on the previous working day); walking more
    # than that minute (exactly one would stop at that day's 17:00 closing) lands on the Saturday.
    start = CAL.subtract_working(datetime.combine(saturday, time(7), tzinfo=VN_TZ), timedelta(minutes=1))
    assert CAL.add_working(start, timedelta(minutes=1 + minutes)).date() == saturday


def _midnight_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=VN_TZ)


@given(instants, st.none() | instants)
def test_classify_depends_only_on_vietnam_dates(end: datetime, appointment: datetime | None) -> None:
    result = classify(end, appointment)
    if appointment is None:
        assert result.value == "on_time"
    else:
        expected = {-1: "early", 0: "on_time", 1: "late"}
        difference = (end.date() > appointment.date()) - (end.date() < appointment.date())
        assert result.value == expected[difference]
