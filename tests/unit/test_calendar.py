"""Working calendar: days off from the `holidays` package, office hours, due instants (one-stop-shop.md, the legal
clock)."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest

from motcua.workflow.errors import InvalidInput
from motcua.workflow.worktime.calendar import (
    VN_TZ,
    CalendarOverrides,
    Duration,
    DurationUnit,
    OfficeHours,
    Timeliness,
    WorkingCalendar,
    classify,
)

CAL = WorkingCalendar()
WD = DurationUnit.WORKING_DAYS
WH = DurationUnit.WORKING_HOURS
CD = DurationUnit.CALENDAR_DAYS


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def due(received: datetime, amount: int, unit: DurationUnit, cutoff: time | None = None) -> datetime:
    return CAL.due(received, Duration(amount, unit), cutoff)


# -- the worked example of the legal clock (docs/explanation/one-stop-shop.md) ---------------------


def test_domain_example_three_working_days_over_the_30_4_swap() -> None:
    result = due(datetime(2024, 4, 26, 16, 10), 3, WD)
    assert result == vn(2024, 5, 4, 16, 10)
    assert result.isoformat() == "2024-05-04T16:10:00+07:00"
    assert result.tzinfo is VN_TZ


def test_aware_input_in_another_zone_is_the_same_instant() -> None:
    received = datetime(2024, 4, 26, 9, 10, tzinfo=UTC)  # 16:10 in Vietnam
    assert due(received, 3, WD) == vn(2024, 5, 4, 16, 10)


# -- days off from the package ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2023, 1, 20), date(2023, 1, 26)), (date(2024, 2, 8), date(2024, 2, 14))],
    ids=["tet-2023", "tet-2024"],
)
def test_tet_days_are_off(first: date, last: date) -> None:
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    assert not any(CAL.is_working_day(day) for day in days)
    assert CAL.is_working_day(first - timedelta(days=1))
    assert CAL.is_working_day(last + timedelta(days=1))


def test_due_over_tet_2023() -> None:
    # Thu 19/1/2023 10:00: 20/1 (29 Tết) to 26/1 (mùng 5) are off.
    assert due(vn(2023, 1, 19, 10), 1, WD) == vn(2023, 1, 27, 10)


def test_due_over_tet_2024() -> None:
    # Wed 7/2/2024 14:00: 3 h left that day, 8/2–14/2 off, Thu 15/2 8 h, Fri 16/2 5 h.
    assert due(vn(2024, 2, 7, 14), 2, WD) == vn(2024, 2, 16, 14)


@pytest.mark.parametrize(
    ("day_off", "saturday_worked"),
    [
        (date(2024, 4, 29), date(2024, 5, 4)),
        (date(2025, 5, 2), date(2025, 4, 26)),
        (date(2026, 8, 31), date(2026, 8, 22)),
    ],
)
def test_swapped_days_from_the_package(day_off: date, saturday_worked: date) -> None:
    assert day_off.weekday() < 5 and saturday_worked.weekday() == 5
    assert not CAL.is_working_day(day_off)
    assert CAL.is_working_day(saturday_worked)
    assert saturday_worked in dict(CAL.extra_working_days(saturday_worked.year))
    assert day_off in dict(CAL.days_off(day_off.year))


def test_make_up_saturday_is_named_after_the_day_off_it_pays_for() -> None:
    [(day, name)] = CAL.extra_working_days(2024)
    assert day == date(2024, 5, 4)
    assert "29/04/2024" in name


def test_days_off_carry_vietnamese_names() -> None:
    names = dict(CAL.days_off(2024))
    assert names[date(2024, 2, 10)] == "Tết Nguyên Đán"
    assert names[date(2024, 9, 2)] == "Quốc khánh"
    assert list(names) == sorted(names)


def test_national_day_2_9() -> None:
    assert not CAL.is_working_day(date(2025, 9, 1))
    assert not CAL.is_working_day(date(2025, 9, 2))
    # Fri 29/8/2025 09:00 + 1 working day: weekend, 1/9 and 2/9 off → Wed 3/9 09:00.
    assert due(vn(2025, 8, 29, 9), 1, WD) == vn(2025, 9, 3, 9)
    # 2024: Mon 2/9 and Tue 3/9 off.
    assert due(vn(2024, 8, 30, 9), 1, WD) == vn(2024, 9, 4, 9)


def test_swap_missing_from_the_package_is_fixed_by_an_office_override() -> None:
    # A hypothetical future decision: Wed 3/2/2027 off, Sat 20/2/2027 worked instead.
    overrides = CalendarOverrides(
        extra_days_off={date(2027, 2, 3): "Nghỉ hoán đổi (ví dụ)"},
        extra_working_days={date(2027, 2, 20): "Làm bù cho ngày 03/02/2027"},
    )
    office = WorkingCalendar(overrides=overrides)
    received = vn(2027, 2, 2, 9)
    assert CAL.due(received, Duration(1, WD)) == vn(2027, 2, 3, 9)
    assert office.due(received, Duration(1, WD)) == vn(2027, 2, 11, 9)
    assert office.is_working_day(date(2027, 2, 20))
    assert (date(2027, 2, 3), "Nghỉ hoán đổi (ví dụ)") in office.days_off(2027)
    assert office.extra_working_days(2027) == [(date(2027, 2, 20), "Làm bù cho ngày 03/02/2027")]


def test_removed_day_off_becomes_a_working_day() -> None:
    office = WorkingCalendar(overrides=CalendarOverrides(removed_days_off={date(2024, 4, 29): "Trực"}))
    assert office.is_working_day(date(2024, 4, 29))
    assert date(2024, 4, 29) not in dict(office.days_off(2024))
    assert office.due(vn(2024, 4, 26, 16, 10), Duration(1, WD)) == vn(2024, 4, 29, 16, 10)


def test_office_can_cancel_a_package_make_up_saturday() -> None:
    office = WorkingCalendar(overrides=CalendarOverrides(extra_days_off={date(2024, 5, 4): "Không làm bù"}))
    assert not office.is_working_day(date(2024, 5, 4))
    assert office.extra_working_days(2024) == []


def test_removing_a_day_that_is_not_off_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        WorkingCalendar(overrides=CalendarOverrides(removed_days_off={date(2025, 5, 3): "typo"}))
    assert caught.value.field == "removed_days_off"
    assert "2025-05-03" in caught.value.message


def test_conflicting_overrides_are_refused() -> None:
    with pytest.raises(InvalidInput, match="2027-02-03"):
        CalendarOverrides(extra_days_off={date(2027, 2, 3): "a"}, extra_working_days={date(2027, 2, 3): "b"})
    with pytest.raises(InvalidInput, match="non-empty name"):
        CalendarOverrides(extra_days_off={date(2027, 2, 3): " "})
    with pytest.raises(InvalidInput, match="not a date"):
        CalendarOverrides(extra_days_off={datetime(2027, 2, 3): "a"})


def test_package_agrees_with_the_index_for_whole_years() -> None:
    package = holidays.country_holidays("VN", language="vi")
    for year in (2023, 2024, 2025, 2026):
        day = date(year, 1, 1)
        while day.year == year:
            assert CAL.is_working_day(day) == package.is_working_day(day), day
            day += timedelta(days=1)


# -- effective start ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "start"),
    [
        (vn(2024, 6, 3, 6, 0), vn(2024, 6, 3, 7, 0)),  # before opening
        (vn(2024, 6, 3, 9, 15), vn(2024, 6, 3, 9, 15)),  # in office hours
        (vn(2024, 6, 3, 11, 30), vn(2024, 6, 3, 13, 30)),  # closing of the morning: lunch break
        (vn(2024, 6, 3, 12, 0), vn(2024, 6, 3, 13, 30)),  # lunch break
        (vn(2024, 6, 3, 17, 0), vn(2024, 6, 4, 7, 0)),  # at closing
        (vn(2024, 6, 3, 19, 45), vn(2024, 6, 4, 7, 0)),  # after closing
        (vn(2024, 6, 8, 10, 0), vn(2024, 6, 10, 7, 0)),  # Saturday
        (vn(2024, 4, 27, 10, 0), vn(2024, 5, 2, 7, 0)),  # Saturday before the 29/4–1/5 days off
    ],
)
def test_effective_start(received: datetime, start: datetime) -> None:
    assert CAL.effective_start(received) == start


def test_cutoff_moves_late_receptions_to_the_next_working_day() -> None:
    cutoff = time(15, 0)
    assert CAL.effective_start(vn(2024, 6, 3, 15, 30), cutoff) == vn(2024, 6, 4, 7)
    assert CAL.effective_start(vn(2024, 6, 3, 15, 0), cutoff) == vn(2024, 6, 3, 15)
    assert CAL.effective_start(vn(2024, 6, 7, 16, 0), cutoff) == vn(2024, 6, 10, 7)
    assert due(vn(2024, 6, 3, 15, 30), 0, WD, cutoff) == vn(2024, 6, 4, 17)
    assert due(vn(2024, 6, 3, 15, 30), 0, WD) == vn(2024, 6, 3, 17)
    assert due(vn(2024, 6, 3, 15, 30), 1, WD, cutoff) == vn(2024, 6, 4, 17)


@pytest.mark.parametrize("received", [vn(2024, 6, 3, 9), vn(2024, 6, 8, 9)], ids=["weekday", "saturday"])
def test_cutoff_must_be_a_naive_time(received: datetime) -> None:
    with pytest.raises(InvalidInput) as caught:
        CAL.effective_start(received, time(15, tzinfo=UTC))
    assert caught.value.field == "cutoff"


# -- due instants -----------------------------------------------------------------------------------------


def test_due_exactly_at_closing_stays_there() -> None:
    assert due(vn(2024, 6, 3, 7), 1, WD) == vn(2024, 6, 3, 17)
    assert due(vn(2024, 6, 3, 7), 2, WD) == vn(2024, 6, 4, 17)
    assert due(vn(2024, 6, 3, 10, 30), 1, WH) == vn(2024, 6, 3, 11, 30)


def test_working_hours_skip_the_lunch_break() -> None:
    assert due(vn(2024, 6, 3, 11), 1, WH) == vn(2024, 6, 3, 14)
    assert due(vn(2024, 6, 3, 12), 1, WH) == vn(2024, 6, 3, 14, 30)
    assert due(vn(2024, 6, 3, 16), 2, WH) == vn(2024, 6, 4, 8)
    assert due(vn(2024, 6, 3, 9), 0, WH) == vn(2024, 6, 3, 9)


def test_zero_working_days_is_within_the_day() -> None:
    assert Duration(0, WD).label == "trong ngày"
    assert due(vn(2024, 6, 3, 9), 0, WD) == vn(2024, 6, 3, 17)
    assert due(vn(2024, 6, 3, 18), 0, WD) == vn(2024, 6, 4, 17)
    assert due(vn(2024, 6, 8, 9), 0, WD) == vn(2024, 6, 10, 17)


def test_working_days_before_opening_and_on_weekend() -> None:
    assert due(vn(2024, 6, 3, 6), 1, WD) == vn(2024, 6, 3, 17)
    assert due(vn(2024, 6, 8, 10), 1, WD) == vn(2024, 6, 10, 17)
    assert due(vn(2024, 6, 7, 16), 1, WD) == vn(2024, 6, 10, 16)


def test_calendar_days() -> None:
    # Lands on a working day: same clock time.
    assert due(vn(2024, 6, 3, 9), 3, CD) == vn(2024, 6, 6, 9)
    # Fri 26/4 09:00 + 3 days = Mon 29/4, off; 30/4 and 1/5 off too → Thu 2/5 09:00.
    assert due(vn(2024, 4, 26, 9), 3, CD) == vn(2024, 5, 2, 9)
    # Lands on a Sunday → Monday.
    assert due(vn(2024, 6, 5, 14), 4, CD) == vn(2024, 6, 10, 14)
    # Counted from the effective start: received Saturday → Monday 07:00 + 2 days.
    assert due(vn(2024, 6, 8, 10), 2, CD) == vn(2024, 6, 12, 7)


def test_long_deadline_crosses_the_year() -> None:
    # Fri 29/12/2023 16:00: 1 h that day, Mon 1/1/2024 off, Tue 2/1–Fri 5/1 32 h, Mon 8/1 7 h = 40 h.
    assert due(vn(2023, 12, 29, 16), 5, WD) == vn(2024, 1, 8, 16)


def test_working_days_equal_eight_working_hours() -> None:
    for amount in (1, 5, 30, 250):
        received = vn(2024, 3, 14, 10, 20)
        assert due(received, amount, WD) == due(received, 8 * amount, WH)


def test_250_working_days() -> None:
    result = due(vn(2023, 1, 3, 9), 250, WD)
    assert CAL.elapsed_working(vn(2023, 1, 3, 9), result) == timedelta(hours=8 * 250)
    assert result.year == 2024


def test_custom_office_hours() -> None:
    hours = OfficeHours(((time(7, 30), time(12)), (time(13), time(16, 30))))
    office = WorkingCalendar(hours)
    assert hours.day_length == timedelta(hours=8)
    assert office.due(vn(2024, 6, 3, 7), Duration(0, WD)) == vn(2024, 6, 3, 16, 30)
    assert office.effective_start(vn(2024, 6, 3, 7)) == vn(2024, 6, 3, 7, 30)
    assert office.due(vn(2024, 6, 3, 11), Duration(2, WH)) == vn(2024, 6, 3, 14)


# -- working-time arithmetic ------------------------------------------------------------------------------


def test_elapsed_working() -> None:
    assert CAL.elapsed_working(vn(2024, 4, 26, 16, 10), vn(2024, 5, 4, 16, 10)) == timedelta(hours=24)
    assert CAL.elapsed_working(vn(2024, 6, 3, 11), vn(2024, 6, 3, 14)) == timedelta(hours=1)
    assert CAL.elapsed_working(vn(2024, 6, 3, 14), vn(2024, 6, 3, 11)) == timedelta(0)
    assert CAL.elapsed_working(vn(2024, 6, 8), vn(2024, 6, 9, 23)) == timedelta(0)


def test_subtract_working() -> None:
    appointment = vn(2024, 5, 4, 16, 10)
    assert CAL.subtract_working(appointment, timedelta(hours=8)) == vn(2024, 5, 3, 16, 10)
    # One working day before Wed 17:00 is Wed 07:00 (the latest instant with a full day left).
    assert CAL.subtract_working(vn(2024, 6, 5, 17), timedelta(hours=8)) == vn(2024, 6, 5, 7)
    # A duty due a working day before Wed 17:00 is due Tue 17:00 (the earliest instant): the day before by dates.
    assert CAL.deadline_before(vn(2024, 6, 5, 17), timedelta(hours=8)) == vn(2024, 6, 4, 17)
    assert CAL.deadline_before(vn(2024, 6, 5, 15, 30), timedelta(hours=2)) == vn(2024, 6, 5, 13, 30)  # one date
    assert CAL.deadline_before(vn(2024, 6, 3, 17), timedelta(hours=8)) == vn(2024, 5, 31, 17)  # Mon → Fri
    assert CAL.deadline_before(appointment, timedelta(hours=8)) == vn(2024, 5, 3, 16, 10)  # inside a day: as before
    assert CAL.deadline_before(appointment, timedelta(0)) == appointment
    # At an opening, the latest: one working day before Tue 07:00 is Mon 07:00, not Fri 17:00 (two dates early).
    assert CAL.deadline_before(vn(2024, 6, 4, 7), timedelta(hours=8)) == vn(2024, 6, 3, 7)
    assert CAL.deadline_before(vn(2024, 6, 5, 11, 30), timedelta(hours=8)) == vn(2024, 6, 4, 11, 30)  # not 13:30
    assert CAL.deadline_before(vn(2024, 6, 5, 13, 30), timedelta(hours=8)) == vn(2024, 6, 4, 13, 30)  # not 11:30
    assert CAL.subtract_working(vn(2024, 5, 2, 8), timedelta(hours=2)) == vn(2024, 4, 26, 16)
    assert CAL.subtract_working(appointment, timedelta(0)) == appointment


def test_subtract_reaches_back_before_the_indexed_years() -> None:
    fresh = WorkingCalendar()
    end = vn(2025, 3, 3, 9)
    start = fresh.subtract_working(end, timedelta(hours=8 * 600))
    assert start.year == 2022
    assert fresh.elapsed_working(start, end) == timedelta(hours=8 * 600)


def test_naive_datetimes_are_vietnam_time() -> None:
    assert CAL.add_working(datetime(2024, 6, 3, 9), timedelta(hours=1)) == vn(2024, 6, 3, 10)


# -- validation -------------------------------------------------------------------------------------------


def test_duration_validation() -> None:
    with pytest.raises(InvalidInput, match="negative"):
        Duration(-1, WD)
    with pytest.raises(InvalidInput, match="whole number"):
        Duration(True, WD)
    with pytest.raises(InvalidInput, match="unknown unit"):
        Duration(1, "fortnights")  # type: ignore[arg-type]  # the point: a bad unit is refused
    assert Duration(2, "working_hours").unit is WH  # type: ignore[arg-type]  # a str value is coerced
    assert Duration(3, CD).label == "3 ngày"


@pytest.mark.parametrize(
    "intervals",
    [
        (),
        ((time(9), time(8)),),
        ((time(13), time(17)), (time(7), time(11))),
        ((time(7), time(12)), (time(11), time(17))),
        ((time(7), time(12)), (time(12), time(17))),
        ((time(7, tzinfo=UTC), time(12)),),
    ],
    ids=["empty", "backwards", "unordered", "overlapping", "touching", "aware"],
)
def test_office_hours_validation(intervals: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(InvalidInput) as caught:
        OfficeHours(intervals)
    assert caught.value.field == "office_hours"


def test_negative_amounts_and_unsupported_years_are_refused() -> None:
    with pytest.raises(InvalidInput, match="negative"):
        CAL.add_working(vn(2024, 6, 3, 9), timedelta(hours=-1))
    with pytest.raises(InvalidInput, match="negative"):
        CAL.subtract_working(vn(2024, 6, 3, 9), timedelta(hours=-1))
    with pytest.raises(InvalidInput, match="2101"):
        due(vn(2100, 12, 1, 9), 30, WD)
    with pytest.raises(InvalidInput, match="1900"):
        CAL.is_working_day(date(1900, 6, 1))
    with pytest.raises(InvalidInput, match="beyond"):
        due(vn(2024, 6, 3, 9), 10**12, WH)
    with pytest.raises(InvalidInput, match="beyond"):
        due(vn(2024, 6, 3, 9), 10**12, CD)
    with pytest.raises(InvalidInput, match="Duration"):
        CAL.due(vn(2024, 6, 3, 9), 3)  # type: ignore[arg-type]  # the point: a bare int is refused


# -- timeliness -------------------------------------------------------------------------------------------


def test_classify_compares_vietnam_dates() -> None:
    appointment = vn(2024, 5, 4, 16, 10)
    assert classify(vn(2024, 5, 3, 23, 59), appointment) is Timeliness.EARLY
    assert classify(vn(2024, 5, 4, 23, 59), appointment) is Timeliness.ON_TIME
    assert classify(vn(2024, 5, 5, 0, 1), appointment) is Timeliness.LATE
    # 23:30 UTC on 3/5 is 06:30 on 4/5 in Vietnam: same date, on time.
    assert classify(datetime(2024, 5, 3, 23, 30, tzinfo=UTC), appointment) is Timeliness.ON_TIME
    assert classify(vn(2030, 1, 1), None) is Timeliness.ON_TIME


def test_timeliness_labels() -> None:
    assert [item.label for item in Timeliness] == ["Trước hạn", "Đúng hạn", "Quá hạn"]
    assert Timeliness("late") is Timeliness.LATE


# -- one calendar shared by threads: the index grows while a count runs ---------------------------------


def _indexing_earlier_years_at(month: int, day: int) -> WorkingCalendar:
    """A calendar indexing only 2026 whose season callback, on `day` of `month`, asks about 2020: it stands for another
    worker thread making the calendar index earlier years in the middle of a count (the callback runs inside it)."""
    calendar: WorkingCalendar

    def season(at: date) -> OfficeHours | None:
        if (at.month, at.day) == (month, day):
            calendar.is_working_day(date(2020, 1, 2))
        return None

    calendar = WorkingCalendar(seasonal=season)
    calendar.is_working_day(date(2026, 6, 1))
    return calendar


def test_a_count_is_not_moved_by_earlier_years_indexed_meanwhile() -> None:
    calendar = _indexing_earlier_years_at(12, 7)

    assert calendar.add_working(vn(2026, 12, 7, 9), timedelta(hours=8)) == vn(2026, 12, 8, 9)


def test_elapsed_time_is_not_moved_by_earlier_years_indexed_meanwhile() -> None:
    calendar = _indexing_earlier_years_at(12, 8)

    assert calendar.elapsed_working(vn(2026, 12, 7, 9), vn(2026, 12, 8, 9)) == timedelta(hours=8)


def test_a_count_back_is_not_moved_by_earlier_years_indexed_meanwhile() -> None:
    calendar = _indexing_earlier_years_at(12, 8)

    assert calendar.subtract_working(vn(2026, 12, 8, 9), timedelta(hours=8)) == vn(2026, 12, 7, 9)


def test_a_count_ending_in_the_last_year_of_the_data_is_counted() -> None:
    """Extending the index by a safe guess of years must not step past the data's last year when the count ends
    before it: 240 working days from 21/12/2099 end in 2100, which the data covers."""
    calendar = WorkingCalendar()
    start = vn(2099, 12, 21, 9)

    end = calendar.add_working(start, timedelta(hours=8 * 240))

    assert end.year == 2100
    assert calendar.elapsed_working(start, end) == timedelta(hours=8 * 240)



def _special_days_while_indexing(calendar: WorkingCalendar, year: int) -> tuple[list[BaseException], bool]:
    """Lists `year`'s special days in one thread, over and over, while another indexes the years before it one by
    one (a report on each, as far back as 1980), both switching as often as the interpreter allows: the errors the
    listing raised, and whether every list it made was the single-threaded one."""
    expected = WorkingCalendar().special_days(year)
    failures: list[BaseException] = []
    same = [True]
    indexed = threading.Event()

    def list_special_days() -> None:
        try:
            while not indexed.is_set():
                same[0] = same[0] and calendar.special_days(year) == expected
        except RuntimeError as error:
            failures.append(error)

    def index_earlier_years() -> None:
        for earlier in range(year - 1, 1979, -1):
            calendar.is_working_day(date(earlier, 1, 2))
        indexed.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=list_special_days), threading.Thread(target=index_earlier_years)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    return failures, same[0]


def test_special_days_are_listed_while_another_thread_indexes_earlier_years() -> None:
    """Listing a year's special days read the holiday package while another worker thread, indexing earlier years,
    made it add theirs: 'dictionary changed size during iteration' failed a reception (its provisional days) or a
    calendar page. Real threads; a few calendars, each indexing only its year at first."""
    for _ in range(3):
        calendar = WorkingCalendar()
        calendar.special_days(2026)

        assert _special_days_while_indexing(calendar, 2026) == ([], True)
