"""Cost of a due computation against the length of the deadline.

``python -m bench.calendar [--json]``: µs per ``WorkingCalendar.due`` for 1, 5, 30 and 250 working days
(median of several repetitions over random reception instants in 2023–2026), next to a raw floor measured
in the same run (``datetime + timedelta`` and one ``is_working_day`` of the ``holidays`` package).
``flat_ratio`` = µs(250) / µs(1) stays near 1 because working days are indexed, not walked.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import metadata

import holidays

from motcua.workflow.worktime.calendar import VN_TZ, Duration, DurationUnit, WorkingCalendar

__all__ = ["main", "run"]

SIZES = (1, 5, 30, 250)
_FIRST = datetime(2023, 1, 1, tzinfo=VN_TZ)
_SPAN_MINUTES = 4 * 365 * 24 * 60  # 2023-01-01 … 2026-12-31


def _starts(count: int, seed: int) -> list[datetime]:
    draw = random.Random(seed)
    return [_FIRST + timedelta(minutes=draw.randrange(_SPAN_MINUTES)) for _ in range(count)]


Action = Callable[[datetime], object]


def _pass_us(action: Action, starts: Sequence[datetime]) -> float:
    begin = time.perf_counter_ns()
    for start in starts:
        action(start)
    return (time.perf_counter_ns() - begin) / len(starts) / 1000


def _medians_us(actions: dict[str, Action], starts: Sequence[datetime], repeats: int) -> dict[str, float]:
    """Round-robin over the cases so that machine noise hits them all alike; median per case."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            samples[name].append(_pass_us(action, starts))
    return {name: statistics.median(values) for name, values in samples.items()}


def _floor_action() -> Action:
    package = holidays.country_holidays("VN", years=range(2023, 2028), language="vi")
    step = timedelta(days=3)
    return lambda start: package.is_working_day((start + step).date())


def _due_action(calendar: WorkingCalendar, size: int) -> Action:
    duration = Duration(size, DurationUnit.WORKING_DAYS)
    return lambda start: calendar.due(start, duration)


def _cold_first_due_ms(start: datetime) -> float:
    begin = time.perf_counter_ns()
    WorkingCalendar().due(start, Duration(250, DurationUnit.WORKING_DAYS))
    return (time.perf_counter_ns() - begin) / 1e6


def run(starts_count: int = 2000, repeats: int = 15, seed: int = 2024) -> dict[str, object]:
    """Measure and return the results as a JSON-ready dictionary."""
    starts = _starts(starts_count, seed)
    cold_ms = _cold_first_due_ms(starts[0])
    calendar = WorkingCalendar()
    for start in starts:  # warm the index over every year the runs will touch
        calendar.due(start, Duration(max(SIZES), DurationUnit.WORKING_DAYS))
    actions = {"floor": _floor_action()} | {str(size): _due_action(calendar, size) for size in SIZES}
    medians = _medians_us(actions, starts, repeats)
    floor = medians.pop("floor")
    due_us = medians
    return {
        "benchmark": "motcua.workflow.worktime.calendar.WorkingCalendar.due",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()},
        "holidays_version": metadata.version("holidays"),
        "starts": starts_count,
        "repeats": repeats,
        "floor_us": round(floor, 3),
        "due_us": {size: round(value, 3) for size, value in due_us.items()},
        "ratio_to_floor": {size: round(value / floor, 2) for size, value in due_us.items()},
        "flat_ratio": round(due_us[str(max(SIZES))] / due_us[str(min(SIZES))], 3),
        "cold_first_due_ms": round(cold_ms, 3),
    }


def _print_table(result: dict[str, object]) -> None:
    machine = result["machine"]
    print(f"{result['benchmark']}  {result['date']}  {machine}")
    print(f"floor (datetime + timedelta + holidays.is_working_day): {result['floor_us']} µs")
    due_us, ratios = result["due_us"], result["ratio_to_floor"]
    assert isinstance(due_us, dict) and isinstance(ratios, dict)
    print(f"{'working days':>12}  {'µs/due':>8}  {'× floor':>8}")
    for size in due_us:
        print(f"{size:>12}  {due_us[size]:>8.3f}  {ratios[size]:>8.2f}")
    print(f"flat_ratio µs(250)/µs(1) = {result['flat_ratio']}; cold first due {result['cold_first_due_ms']} ms")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.calendar", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--starts", type=int, default=2000, help="random reception instants per run")
    parser.add_argument("--repeats", type=int, default=15, help="repetitions; the median is kept")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    result = run(args.starts, args.repeats, args.seed)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_table(result)


if __name__ == "__main__":
    main()
