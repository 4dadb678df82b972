"""The reports benchmark runs end to end in quick mode on SQLite. Timing is never asserted."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Mapping
from typing import Any

import pytest

from bench import reports as bench_reports
from motcua.definitions.catalogue import load_procedures


@pytest.fixture(scope="module")
def report() -> Mapping[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_reports.main(["--quick", "--json", "--no-postgres"])
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_every_sqlite_figure_is_a_positive_number(report: Mapping[str, Any]) -> None:
    figures = report["sqlite"]
    for key in ("bieu06_ms", "bare_scan_ms", "bieu06_ratio", "par766_ms", "load_seconds", "catch_up_seconds",
                "catch_up_entries_per_s"):
        assert isinstance(figures[key], float) and math.isfinite(figures[key]) and figures[key] > 0, key


def test_the_generated_year_keeps_the_identity_and_the_catch_up_matches_the_reference(
    report: Mapping[str, Any],
) -> None:
    figures = report["sqlite"]
    assert figures["identity_holds"] is True
    fields = {procedure.field_code for procedure in load_procedures()}  # one Biểu 06 row per field of the catalogue
    assert figures["year_total"] > 0 and figures["year_rows"] == len(fields)
    assert figures["matches_reference"] is True
    assert figures["catch_up_entries"] >= bench_reports.QUICK.seeded * 6  # received … returned: six entries each


def test_postgres_skipped_is_null_with_a_note(report: Mapping[str, Any]) -> None:
    assert report["postgres"] is None
    assert any("PostgreSQL skipped" in note for note in report["notes"])
    assert report["checks"]["postgres_bieu06_ratio"]["met"] is None
    assert report["checks"]["sqlite_bieu06_ratio"]["met"] in (True, False)


def test_machine_and_date_are_printed(report: Mapping[str, Any]) -> None:
    assert {"platform", "python", "cpu_count", "date", "sqlite"} <= set(report["machine"])
    assert report["dossiers"] == bench_reports.QUICK.dossiers


def test_the_table_names_the_figures(report: Mapping[str, Any]) -> None:
    table = bench_reports.render_table(report)
    assert "bare scan" in table and "entries/s" in table and "postgres: n/a" in table
