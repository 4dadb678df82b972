"""What the report pages show, as values built without HTTP: the period asked for, Biểu 06 laid out like the form,
and the series the charts draw.

A period is asked exactly as of the HTTP API and the CLI (:func:`motcua.workflow.reports.periods.period_of`):
``period`` (``2024``, ``2024-Q1``, ``2024-03``) with an optional cut-off day, or ``from``/``to``; with nothing
asked, the current year up to today. The charts are computed from Biểu 06 itself, one report per month or per
week, so they say exactly what the table says and are limited to the same units:

- on-time rate by month: the dossiers resolved in the month early or on time ÷ those resolved (columns 7 + 8 over 6);
- overdue by week: the dossiers still in progress past their appointment at the end of each week (column 13 of a
  one-day report on the week's last day);
- channels: the dossiers received in each month, online and direct or by post (columns 4 and 5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from urllib.parse import urlencode

from motcua.adapters.render.reports import BIEU06_GROUPS, BIEU06_LABELS, TOTAL_LABEL
from motcua.workflow.reports.periods import Period, parse_period, period_of
from motcua.workflow.reports.projection import BIEU06_COUNTS, Bieu06
from motcua.workflow.units.directory import UnitDirectory

__all__ = [
    "CHART_MONTHS_MAX",
    "Bieu06Of",
    "HeaderCell",
    "ReportQuery",
    "bieu06_header",
    "bieu06_lines",
    "channel_series",
    "chartable",
    "month_spans",
    "on_time_series",
    "overdue_series",
    "unit_choices",
    "week_ends",
]

Bieu06Of = Callable[[date, date], Bieu06]
"""Biểu 06 of [start, end] for the units of the page (the report service, bound to them)."""
CHART_MONTHS_MAX: Final = 60
"""Calendar months a chart covers at most (five years): each month is one Biểu 06, each week another, so a period
of centuries (``from=0001-01-01&to=9999-12-31``) would make one request compute half a million reports."""
_FIELD_HEADING: Final = "Lĩnh vực giải quyết"
_SUNDAY: Final = 6


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """The report form's fields, as the query string carries them (validated by :meth:`period_at`)."""

    period: str | None = None
    start: str | None = None
    end: str | None = None
    cutoff_day: int | None = None
    unit: str | None = None

    def period_at(self, today: date) -> Period:
        """The period asked for; when none is, the year of ``today`` up to ``today`` (a period that runs into the
        future would judge an open dossier against its last day, counting as overdue what is not yet due).
        :class:`InvalidInput` for a bad one."""
        if self.period is None and self.start is None and self.end is None:
            if self.cutoff_day is not None:
                return parse_period(str(today.year), self.cutoff_day)
            return Period(date(today.year, 1, 1), today)
        return period_of(self.start, self.end, self.period, self.cutoff_day)

    def query_string(self) -> str:
        """The same question as a query string (for the charts and the downloads of the page)."""
        pairs = (("period", self.period), ("from", self.start), ("to", self.end),
                 ("cutoff_day", None if self.cutoff_day is None else str(self.cutoff_day)), ("unit", self.unit))
        return urlencode([(name, value) for name, value in pairs if value])


@dataclass(frozen=True, slots=True)
class HeaderCell:
    text: str
    colspan: int = 1
    rowspan: int = 1


def bieu06_header() -> tuple[tuple[HeaderCell, ...], ...]:
    """The form's three header rows (merged by group as in the workbook) and the row of column numbers."""
    top: list[HeaderCell] = [HeaderCell("STT", rowspan=3), HeaderCell(_FIELD_HEADING, rowspan=3)]
    middle: list[HeaderCell] = []
    bottom: list[HeaderCell] = []
    for label, first, last in BIEU06_GROUPS:
        names = BIEU06_COUNTS[BIEU06_COUNTS.index(first):BIEU06_COUNTS.index(last) + 1]
        top.append(HeaderCell(label, colspan=len(names)))
        middle.append(HeaderCell(BIEU06_LABELS[first], rowspan=2))
        middle.append(HeaderCell("Trong đó", colspan=len(names) - 1))
        bottom.extend(HeaderCell(BIEU06_LABELS[name]) for name in names[1:])
    numbers = tuple(HeaderCell(f"({column})") for column in range(1, len(BIEU06_COUNTS) + 3))
    return tuple(top), tuple(middle), tuple(bottom), numbers


