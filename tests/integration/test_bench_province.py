"""The province benchmark runs end to end in quick mode on PostgreSQL (and SQLite for the demo). Timing is never
asserted: what is checked is that every figure is measured, that motcua and the floor read the same pages, that
the province's report is the sum of its units', and that the scratch databases are gone afterwards."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Mapping
from typing import Any

import psycopg
import pytest

from bench import province as bench_province
from tests.services import postgres_url, require_postgres

pytestmark = pytest.mark.integration


def _databases() -> set[str]:
    with psycopg.connect(postgres_url("postgres"), autocommit=True) as connection:
        found = connection.execute("SELECT datname FROM pg_database WHERE datname LIKE 'motcua_bench_province_%'")
        return {str(row[0]) for row in found.fetchall()}


@pytest.fixture(scope="module")
def report(frozen_heap: None) -> Mapping[str, Any]:
    require_postgres()
    before = _databases()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_province.main(["--quick", "--json", "--postgres", postgres_url()])
    result: dict[str, Any] = json.loads(out.getvalue())
    result["left_behind"] = sorted(_databases() - before)
    return result


def _positive(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_find_is_timed_at_each_size_on_full_pages_equal_to_the_bare_select(report: Mapping[str, Any]) -> None:
    sizes = report["find"]["sizes"]
    assert [figures["cases"] for figures in sizes.values()] == list(bench_province.QUICK.cases)
    for figures in sizes.values():
        for key in ("motcua_p50_ms", "motcua_p99_ms", "bare_p50_ms", "bare_p99_ms", "ratio_p50", "ratio_p99"):
            assert _positive(figures[key]), key
        assert figures["same_pages"] is True and figures["full_pages"] is True
        assert "ix_case_unit_lifecycle_code" in figures["plan"]
    assert _positive(report["find"]["find_growth_p50"])


def test_bieu06_of_the_province_is_the_sum_of_its_units(report: Mapping[str, Any]) -> None:
    figures = report["bieu06"]
    assert figures["units_add_up"] is True and figures["identity_holds"] is True
    assert figures["year_total"] > 0
    for key in ("bieu06_province_ms", "bare_province_ms", "bieu06_unit_ms", "bare_unit_ms"):
        assert _positive(figures[key]), key


def test_the_demo_is_measured_against_its_floor_on_both_databases(report: Mapping[str, Any]) -> None:
    for backend in ("postgres", "sqlite"):
        figures = report["demo"][backend]
        assert figures["dossiers"] == bench_province.QUICK.demo_dossiers
        assert figures["transitions"] > figures["dossiers"]
        assert figures["units_add_up"] is True
        for key in ("seconds", "transitions_per_s", "floor_transitions_per_s", "ratio"):
            assert _positive(figures[key]), (backend, key)


def test_every_target_is_checked_and_the_machine_is_described(report: Mapping[str, Any]) -> None:
    assert set(report["checks"]) == set(bench_province.TARGETS)
    assert all(check["met"] in (True, False) for check in report["checks"].values())
    assert {"platform", "cpu_count", "date", "server", "load_average"} <= set(report["machine"])
    table = bench_province.render_table(report)
    assert "find(): first page" in table and "bare GROUP BY" in table and "province demo on postgres" in table


def test_the_scratch_databases_are_dropped(report: Mapping[str, Any]) -> None:
    assert report["left_behind"] == []
