"""The demo benchmark runs end to end at a small size. Timing is never asserted, only that it is reported."""

from __future__ import annotations

import contextlib
import io
import json
import math

from bench import demo as bench_demo


def test_the_demo_benchmark_reports_its_time_beside_the_floor() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_demo.main(["--json", "--dossiers", "60"])
    report = json.loads(out.getvalue())
    for key in ("seconds", "dossiers_per_s", "transitions_per_s", "floor_transitions_per_s", "ratio"):
        assert isinstance(report[key], float) and math.isfinite(report[key]) and report[key] > 0, key
    assert report["dossiers"] == 60 and report["transitions"] > 60 * 5
    assert report["machine"]["cpu_count"]