@dataclass(frozen=True, slots=True)
class Bieu06Line:
    number: str
    field: str
    counts: tuple[int, ...]
    total: bool = False


def bieu06_lines(report: Bieu06) -> tuple[Bieu06Line, ...]:
    """One line per field (numbered, "name (code)"), then the total line, as on the form."""
    lines = [
        Bieu06Line(str(number), f"{row.field_name} ({row.field_code})" if row.field_code else row.field_name,
                   tuple(row.counts().values()))
        for number, row in enumerate(report.rows, start=1)
    ]
    lines.append(Bieu06Line("", TOTAL_LABEL, tuple(report.total.counts().values()), total=True))
    return tuple(lines)


def chartable(period: Period) -> bool:
    """Whether the charts of ``period`` stay within :data:`CHART_MONTHS_MAX` months (counted, never listed), and
    end before the calendar's last month (whose following month does not exist)."""
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
    return months <= CHART_MONTHS_MAX and period.end.year < date.max.year


def month_spans(period: Period) -> tuple[tuple[str, date, date], ...]:
    """The calendar months the period touches, each clipped to it, labelled ``T3/2024``."""
    spans: list[tuple[str, date, date]] = []
    first = period.start.replace(day=1)
    while first <= period.end:
        following = (first + timedelta(days=32)).replace(day=1)
        spans.append((f"T{first.month}/{first.year}", max(first, period.start),
                      min(following - timedelta(days=1), period.end)))
        first = following
    return tuple(spans)


def week_ends(period: Period) -> tuple[date, ...]:
    """The Sundays of the period, and its last day when it is not one."""
    sunday = period.start + timedelta(days=(_SUNDAY - period.start.weekday()) % 7)
    days: list[date] = []
    while sunday <= period.end:
        days.append(sunday)
        sunday += timedelta(days=7)
    if not days or days[-1] != period.end:
        days.append(period.end)
    return tuple(days)


def on_time_series(report_of: Bieu06Of, period: Period) -> tuple[tuple[str, float | None], ...]:
    """Per month: percent resolved early or on time among those resolved (``None``: none resolved)."""
    series: list[tuple[str, float | None]] = []
    for label, start, end in month_spans(period):
        total = report_of(start, end).total
        good = total.resolved_early + total.resolved_on_time
        series.append((label, 100.0 * good / total.resolved if total.resolved else None))
    return tuple(series)


def overdue_series(report_of: Bieu06Of, period: Period) -> tuple[tuple[date, int], ...]:
    """Per week: the dossiers in progress past their appointment at the end of its last day."""
    return tuple((day, report_of(day, day).total.pending_overdue) for day in week_ends(period))


def channel_series(report_of: Bieu06Of, period: Period) -> tuple[tuple[str, int, int], ...]:
    """Per month: the dossiers received online, and directly or by post."""
    series: list[tuple[str, int, int]] = []
    for label, start, end in month_spans(period):
        total = report_of(start, end).total
        series.append((label, total.online, total.direct_postal))
    return tuple(series)


def unit_choices(directory: UnitDirectory, units: Iterable[str] | None) -> tuple[tuple[str, str], ...]:
    """The units a report may be asked of (code, label): those of the scope, or every unit of the register and
    the home unit for a scope of every unit."""
    codes: Sequence[str]
    if units is None:
        codes = sorted({unit.code for unit in directory.register.units} | {directory.home})
    else:
        codes = sorted(units)
    return tuple((code, directory.label(code)) for code in codes)
