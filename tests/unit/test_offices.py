"""Per-office calendar settings loaded from YAML."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from motcua.definitions.offices import OFFICES_DIR, load_office, load_office_file, office_names
from motcua.workflow.errors import InvalidDefinition, InvalidInput
from motcua.workflow.worktime.calendar import VN_TZ, Duration, DurationUnit, OfficeHours

FIXTURE_OFFICES = Path(__file__).resolve().parents[1] / "fixtures" / "offices"
HOURS = """\
office_hours:
  - start: "07:00"
    end: "11:30"
  - start: "13:30"
    end: "17:00"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(InvalidDefinition) as caught:
        load_office_file(path)
    assert caught.value.source == str(path)
    return " | ".join(caught.value.problems)


def test_shipped_offices_load() -> None:
    assert {"default", "an-thuong"} <= set(office_names())
    for name in office_names():
        settings = load_office(name)
        assert settings.name == name
        assert settings.source == str(OFFICES_DIR / f"{name}.yaml")


def test_default_office_has_the_production_hours_and_no_overrides() -> None:
    settings = load_office()
    assert settings.hours == OfficeHours()
    assert settings.hours.day_length == timedelta(hours=8)
    assert not settings.overrides.extra_days_off
    assert not settings.overrides.extra_working_days
    assert not settings.overrides.removed_days_off
    received = datetime(2024, 4, 26, 16, 10, tzinfo=VN_TZ)
    due = settings.calendar().due(received, Duration(3, DurationUnit.WORKING_DAYS))
    assert due == datetime(2024, 5, 4, 16, 10, tzinfo=VN_TZ)


def test_an_thuong_keeps_its_hours_and_the_national_days_only() -> None:
    settings = load_office("an-thuong")
    assert settings.hours.intervals == ((time(7, 30), time(12)), (time(13), time(16, 30)))
    assert not settings.overrides.extra_days_off
    assert not settings.overrides.extra_working_days
    assert not settings.overrides.removed_days_off


def test_example_office_overrides_hours_and_days() -> None:
    """The invented 2027 swap of a test fixture office (real offices carry no invented days)."""
    settings = load_office("vi-du-hoan-doi", FIXTURE_OFFICES)
    assert settings.hours.intervals == ((time(7, 30), time(12)), (time(13), time(16, 30)))
    assert settings.overrides.extra_days_off[date(2027, 2, 3)].startswith("Nghỉ")
    calendar = settings.calendar()
    assert not calendar.is_working_day(date(2027, 2, 3))
    assert calendar.is_working_day(date(2027, 2, 20))
    received = datetime(2027, 2, 2, 15, tzinfo=VN_TZ)
    # 1.5 h left on 2/2 (until 16:30), 3/2 off (office), 4/2–10/2 Tết → 6.5 h on Thu 11/2: 15:00.
    assert calendar.due(received, Duration(1, DurationUnit.WORKING_DAYS)) == datetime(2027, 2, 11, 15, tzinfo=VN_TZ)
    default_due = load_office().calendar().due(received, Duration(1, DurationUnit.WORKING_DAYS))
    assert default_due == datetime(2027, 2, 3, 15, tzinfo=VN_TZ)


def test_yes_no_on_off_stay_strings_and_unquoted_times_work(tmp_path: Path) -> None:
    text = """\
label: no
office_hours:
  - {start: 07:00, end: 11:30}
  - {start: 13:30, end: 17:00}
extra_days_off:
  - {date: 2027-02-03, name: on}
"""
    write(tmp_path, "yaml-words", text)
    settings = load_office("yaml-words", tmp_path)
    assert settings.label == "no"
    assert settings.hours == OfficeHours()
    assert settings.overrides.extra_days_off == {date(2027, 2, 3): "on"}


def test_optional_lists_and_hours_default(tmp_path: Path) -> None:
    settings = load_office_file(write(tmp_path, "minimal", "label: Xã Thử\n"))
    assert settings.hours == OfficeHours()
    assert settings.label == "Xã Thử"


