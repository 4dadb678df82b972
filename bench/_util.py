"""Timing helpers shared by the benchmarks: batches timed with ``perf_counter_ns``, medians, the machine.

A *batch* is a callable ``batch(ops)`` that performs ``ops`` operations. Batches compared with each
other are timed round-robin (figure, floor, figure, floor…) so that machine noise and drift hit them
alike, after the same warm-up, and the median of the repetitions is kept.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.model import Actor

__all__ = ["Batch", "describe_machine", "median", "per_op_ns", "round_robin", "threaded_ops_per_s"]

Batch = Callable[[int], object]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def per_op_ns(batch: Batch, ops: int) -> float:
    """Nanoseconds per operation of one timed run of ``batch(ops)`` (garbage collected first)."""
    gc.collect()
    start = time.perf_counter_ns()
    batch(ops)
    return (time.perf_counter_ns() - start) / ops


def round_robin(batches: Mapping[str, Batch], ops: int, *, repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """ns per operation of every batch, ``repeats`` samples each, the batches taking turns."""
    for _ in range(warmup):
        for batch in batches.values():
            batch(ops)
    samples: dict[str, list[float]] = {name: [] for name in batches}
    for _ in range(repeats):
        for name, batch in batches.items():
            samples[name].append(per_op_ns(batch, ops))
    return samples


def threaded_ops_per_s(batches: Sequence[Batch], ops: int) -> float:
    """Run every batch in its own thread, all released at once; total operations per second of wall time."""
    start_line = threading.Barrier(len(batches) + 1)
    failures: list[BaseException] = []

    def work(batch: Batch) -> None:
        start_line.wait()
        try:
            batch(ops)
        except BaseException as error:  # re-raised in the calling thread below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    gc.collect()
    start_line.wait()
    start = time.perf_counter_ns()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter_ns() - start
    if failures:
        raise failures[0]
    return ops * len(batches) * 1e9 / elapsed


def describe_machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpu_count": os.cpu_count(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


_OFFICER, _SPECIALIST = Actor.of("Nguyễn Thị Lan", "officer"), Actor.of("Phạm Văn Hùng", "specialist")
_LEADER, _APPLICANT = Actor.of("Nguyễn Văn Hiệu", "leader"), Actor.of("Công dân", "applicant")
_PER_DOSSIER = 9  # open, receive, digitize, assign, submit, approve, result ready, return, rate


def dossier_path_rate(app: Motcua, clock: ManualClock, transitions: int, *, unit: str | None = None) -> float:
    """The floor of the demo benchmarks: dossiers carried from reception to rating by ``CaseService.fire`` alone,
    one after another, ``transitions`` at least; audited transitions per second."""
    fire = app.service.fire
    started, done = time.perf_counter(), 0
    while done < transitions:
        case = app.desk.receive("2.000815", "direct", Applicant("Trần Văn An"), _OFFICER, unit=unit)
        fire(case.code, "digitize", _OFFICER, {"components": 1})
        fire(case.code, "assign", _OFFICER, {"assignee": _SPECIALIST.name})
        fire(case.code, "submit_for_approval", _SPECIALIST, {"approver": _LEADER.name})
        fire(case.code, "approve", _LEADER)
        fire(case.code, "mark_result_ready", _SPECIALIST)
        fire(case.code, "return_result", _OFFICER)
        fire(case.code, "rate", _APPLICANT, {"rating": 5})
        done += _PER_DOSSIER
        clock.advance(timedelta(seconds=30))
    return done / (time.perf_counter() - started)
