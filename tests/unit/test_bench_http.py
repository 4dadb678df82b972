"""The HTTP benchmark runs end to end at tiny sizes against a real ``motcua serve``. Timing is never asserted."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Mapping

import pytest

from bench import http as bench_http


@pytest.fixture(scope="module")
def report() -> Mapping[str, object]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_http.main(["--quick", "--json"])
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_every_figure_is_a_positive_number(report: Mapping[str, object]) -> None:
    n = bench_http.QUICK.clients
    for key in ("http_events_per_s", "floor_fire_per_s", "ratio", f"http_events_per_s_{n}",
                f"floor_fire_per_s_{n}", f"ratio_{n}"):
        value = report[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, key


def test_the_ratio_is_http_over_the_floor(report: Mapping[str, object]) -> None:
    assert report["ratio"] == pytest.approx(report["http_events_per_s"] / report["floor_fire_per_s"])  # type: ignore[operator]


def test_machine_and_table_are_described(report: Mapping[str, object]) -> None:
    assert report["database"] == "sqlite" and report["clients"] == bench_http.QUICK.clients
    machine = report["machine"]
    assert isinstance(machine, dict) and {"platform", "python", "cpu_count", "date"} <= set(machine)
    table = bench_http.render_table(report)
    assert "POST /dossiers/{code}/events per s" in table and "ratio http / floor" in table
