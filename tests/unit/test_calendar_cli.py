"""``motcua calendar due`` and ``motcua calendar days``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from motcua.entrypoints.cli.calendar_cmd import calendar_app

RUNNER = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(calendar_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_due_prints_only_the_instant() -> None:
    code, out, err = run("due", "--received", "2024-04-26T16:10", "--working-days", "3")
    assert (code, out, err) == (0, "2024-05-04T16:10:00+07:00\n", "")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--received", "2024-04-26T09:10:00+00:00", "--working-days", "3"), "2024-05-04T16:10:00+07:00"),
        (("--received", "2024-06-03T11:00", "--working-hours", "1"), "2024-06-03T14:00:00+07:00"),
        (("--received", "2024-04-26T09:00", "--calendar-days", "3"), "2024-05-02T09:00:00+07:00"),
        (("--received", "2024-06-03T15:30", "--working-days", "0", "--cutoff", "15:00"), "2024-06-04T17:00:00+07:00"),
        (("--received", "2024-06-03T15:30", "--working-days", "0"), "2024-06-03T17:00:00+07:00"),
        (
            ("--received", "2027-02-02T15:00", "--working-days", "1", "--office", "an-thuong"),
            "2027-02-11T15:00:00+07:00",
        ),
    ],
    ids=["utc-input", "working-hours", "calendar-days", "cutoff", "no-cutoff", "office"],
)
def test_due_variants(args: tuple[str, ...], expected: str) -> None:
    code, out, _ = run("due", *args)
    assert code == 0
    assert out == expected + "\n"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--received", "2024-04-26T16:10", "--working-days", "-1"), "--working-days"),
        (("--received", "2024-04-26T16:10", "--working-hours", "two"), "--working-hours"),
        (("--received", "2024-04-26T16:10"), "duration"),
        (("--received", "2024-04-26T16:10", "--working-days", "1", "--calendar-days", "2"), "duration"),
        (("--received", "26/04/2024 16:10", "--working-days", "1"), "--received"),
        (
            (
                "--working-days",
                "1",
            ),
            "--received",
        ),
        (("--received", "2024-04-26T16:10", "--working-days", "1", "--cutoff", "3pm"), "--cutoff"),
        (("--received", "2024-04-26T16:10", "--working-days", "1", "--office", "nowhere"), "office"),
        (("--received", "2150-01-01T09:00", "--working-days", "1"), "2150"),
        (("--received", "2024-01-01T09:00", "--working-hours", "99999999999"), "duration"),
    ],
    ids=["negative", "not-a-number", "missing", "two", "timestamp", "no-received", "cutoff", "office", "year", "huge"],
)
def test_due_bad_input_exits_2_with_one_line(args: tuple[str, ...], named: str) -> None:
    code, out, err = run("due", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert named in err
    assert "Traceback" not in err


def test_days_lists_days_off_and_make_up_saturdays() -> None:
    code, out, err = run("days", "2024")
    assert code == 0, err
    for expected in ("2024-02-10", "Tết Nguyên Đán", "2024-04-29", "2024-05-04", "Làm bù", "Thứ Bảy", "2024-09-03"):
        assert expected in out
    assert "2024-06-03" not in out


def test_days_of_an_office_show_its_overrides() -> None:
    code, out, _ = run("days", "2027", "--office", "an-thuong")
    assert code == 0
    assert "2027-02-03" in out and "2027-02-20" in out
    assert "An Thượng" in out


@pytest.mark.parametrize(("args", "named"), [(("abc",), "YEAR"), (("2024", "--office", "x"), "office")])
def test_days_bad_input(args: tuple[str, ...], named: str) -> None:
    code, _, err = run("days", *args)
    assert code == 2
    assert named in err and err.count("\n") == 1
