"""A unit code with several versions counts each day on the version that day belongs to: a commune that kept its code
when its province was merged keeps its old province's hours and its old office's days off before the merger, and
takes the new ones after (:func:`motcua.definitions.units.unit_calendars`)."""

from __future__ import annotations

import shutil
from datetime import date, datetime, time
from pathlib import Path

import pytest

from motcua.definitions.offices import OFFICES_DIR
from motcua.definitions.units import load_units, unit_calendars
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.errors import InvalidDefinition
from motcua.workflow.worktime.calendar import WorkingCalendar
from motcua.workflow.worktime.hours import Duration, DurationUnit, OfficeHours

OLD_PROVINCE = """\
province:
  code: cu
  name: "Cũ"
  kind: tỉnh
  valid_to: 2025-06-30
  successor: moi
  seasons:
    - name: "Mùa hè"
      first_day: "04-01"
      last_day: "10-31"
      office_hours: [{start: "07:00", end: "11:30"}, {start: "13:30", end: "17:00"}]
    - name: "Mùa đông"
      first_day: "11-01"
      last_day: "03-31"
      office_hours: [{start: "07:30", end: "12:00"}, {start: "13:00", end: "16:30"}]
units:
  - code: KEPT
    name: "Giữ mã"
    kind: xã
    valid_to: 2025-06-30
    office: old-office
"""
NEW_PROVINCE = """\
province:
  code: moi
  name: "Mới"
  kind: thành phố
units:
  - code: KEPT
    name: "Giữ mã"
    kind: phường
    valid_from: 2025-07-01
{extra}"""
OLD_OFFICE = """\
label: "Một cửa cũ"
extra_days_off:
  - {date: 2025-03-10, name: "Nghỉ theo quyết định của tỉnh cũ"}
  - {date: 2025-09-10, name: "Nghỉ đã hủy khi hợp nhất"}
"""
ONE_DAY = Duration(1, DurationUnit.WORKING_DAYS)


def _register(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    units, offices = tmp_path / "units", tmp_path / "offices"
    units.mkdir()
    offices.mkdir()
    shutil.copy(OFFICES_DIR / "default.yaml", offices / "default.yaml")
    (offices / "old-office.yaml").write_text(OLD_OFFICE, encoding="utf-8")
    (units / "cu.yaml").write_text(OLD_PROVINCE, encoding="utf-8")
    (units / "moi.yaml").write_text(NEW_PROVINCE.format(extra=extra), encoding="utf-8")
    return units, offices


def _calendar(tmp_path: Path, extra: str = "") -> WorkingCalendar:
    units, offices = _register(tmp_path, extra)
    return unit_calendars(load_units(units, offices), offices)["KEPT"]


def test_each_day_is_counted_on_the_version_it_belongs_to(tmp_path: Path) -> None:
    calendar = _calendar(tmp_path)
    assert calendar.hours_on(date(2025, 1, 6)).intervals[0] == (time(7, 30), time(12, 0))  # the old winter
    assert calendar.hours_on(date(2025, 5, 5)).intervals[0] == (time(7, 0), time(11, 30))  # the old summer
    assert calendar.hours_on(date(2026, 1, 5)).intervals[0] == (time(7, 0), time(11, 30))  # the new all-year hours
    assert calendar.hours_on(date(2024, 12, 2)).intervals[0] == (time(7, 30), time(12, 0))  # before: the first's


def test_a_version_keeps_its_own_offices_days_off(tmp_path: Path) -> None:
    calendar = _calendar(tmp_path)
    assert not calendar.is_working_day(date(2025, 3, 10))
    assert calendar.is_working_day(date(2025, 9, 10))  # the old office's day, on a day the new version counts


def test_a_deadline_is_counted_on_the_hours_of_its_days(tmp_path: Path) -> None:
    """Received at 16:45 on a winter Monday of the old province: its office had closed at 16:30, so the count
    starts on Tuesday; under the new version's hours (closing at 17:00) it would have started the same day."""
    calendar = _calendar(tmp_path)
    assert calendar.effective_start(datetime(2025, 1, 6, 16, 45, tzinfo=VN_TZ)) == datetime(2025, 1, 7, 7, 30,
                                                                                           tzinfo=VN_TZ)
    assert calendar.effective_start(datetime(2026, 1, 5, 16, 45, tzinfo=VN_TZ)) == datetime(2026, 1, 5, 16, 45,
                                                                                           tzinfo=VN_TZ)
    assert calendar.due(datetime(2025, 6, 30, 16, 0, tzinfo=VN_TZ), ONE_DAY) == datetime(2025, 7, 1, 16, 0,
                                                                                         tzinfo=VN_TZ)


def test_a_version_whose_working_day_is_longer_or_shorter_is_refused_when_the_units_are_loaded(tmp_path: Path) -> None:
    short = """\
    seasons:
      - name: "Cả năm"
        first_day: "01-01"
        last_day: "12-31"
        office_hours: [{start: "07:30", end: "11:30"}, {start: "13:00", end: "16:30"}]
"""
    units, offices = _register(tmp_path, short)
    with pytest.raises(InvalidDefinition) as refused:  # when the units are loaded: `motcua units list` says it too
        load_units(units, offices)
    assert ("unit KEPT (phường Giữ mã, moi): a working day of 7:30:00, not 8:00:00 as its office hours count"
            in " | ".join(refused.value.problems))


def test_the_shipped_units_keep_one_working_day_length() -> None:
    calendars = unit_calendars(load_units())
    assert {calendar.hours.day_length for calendar in calendars.values()} == {OfficeHours().day_length}


def test_a_calendar_keeps_nothing_per_day_it_is_asked_about(tmp_path: Path) -> None:
    """Hours are read from the versions' tables at each ask: walking two centuries leaves the calendar as it was."""
    calendar = _calendar(tmp_path)
    before = len(vars(calendar))
    for year in range(1901, 2101):
        calendar.hours_on(date(year, 1, 2))
    assert len(vars(calendar)) == before and not any(
        isinstance(value, dict) and len(value) > 400 for value in vars(calendar).values())
