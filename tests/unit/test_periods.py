"""Reporting periods: calendar months, quarters and years, and the 15th-to-14th government cut-off."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.workflow.errors import InvalidInput
from motcua.workflow.reports.periods import FIRST_DAY, LAST_DAY, Period, parse_period, period_of


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2024-03", date(2024, 3, 1), date(2024, 3, 31)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2023-12", date(2023, 12, 1), date(2023, 12, 31)),
    ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2024-q4", date(2024, 10, 1), date(2024, 12, 31)),
    ("2024", date(2024, 1, 1), date(2024, 12, 31)),
])
def test_calendar_periods(text: str, start: date, end: date) -> None:
    assert parse_period(text) == Period(start, end)
    assert parse_period(text, 1) == Period(start, end)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2024-03", date(2024, 2, 15), date(2024, 3, 14)),
    ("2024-01", date(2023, 12, 15), date(2024, 1, 14)),
    ("2024-Q1", date(2023, 12, 15), date(2024, 3, 14)),
    ("2024-Q3", date(2024, 6, 15), date(2024, 9, 14)),
    ("2024", date(2023, 12, 15), date(2024, 12, 14)),
])
def test_the_cutoff_day_runs_from_the_15th_to_the_14th(text: str, start: date, end: date) -> None:
    assert parse_period(text, 15) == Period(start, end)


@pytest.mark.parametrize(("text", "option"), [
    ("2024-13", "--period"), ("2024-00", "--period"), ("2024-Q5", "--period"), ("24-03", "--period"),
    ("2024/03", "--period"), ("", "--period"), ("march", "--period"),
    ("٢٠٢٥", "--period"), ("२०२५-Q1", "--period"), ("２０２４-03", "--period"),  # digits of other scripts
    ("1990", "--period"), ("2199-Q4", "--period"), ("9999", "--period"), ("0001-01", "--period"),  # out of range
])
def test_bad_periods_name_the_option(text: str, option: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_period(text)
    assert raised.value.field == option


@pytest.mark.parametrize("day", [0, 29, 31, -1])
def test_a_cutoff_day_must_exist_in_every_month(day: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_period("2024-03", day)
    assert raised.value.field == "--cutoff-day"


def test_from_and_to_are_dates_inclusive() -> None:
    assert period_of("2024-01-05", "2024-01-05", None) == Period(date(2024, 1, 5), date(2024, 1, 5))


def test_a_report_covers_1990_to_2199() -> None:
    assert period_of(" 1990-01-01", "2199-12-31 ", None) == Period(FIRST_DAY, LAST_DAY)
    assert parse_period("1991", 15).start == date(1990, 12, 15) and parse_period("2198-12").end == date(2198, 12, 31)
    with pytest.raises(InvalidInput, match="outside the days motcua takes"):
        Period(date(2024, 1, 1), date.max)  # constructed directly too


@pytest.mark.parametrize(("start", "end", "period", "cutoff", "option"), [
    ("2024-01-01", None, "2024-03", None, "--period"),  # exclusive
    (None, "2024-01-31", "2024-03", None, "--period"),
    ("2024-01-01", None, None, None, "--to"),
    (None, "2024-01-31", None, None, "--from"),
    (None, None, None, None, "--from"),
    ("2024-02-30", "2024-03-01", None, None, "--from"),
    ("2024-03-01", "1/3/2024", None, None, "--to"),
    ("2024-03-02", "2024-03-01", None, None, "--to"),  # ends before it starts
    ("2024-03-01", "2024-03-31", None, 15, "--cutoff-day"),  # the cut-off shapes named periods only
    ("20240301", "2024-03-31", None, None, "--from"),  # ISO 8601 forms other than YYYY-MM-DD
    ("2024-W09-5", "2024-03-31", None, None, "--from"),
    ("٢٠٢٤-03-01", "2024-03-31", None, None, "--from"),
    ("2000-01-01", "9999-12-31", None, None, "--to"),  # the stores' "not ended yet" day: never a report's
    ("1989-12-31", "2024-03-31", None, None, "--from"),
    ("2024-03-01", "2200-01-01", None, None, "--to"),
])
def test_bad_option_combinations_name_the_option(
    start: str | None, end: str | None, period: str | None, cutoff: int | None, option: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        period_of(start, end, period, cutoff)
    assert raised.value.field == option
