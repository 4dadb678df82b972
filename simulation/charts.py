"""Three PNG charts of the year, from the dossiers' facts folded from the audit log.

- ``ty-le-dung-han-theo-thang.png``: the share of dossiers resolved early or on time, month by month,
  against the plan's 100 % target;
- ``ho-so-qua-han-theo-tuan.png``: dossiers still open past their appointment at the end of each week;
- ``ho-so-theo-kenh.png``: dossiers received per month, by channel.

matplotlib is imported when a chart is drawn, with its non-interactive Agg backend chosen then: importing
this module has no side effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from motcua.adapters.files import replacing
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.reports.projection import DossierFacts
from motcua.workflow.worktime.hours import Timeliness, classify

__all__ = ["CHART_FILES", "arrivals_by_channel", "monthly_on_time", "overdue_by_week", "write_charts"]

CHART_FILES = ("ty-le-dung-han-theo-thang.png", "ho-so-qua-han-theo-tuan.png", "ho-so-theo-kenh.png")
MONTHS = ("T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12")
CHANNEL_LABELS = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Bưu chính công ích"}


def _day(facts: DossierFacts, which: str) -> date | None:
    instant = getattr(facts, which)
    return None if instant is None else to_vietnam_time(instant).date()


def monthly_on_time(facts: Sequence[DossierFacts], year: int) -> list[float | None]:
    """Percent resolved early or on time among those resolved in each month (None: nothing resolved)."""
    resolved, good = [0] * 12, [0] * 12
    for item in facts:
        end = _day(item, "ended_at")
        if item.received_at is None or item.ended_at is None or end is None or end.year != year:
            continue
        resolved[end.month - 1] += 1
        good[end.month - 1] += classify(item.ended_at, item.appointment) is not Timeliness.LATE
    return [100.0 * g / r if r else None for g, r in zip(good, resolved, strict=True)]


def overdue_by_week(facts: Sequence[DossierFacts], year: int) -> list[tuple[date, int]]:
    """(week's last day, dossiers open at its end whose appointment date is before it)."""
    sunday = date(year, 1, 1) + timedelta(days=(6 - date(year, 1, 1).weekday()))
    weeks = []
    while sunday.year == year:
        weeks.append((sunday, sum(_overdue_on(item, sunday) for item in facts)))
        sunday += timedelta(days=7)
    return weeks


def _overdue_on(item: DossierFacts, day: date) -> bool:
    received, ended, due = _day(item, "received_at"), _day(item, "ended_at"), _day(item, "appointment")
    if received is None or due is None or received > day or (ended is not None and ended <= day):
        return False
    return due < day and not item.paused_on(day)


def arrivals_by_channel(facts: Sequence[DossierFacts], year: int) -> dict[int, list[int]]:
    counts = {channel: [0] * 12 for channel in CHANNEL_LABELS}
    for item in facts:
        received = _day(item, "received_at")
        if received is not None and received.year == year:
            counts[item.channel if item.channel in counts else 1][received.month - 1] += 1
    return counts


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415 - loaded only when a chart is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _on_time_chart(plt: Any, rates: list[float | None], year: int, out: Path) -> None:
    figure, axes = plt.subplots(figsize=(8, 4.2), dpi=110)
    points = [(month, rate) for month, rate in enumerate(rates) if rate is not None]
    axes.plot([m for m, _ in points], [r for _, r in points], marker="o", color="#1f77b4",
              label="Tỷ lệ giải quyết trước hạn, đúng hạn")
    axes.axhline(100, color="#d62728", linestyle="--", label="Mục tiêu kế hoạch: 100 %")
    axes.set_xticks(range(12), MONTHS)
    axes.set_ylim(min([r for _, r in points] + [90.0]) - 2, 101)
    axes.set_ylabel("%")
    axes.set_title(f"Tỷ lệ hồ sơ giải quyết đúng hạn theo tháng — năm {year}")
    axes.legend(loc="lower left")
    axes.grid(alpha=0.3)
    _save(plt, figure, out)


def _backlog_chart(plt: Any, weeks: list[tuple[date, int]], year: int, out: Path) -> None:
    figure, axes = plt.subplots(figsize=(8, 4.2), dpi=110)
    axes.bar(range(1, len(weeks) + 1), [count for _, count in weeks], color="#ff7f0e")
    axes.set_xlabel("Tuần")
    axes.set_ylabel("Số hồ sơ")
    axes.set_title(f"Hồ sơ đang giải quyết đã quá hạn, cuối mỗi tuần — năm {year}")
    axes.grid(axis="y", alpha=0.3)
    _save(plt, figure, out)


def _channel_chart(plt: Any, counts: dict[int, list[int]], year: int, out: Path) -> None:
    figure, axes = plt.subplots(figsize=(8, 4.2), dpi=110)
    bottom = [0] * 12
    for channel, label in CHANNEL_LABELS.items():
        axes.bar(range(12), counts[channel], bottom=bottom, label=label)
        bottom = [b + c for b, c in zip(bottom, counts[channel], strict=True)]
    axes.set_xticks(range(12), MONTHS)
    axes.set_ylabel("Số hồ sơ tiếp nhận")
    axes.set_title(f"Hồ sơ tiếp nhận theo tháng và kênh — năm {year}")
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    _save(plt, figure, out)


def _save(plt: Any, figure: Any, out: Path) -> None:
    figure.tight_layout()
    with replacing(out) as temporary:
        figure.savefig(temporary, format="png", metadata={"Software": None})  # no version stamp: same data, same bytes
    plt.close(figure)


def write_charts(facts: Sequence[DossierFacts], year: int, out: Path) -> list[Path]:
    plt = _pyplot()
    paths = [out / name for name in CHART_FILES]
    _on_time_chart(plt, monthly_on_time(facts, year), year, paths[0])
    _backlog_chart(plt, overdue_by_week(facts, year), year, paths[1])
    _channel_chart(plt, arrivals_by_channel(facts, year), year, paths[2])
    return paths
