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
from datetime import UTC, datetime

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
