"""The report pages: Biểu 06, the Decision 766 scorecard, their charts and workbooks, and the reform plan.

- ``GET /console/reports/bieu06`` and ``/console/reports/par766``: the report of a period (``period`` = ``2024``,
  ``2024-Q1`` or ``2024-03``, with ``cutoff_day``; or ``from``/``to``; the current year up to today when none) and
  of ``unit``,
  or of every unit the user sees (the province for a province's or an unscoped user), laid out as the form;
- ``GET /console/reports/bieu06.xlsx`` and ``/console/reports/par766.xlsx``: the workbook ``motcua report … --format
  xlsx`` writes, for the same question;
- ``GET /console/charts/on-time.png``, ``overdue.png``, ``channels.png``: the charts of the same question
  (:mod:`motcua.entrypoints.console.report_views`), drawn by matplotlib;
- ``GET /console/plan``: the reform plan's targets (target, actual, verdict) and its tasks' status.

Which units a user may ask for is :meth:`~motcua.workflow.access.cases.ScopedCases.report_units`, as for an API key:
a unit outside the user's scope is the same 404 as a unit that does not exist.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from motcua.adapters.render.reports import (
    BIEU06_FORM,
    BIEU06_TITLE,
    PAR766_LABELS,
    bieu06_xlsx,
    par766_xlsx,
    shown,
)
from motcua.definitions.units import UNIT_CODE_MAX_LENGTH
from motcua.entrypoints.cli.report_scope import report_scope
from motcua.entrypoints.console import charts
from motcua.entrypoints.console.base import Console, ConsoleUser, PageError, router
from motcua.entrypoints.console.plan_views import plan_page
from motcua.entrypoints.console.refusals import input_text
from motcua.entrypoints.console.report_views import (
    CHART_MONTHS_MAX,
    Bieu06Of,
    ReportQuery,
    bieu06_header,
    bieu06_lines,
    channel_series,
    chartable,
    on_time_series,
    overdue_series,
    unit_choices,
)
from motcua.workflow.engine.bounds import CODE_MAX
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.errors import InvalidInput, NotFound
from motcua.workflow.reports.periods import MAX_CUTOFF_DAY, Period
from motcua.workflow.reports.service import ReportService

__all__ = ["XLSX_MEDIA_TYPE", "routes"]

XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHARTS: Final = ("on-time", "overdue", "channels")
_TOO_LONG: Final = f"Biểu đồ chỉ vẽ cho kỳ tối đa {CHART_MONTHS_MAX} tháng; hãy chọn kỳ ngắn hơn."
_MERGED_TOO: Final = " (kể cả các đơn vị đã sáp nhập vào)"
_UNITS_NAMED: Final = 3  # a report of a few units names them; of more, by the user's scope


def _text(value: str | None) -> str | None:
    """A form's empty field is no value."""
    return value.strip() or None if value is not None else None


def report_query(
    period: Annotated[str | None, Query(max_length=CODE_MAX)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=CODE_MAX)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=CODE_MAX)] = None,
    cutoff_day: Annotated[str | None, Query(max_length=2)] = None,
    unit: Annotated[str | None, Query(max_length=UNIT_CODE_MAX_LENGTH)] = None,
) -> ReportQuery:
    """The report form's question (an empty field is no value; the values are checked by the period's parser)."""
    cutoff = _text(cutoff_day)
    if cutoff is not None and not (cutoff.isdigit() and 1 <= int(cutoff) <= MAX_CUTOFF_DAY):
        raise InvalidInput("cutoff_day", f"the cut-off day is a day from 1 to {MAX_CUTOFF_DAY}")
    return ReportQuery(_text(period), _text(start), _text(end), None if cutoff is None else int(cutoff), _text(unit))


Question = Annotated[ReportQuery, Depends(report_query)]


@dataclass(frozen=True)
class _Asked:
    """A report question resolved for one user: the period, the units, the line naming them."""

    query: ReportQuery
    period: Period
    units: frozenset[str] | None
    heading: str


