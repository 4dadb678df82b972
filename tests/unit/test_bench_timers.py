"""The timers benchmark runs end to end at quick sizes: a real PostgreSQL, a private redis-server, one
``motcua worker``. Timing is never asserted, only that every figure is measured and reported.

Without PostgreSQL or a redis-server binary the module is skipped, with the reason in the summary
(``-ra``); under ``CI=true`` that is a failure instead (:mod:`tests.services`).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Mapping

import pytest

from bench import timers as bench_timers
from tests import services

pytestmark = pytest.mark.integration

MEASURED = ("e2e_timers_per_s", "e2e_seconds", "noop_messages_per_s", "noop_seconds", "e2e_ratio",
            "e2e_delivered_per_s", "e2e_delivered_seconds", "e2e_delivered_ratio", "burst_seconds",
            "burst_timers_per_s", "claim_small_ms", "claim_large_ms", "claim_growth")


@pytest.fixture(scope="module")
def report() -> Mapping[str, object]:
    services.require_postgres()
    services.require_redis_server()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_timers.main(["--quick", "--json", "--postgres", services.postgres_url()])
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_every_measured_figure_is_a_positive_number(report: Mapping[str, object]) -> None:
    for key in MEASURED:
        value = report[key]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, key


def test_every_timed_timer_fired_exactly_once(report: Mapping[str, object]) -> None:
    assert report["e2e_timers"] == 3 * bench_timers.QUICK.dossiers
    assert report["e2e_exactly_once"] is True
    assert report["e2e_worker_alive"] is True


def test_every_burst_timer_fired_and_notified_exactly_once(report: Mapping[str, object]) -> None:
    dossiers, each = bench_timers.QUICK.burst
    assert report["burst_timers"] == dossiers * each
    assert report["burst_exactly_once"] is True


def test_the_claim_plan_names_the_claim_index(report: Mapping[str, object]) -> None:
    claims = report["claims"]
    assert isinstance(claims, dict) and set(claims) == {str(size) for size in bench_timers.QUICK.claim_tables}
    for entry in claims.values():
        assert bench_timers.CLAIM_INDEX in entry["index_line"]
        assert entry["claimed"] == bench_timers.QUICK.claim_due + 1  # plus the seed dossier's warning
    assert report["claim_uses_index"] is True


def test_every_target_is_checked(report: Mapping[str, object]) -> None:
    checks = report["checks"]
    assert isinstance(checks, dict)
    assert set(checks) == {*bench_timers.TARGETS, "claim_uses_index"}
    assert all(check["met"] in (True, False) for check in checks.values())


def test_machine_and_date_are_described(report: Mapping[str, object]) -> None:
    machine = report["machine"]
    assert isinstance(machine, dict)
    assert {"platform", "python", "cpu_count", "date", "versions"} <= set(machine)
    assert {"dramatiq", "postgresql", "redis-server"} <= set(machine["versions"])


def test_the_table_names_every_figure(report: Mapping[str, object]) -> None:
    table = bench_timers.render_table(report)
    for label in ("end to end", "no-op dramatiq floor", "ratio", "claim,", "plan:", "machine:"):
        assert label in table
