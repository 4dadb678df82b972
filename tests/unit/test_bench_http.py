"""The HTTP benchmark runs end to end at tiny sizes against a real ``motcua serve``. Timing is never asserted."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench import http as bench_http
from bench._bare_asgi import bare_app
from motcua.adapters.bootstrap import open_motcua
from motcua.workflow.engine.clock import SystemClock


@pytest.fixture(scope="module")
def report(frozen_heap: None) -> Mapping[str, object]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_http.main(["--quick", "--json"])
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_every_figure_is_a_positive_number(report: Mapping[str, object]) -> None:
    n = bench_http.QUICK.clients
    for key in ("http_events_per_s", "floor_fire_per_s", "ratio", f"http_events_per_s_{n}",
                f"floor_fire_per_s_{n}", f"ratio_{n}", "bare_events_per_s", "bare_ratio", "http_over_bare",
                f"bare_events_per_s_{n}", f"bare_ratio_{n}", f"http_over_bare_{n}"):
        value = report[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, key


def test_the_ratio_is_http_over_the_floor(report: Mapping[str, object]) -> None:
    assert report["ratio"] == pytest.approx(report["http_events_per_s"] / report["floor_fire_per_s"])  # type: ignore[operator]


def test_the_bare_asgi_ceiling_is_measured_against_the_same_floor(report: Mapping[str, object]) -> None:
    n = bench_http.QUICK.clients
    for suffix, floor in (("", "floor_fire_per_s"), (f"_{n}", f"floor_fire_per_s_{n}")):
        bare, http = report[f"bare_events_per_s{suffix}"], report[f"http_events_per_s{suffix}"]
        assert report[f"bare_ratio{suffix}"] == pytest.approx(bare / report[floor])  # type: ignore[operator]
        assert report[f"http_over_bare{suffix}"] == pytest.approx(http / bare)  # type: ignore[operator]


def test_the_bare_app_fires_through_the_engine_and_answers_its_etag(tmp_path: Path) -> None:
    motcua = open_motcua(f"sqlite:///{tmp_path / 'bare.db'}", clock=SystemClock(), observers=[])
    try:
        code, version = bench_http._processing(motcua)
        client = TestClient(bare_app(motcua.service))  # no lifespan: uvicorn's "auto" goes without it too
        answer = client.post(f"/dossiers/{code}/events", headers={"If-Match": f'"{version}"'},
                             json={"trigger": "assign", "data": {"assignee": "Lê Thị Mai"}})
        assert answer.status_code == 200 and answer.headers["etag"] == f'"{version + 1}"'
        assert (answer.json()["code"], answer.json()["version"]) == (code, version + 1)
        assert answer.json()["state"]["lifecycle"] == "processing"
        assert motcua.service.get(code).attributes["assignee"] == "Lê Thị Mai"  # moved for real, by the engine
    finally:
        motcua.close()


def test_machine_and_table_are_described(report: Mapping[str, object]) -> None:
    assert report["database"] == "sqlite" and report["clients"] == bench_http.QUICK.clients
    assert report["workers"] == bench_http.QUICK.workers == 2  # the server's processes and the bare app's alike
    machine = report["machine"]
    assert isinstance(machine, dict) and {"platform", "python", "cpu_count", "date"} <= set(machine)
    table = bench_http.render_table(report)
    assert "POST /dossiers/{code}/events per s" in table and "ratio http / floor" in table
    assert "bare ASGI app per s (ceiling)" in table and "ratio http / bare" in table
