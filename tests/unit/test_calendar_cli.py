"""``motcua calendar due`` and ``motcua calendar days``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from motcua.definitions.offices import load_office
from motcua.entrypoints.cli import calendar_cmd
from motcua.entrypoints.cli.calendar_cmd import calendar_app

RUNNER = CliRunner()
FIXTURE_OFFICES = Path(__file__).resolve().parents[1] / "fixtures" / "offices"


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
        (("--received", "2025-12-31T10:00", "--working-days", "1"), "2026-01-05T10:00:00+07:00"),
        (
            ("--received", "2025-12-31T10:00", "--working-days", "1", "--office", "an-thuong"),
            "2026-01-05T10:00:00+07:00",
        ),
    ],
    ids=["utc-input", "working-hours", "calendar-days", "cutoff", "no-cutoff", "new-year-2026-swap", "office"],
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


def test_days_2026_show_the_new_year_swap_with_its_source() -> None:
    result = RUNNER.invoke(calendar_app, ["days", "2026"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("│")}
    for day in ("2026-01-02", "2026-01-10"):
        assert "Công văn 12729/VPCP-KGVX ngày 25/12/2025" in lines[day] and "Tạm tính" not in lines[day]
    assert "Làm bù" in lines["2026-01-10"] and "Thứ Bảy" in lines["2026-01-10"]
    assert "Tạm tính" in lines["2026-11-24"]
    assert "Nguồn" in result.stdout


def test_days_as_json_mark_sources_and_provisional_days() -> None:
    code, out, _ = run("days", "2026", "--format", "json")
    assert code == 0
    days = {item["date"]: item for item in json.loads(out)["days"]}
    swap = days["2026-01-02"]
    assert (swap["kind"], swap["working"], swap["origin"], swap["provisional"]) == ("day_off", False, "national", False)
    assert (swap["source_number"], swap["source_signed"]) == ("12729/VPCP-KGVX", "2025-12-25")
    assert (days["2026-01-10"]["kind"], days["2026-01-10"]["working"]) == ("make_up", True)
    assert [day for day, item in days.items() if item["provisional"]] == ["2026-11-24"]
    code, out, _ = run("days", "2027", "--format", "json")
    provisional = [item["date"] for item in json.loads(out)["days"] if item["provisional"]]
    assert "2027-02-05" in provisional and "2027-01-01" not in provisional


def test_days_of_an_office_show_its_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendar_cmd, "load_office", lambda name: load_office(name, FIXTURE_OFFICES))
    code, out, _ = run("days", "2027", "--office", "vi-du-hoan-doi")
    assert code == 0
    assert "2027-02-03" in out and "2027-02-20" in out
    assert "Văn phòng ví dụ" in out
    code, out, _ = run("days", "2027", "--office", "vi-du-hoan-doi", "--format", "json")
    office_days = {day["date"]: day for day in json.loads(out)["days"] if day["origin"] == "office"}
    assert {day: (item["kind"], item["working"]) for day, item in office_days.items()} == {
        "2027-02-03": ("day_off", False), "2027-02-20": ("make_up", True),
    }
    code, out, _ = run("due", "--received", "2027-02-02T15:00", "--working-days", "1", "--office", "vi-du-hoan-doi")
    assert (code, out) == (0, "2027-02-11T15:00:00+07:00\n")


@pytest.mark.parametrize(("args", "named"), [(("abc",), "YEAR"), (("2024", "--office", "x"), "office")])
def test_days_bad_input(args: tuple[str, ...], named: str) -> None:
    code, _, err = run("days", *args)
    assert code == 2
    assert named in err and err.count("\n") == 1