def _today(console: Console) -> date:
    return to_vietnam_time(console.clock.now()).date()


def _asked(console: Console, user: ConsoleUser, query: ReportQuery) -> _Asked:
    """The period and the units of ``query`` for ``user``: 404 for a unit outside the scope, 400 for a bad period."""
    units = console.cases(user).report_units(query.unit)
    return _Asked(query, query.period_at(_today(console)), units, _heading(console, user, query.unit, units))


def _heading(console: Console, user: ConsoleUser, unit: str | None, units: frozenset[str] | None) -> str:
    """"Đơn vị: …": the unit asked for, the province (every unit), or the user's units."""
    if unit is not None or units is None:
        return report_scope(console.motcua, unit).heading
    directory = console.motcua.desk.units
    provinces = {unit.province for unit in directory.register.units if unit.code in units}
    province = next((directory.register.province(code) for code in sorted(provinces)
                     if units == directory.province_codes(code, _today(console))), None)
    if province is not None:
        return f"Đơn vị: {province.kind} {province.name}"
    named = sorted(user.units) if user.units is not None and units == user.scope.units else sorted(units)
    merged = _MERGED_TOO if len(named) < len(units) else ""  # a unit's user: the communes merged into theirs, said once
    if len(named) <= _UNITS_NAMED:
        return "Đơn vị: " + "; ".join(directory.label(code) for code in named) + merged
    return f"Đơn vị: {user.scope.label}{merged}"


def _service(console: Console) -> ReportService:
    motcua = console.motcua
    return ReportService(motcua.reports, motcua.rules, motcua.store).caught_up()


def _form_context(console: Console, user: ConsoleUser, query: ReportQuery) -> dict[str, Any]:
    return {"query": query, "units": unit_choices(console.motcua.desk.units, user.scope.units),
            "this_year": _today(console).year, "query_string": query.query_string()}