def test_removed_day_off_is_worked(tmp_path: Path) -> None:
    text = 'label: "Xã Thử"\nremoved_days_off:\n  - date: 2024-04-29\n    reason: "Trực tiếp dân"\n'
    calendar = load_office_file(write(tmp_path, "removed", text)).calendar()
    assert calendar.is_working_day(date(2024, 4, 29))


def test_unknown_field_is_named(tmp_path: Path) -> None:
    message = problems_of(write(tmp_path, "typo", "label: X\nextra_day_off: []\n"))
    assert "extra_day_off" in message


def test_unknown_field_inside_an_entry_is_named(tmp_path: Path) -> None:
    text = "label: X\nextra_days_off:\n  - {date: 2027-02-03, name: Nghỉ, why: x}\n"
    assert "extra_days_off.0.why" in problems_of(write(tmp_path, "entry", text))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('office_hours:\n  - {start: "7:00", end: "11:30"}\n', "office_hours.0.start"),
        ("office_hours:\n  - {start: 420, end: 690}\n", "office_hours.0.start"),
        ("office_hours: []\n", "office_hours"),
        ("extra_days_off:\n  - {date: 20270203, name: Nghỉ}\n", "extra_days_off.0.date"),
        ("extra_days_off:\n  - {date: 2027-02-30, name: Nghỉ}\n", "invalid date '2027-02-30'"),
        ('extra_days_off:\n  - {date: 2027-02-03, name: ""}\n', "extra_days_off.0.name"),
        ("removed_days_off:\n  - {date: 2024-04-29}\n", "removed_days_off.0.reason"),
    ],
    ids=["short-time", "number-time", "no-hours", "number-date", "bad-date", "empty-name", "no-reason"],
)
def test_bad_values_name_the_field(tmp_path: Path, body: str, field: str) -> None:
    assert field in problems_of(write(tmp_path, "bad", "label: X\n" + body))


def test_missing_label(tmp_path: Path) -> None:
    assert "label" in problems_of(write(tmp_path, "nolabel", HOURS))


def test_overlapping_hours(tmp_path: Path) -> None:
    text = 'label: X\noffice_hours:\n  - {start: "07:00", end: "12:00"}\n  - {start: "11:00", end: "17:00"}\n'
    assert "office_hours" in problems_of(write(tmp_path, "overlap", text))


def test_repeated_date(tmp_path: Path) -> None:
    text = "label: X\nextra_days_off:\n  - {date: 2027-02-03, name: A}\n  - {date: 2027-02-03, name: B}\n"
    message = problems_of(write(tmp_path, "twice", text))
    assert "extra_days_off" in message and "2027-02-03" in message


def test_day_both_off_and_worked(tmp_path: Path) -> None:
    text = (
        "label: X\nextra_days_off:\n  - {date: 2027-02-03, name: A}\n"
        "extra_working_days:\n  - {date: 2027-02-03, name: B}\n"
    )
    message = problems_of(write(tmp_path, "clash", text))
    assert "extra_working_days" in message and "2027-02-03" in message


def test_removing_a_day_the_package_does_not_list(tmp_path: Path) -> None:
    text = "label: X\nremoved_days_off:\n  - {date: 2025-05-03, reason: nhầm}\n"
    message = problems_of(write(tmp_path, "nothing", text))
    assert "removed_days_off" in message and "2025-05-03" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("label: [unclosed\n", "YAML syntax error"),
        ("- just\n- a list\n", "(document)"),
        ("label: A\nlabel: B\n", "duplicate key"),
    ],
    ids=["syntax", "not-a-mapping", "duplicate-key"],
)
def test_malformed_documents(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problems_of(write(tmp_path, "broken", text))


def test_unknown_office_is_invalid_input(tmp_path: Path) -> None:
    write(tmp_path, "alpha", "label: A\n")
    with pytest.raises(InvalidInput) as caught:
        load_office("beta", tmp_path)
    assert caught.value.field == "office"
    assert "beta" in caught.value.message and "alpha" in caught.value.message


@pytest.mark.parametrize("name", ["../default", "Default", "", "a/b"])
def test_office_names_cannot_escape_the_directory(name: str) -> None:
    with pytest.raises(InvalidInput, match="office name"):
        load_office(name)
