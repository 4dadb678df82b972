"""The engine benchmark runs end to end at tiny sizes on memory and SQLite. Timing is never asserted."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Mapping

import pytest

from bench import engine as bench_engine

UNREACHABLE = "postgresql://root@127.0.0.1:1/nowhere"  # refused at once: the PostgreSQL figures become null
MEASURED = (
    "inmemory_ratio", "inmemory_engine_us", "inmemory_transitions_us", "statemachine_us",
    "sqlite_ratio", "sqlite_engine_per_s", "sqlite_floor_per_s", "sqlite_engine_ms", "statemachine_ratio",
)
POSTGRES = tuple(
    f"{kind}_{clients}" for clients in (1, 8)
    for kind in ("postgres_ratio", "postgres_engine_per_s", "postgres_floor_per_s")
)


@pytest.fixture(scope="module")
def report(frozen_heap: None) -> Mapping[str, object]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        bench_engine.main(["--quick", "--json", "--postgres", UNREACHABLE])
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_every_measured_figure_is_a_positive_number(report: Mapping[str, object]) -> None:
    for key in MEASURED:
        value = report[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, key


def test_memory_growth_is_reported_and_machines_hold_no_models(report: Mapping[str, object]) -> None:
    growth = report["memory_per_case_bytes"]
    assert isinstance(growth, float) and math.isfinite(growth)  # a slope: noise may put it at or below 0
    assert isinstance(report["memory_engine_per_case_bytes"], float)
    assert report["memory_cases"] == list(bench_engine.QUICK.memory_cases)
    assert report["machines_hold_models"] is False


def test_the_floor_wrote_chains_that_verify(report: Mapping[str, object]) -> None:
    assert report["sqlite_chains_intact"] is True


def test_unreachable_postgres_gives_nulls_and_a_note(report: Mapping[str, object]) -> None:
    assert all(report[key] is None for key in (*POSTGRES, "postgres_chains_intact"))
    notes = report["notes"]
    assert isinstance(notes, list) and any("NOT REACHABLE" in note for note in notes)


def test_every_target_is_checked(report: Mapping[str, object]) -> None:
    checks = report["checks"]
    assert isinstance(checks, dict)
    assert set(checks) == {*bench_engine.TARGETS, "machines_hold_models"}
    assert all(check["met"] in (True, False, None) for check in checks.values())
    assert checks["postgres_ratio_1"]["met"] is None


def test_machine_and_pragmas_are_described(report: Mapping[str, object]) -> None:
    machine = report["machine"]
    assert isinstance(machine, dict)
    assert {"platform", "python", "cpu_count", "date", "pragmas", "versions"} <= set(machine)
    pragmas = machine["pragmas"]
    assert pragmas["store"] == pragmas["floor"]
    assert pragmas["store"]["journal_mode"] == "wal"


def test_the_table_names_every_figure_and_verdict(report: Mapping[str, object]) -> None:
    table = bench_engine.render_table(report)
    for label in ("in-memory decision", "SQLite", "PostgreSQL, 8", "statemachine", "heap growth", "met?"):
        assert label in table