def _workbook(write: Callable[[Path], None], name: str) -> Response:
    """The workbook ``write`` makes, as a download named ``name``."""
    with tempfile.TemporaryDirectory(prefix="motcua-console-") as folder:
        path = Path(folder) / name
        write(path)
        content = path.read_bytes()
    return Response(content, media_type=XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _period_text(period: Period) -> str:
    return f"từ ngày {shown(period.start)} đến ngày {shown(period.end)}"


def routes(console: Console) -> APIRouter:
    pages = router(console)
    User = Annotated[ConsoleUser, Depends(console.signed_in)]  # noqa: N806 - a type alias local to the routes
    _report_routes(pages, console, User)
    _chart_routes(pages, console, User)

    @pages.get("/reports")
    def reports_index(request: Request, user: User) -> Response:
        return console.render(request, user, "reports_index.html")

    @pages.get("/plan")
    def plan(request: Request, user: User, *, key: Annotated[str | None, Query(alias="plan", max_length=CODE_MAX)]
             = None, start: Annotated[str | None, Query(alias="from", max_length=CODE_MAX)] = None,
             end: Annotated[str | None, Query(alias="to", max_length=CODE_MAX)] = None,
             unit: Annotated[str | None, Query(max_length=UNIT_CODE_MAX_LENGTH)] = None) -> Response:
        """The plan's targets and tasks within the user's scope (the first plan when none is named), measured over
        ``unit`` (404 outside the scope) or the plan's own units, as ``motcua report plan [--unit]``."""
        asked = _text(unit)
        units = None if asked is None else console.cases(user).report_units(asked)
        page = plan_page(console.motcua, user.scope, _text(key), start=_text(start), end=_text(end),
                         today=_today(console), unit=asked, asked=units)
        choices = unit_choices(console.motcua.desk.units, user.scope.units)
        return console.render(request, user, "plan.html", page=page, units=choices)

    return pages


def _report_page(console: Console, request: Request, user: ConsoleUser, query: ReportQuery, *, template: str,
                 shown: Callable[[_Asked], dict[str, Any]]) -> Response:
    """A report's page: the form, and the report ``shown`` gives for the period and units asked — or the form with
    the reason in words (400) when the question is bad. A unit outside the scope is the 404 of an unknown one."""
    context = _form_context(console, user, query)
    try:
        asked = _asked(console, user, query)
    except NotFound:
        raise  # a unit outside the scope: the same 404 page as a unit that does not exist
    except InvalidInput as error:
        return console.render(request, user, template, status_code=400, error=input_text(error), **context)
    return console.render(request, user, template, asked=asked, period_text=_period_text(asked.period),
                          **shown(asked), **context)


def _report_routes(pages: APIRouter, console: Console, User: Any) -> None:  # noqa: N803 - the routes' type alias
    @pages.get("/reports/bieu06")
    def bieu06_page(request: Request, user: User, query: Question) -> Response:
        def shown(asked: _Asked) -> dict[str, Any]:
            report = _service(console).bieu06(asked.period.start, asked.period.end, units=asked.units)
            return {"form": BIEU06_FORM, "title": BIEU06_TITLE, "header": bieu06_header(),
                    "lines": bieu06_lines(report), "charts": _CHARTS if chartable(asked.period) else (),
                    "chart_months_max": CHART_MONTHS_MAX}

        return _report_page(console, request, user, query, template="reports_bieu06.html", shown=shown)

    @pages.get("/reports/bieu06.xlsx")
    def bieu06_workbook(user: User, query: Question) -> Response:
        asked = _asked(console, user, query)
        report = _service(console).bieu06(asked.period.start, asked.period.end, units=asked.units)
        name = f"bieu06-{asked.period.start.isoformat()}-{asked.period.end.isoformat()}.xlsx"
        return _workbook(lambda path: bieu06_xlsx(report, path, agency=asked.heading), name)

    @pages.get("/reports/par766")
    def par766_page(request: Request, user: User, query: Question) -> Response:
        def shown(asked: _Asked) -> dict[str, Any]:
            card = _service(console).scorecard(asked.period.start, asked.period.end, units=asked.units)
            return {"card": card, "labels": PAR766_LABELS}

        return _report_page(console, request, user, query, template="reports_par766.html", shown=shown)

    @pages.get("/reports/par766.xlsx")
    def par766_workbook(user: User, query: Question) -> Response:
        asked = _asked(console, user, query)
        card = _service(console).scorecard(asked.period.start, asked.period.end, units=asked.units)
        name = f"qd766-{asked.period.start.isoformat()}-{asked.period.end.isoformat()}.xlsx"
        return _workbook(lambda path: par766_xlsx(card, path, heading=asked.heading), name)


def _chart_routes(pages: APIRouter, console: Console, User: Any) -> None:  # noqa: N803 - the routes' type alias
    def drawn(user: ConsoleUser, query: ReportQuery, draw: Callable[[Bieu06Of, _Asked], bytes]) -> Response:
        asked = _asked(console, user, query)
        if not chartable(asked.period):
            raise PageError(400, _TOO_LONG)
        service = _service(console)

        def report_of(start: date, end: date) -> Any:
            return service.bieu06(start, end, units=asked.units)

        return Response(draw(report_of, asked), media_type="image/png")

    @pages.get("/charts/on-time.png")
    def on_time(user: User, query: Question) -> Response:
        return drawn(user, query, lambda report_of, asked: charts.on_time_png(
            on_time_series(report_of, asked.period), "Tỷ lệ giải quyết trước hạn, đúng hạn theo tháng"))

    @pages.get("/charts/overdue.png")
    def overdue(user: User, query: Question) -> Response:
        return drawn(user, query, lambda report_of, asked: charts.overdue_png(
            overdue_series(report_of, asked.period), "Hồ sơ đang giải quyết quá hạn, cuối mỗi tuần"))

    @pages.get("/charts/channels.png")
    def channels(user: User, query: Question) -> Response:
        return drawn(user, query, lambda report_of, asked: charts.channels_png(
            channel_series(report_of, asked.period), "Hồ sơ tiếp nhận theo tháng và kênh"))

