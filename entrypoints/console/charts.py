"""The report pages' charts, drawn on the server by matplotlib as PNG (no chart script in the browser).

matplotlib's object API is used (a :class:`~matplotlib.figure.Figure` on its Agg canvas), never ``pyplot``: a
figure belongs to the request that draws it, so requests served in parallel threads do not share a global
figure. matplotlib is imported when a chart is drawn: importing this module has no side effect. The PNG carries
no version stamp (the same data gives the same bytes).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any, Final

__all__ = ["channels_png", "on_time_png", "overdue_png"]

_SIZE: Final = (8.0, 4.0)
_DPI: Final = 100
_BLUE: Final = "#1f5fa8"
_ORANGE: Final = "#d9480f"
_RED: Final = "#b00020"
_GREY: Final = "#6c757d"
_UPRIGHT_TICKS: Final = 6  # more tick labels than this are slanted, so that they do not overlap


def _figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # noqa: PLC0415 - loaded only when a chart is drawn

    figure = Figure(figsize=_SIZE, dpi=_DPI)
    return figure, figure.add_subplot()


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415

    FigureCanvasAgg(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _whole_numbers(axes: Any) -> None:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _slant(ticks: int) -> int:
    return 45 if ticks > _UPRIGHT_TICKS else 0


def _empty(axes: Any, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color=_GREY)


def on_time_png(series: Sequence[tuple[str, float | None]], title: str) -> bytes:
    """The on-time rate by month against the 100 % target; a month with nothing resolved has no point."""
    figure, axes = _figure()
    points = [(index, rate) for index, (_, rate) in enumerate(series) if rate is not None]
    if points:
        axes.plot([i for i, _ in points], [r for _, r in points], marker="o", color=_BLUE,
                  label="Trước hạn, đúng hạn")
    else:
        _empty(axes, "Không có hồ sơ giải quyết xong trong kỳ")
    axes.axhline(100, color=_RED, linestyle="--", label="Mục tiêu: 100 %")
    axes.set_xticks(range(len(series)), [label for label, _ in series], rotation=_slant(len(series)))
    axes.set_ylim(min([r for _, r in points] + [90.0]) - 2, 101)
    axes.set_ylabel("%")
    axes.set_title(title)
    axes.legend(loc="lower left")
    axes.grid(alpha=0.3)
    return _png(figure)


def overdue_png(series: Sequence[tuple[date, int]], title: str) -> bytes:
    """The dossiers in progress past their appointment at the end of each week."""
    figure, axes = _figure()
    axes.bar(range(len(series)), [count for _, count in series], color=_ORANGE)
    step = max(1, len(series) // 12)
    ticks = list(range(0, len(series), step))
    axes.set_xticks(ticks, [series[i][0].strftime("%d/%m") for i in ticks], rotation=_slant(len(ticks)))
    if not any(count for _, count in series):
        _empty(axes, "Không có hồ sơ quá hạn")
    axes.set_ylabel("Số hồ sơ")
    _whole_numbers(axes)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def channels_png(series: Sequence[tuple[str, int, int]], title: str) -> bytes:
    """The dossiers received each month, stacked by channel."""
    figure, axes = _figure()
    positions = range(len(series))
    online = [item[1] for item in series]
    other = [item[2] for item in series]
    axes.bar(positions, online, color=_BLUE, label="Trực tuyến")
    axes.bar(positions, other, bottom=online, color=_ORANGE, label="Trực tiếp, bưu chính công ích")
    axes.set_xticks(positions, [item[0] for item in series], rotation=_slant(len(series)))
    if not any(online) and not any(other):
        _empty(axes, "Không có hồ sơ tiếp nhận trong kỳ")
    axes.set_ylabel("Số hồ sơ tiếp nhận")
    _whole_numbers(axes)
    axes.set_title(title)
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)
