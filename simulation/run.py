"""``run_demo``: a commune's year on a fresh database, then the reports the province would read.

Order: check the options (nothing written before) → a fresh database → draw the workload, the cast and
the plan's schedule from one ``random.Random(seed)`` → play the year on a manual clock through the real
engine and timers → catch the reporting projection up once → compute Biểu 06 per quarter and for the
year, the Decision 766 scorecard and the plan's targets.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.simulation.cast import Cast, draw_cast
from motcua.simulation.feedback import feedback_arrivals
from motcua.simulation.plan_progress import plan_schedule
from motcua.simulation.scenario import DemoOptions, Scenario, prepared, resolve
from motcua.simulation.timers import CountingNotifier, InlinePump, RedisPump, TimerPump
from motcua.simulation.workload import Arrival, draw_workload, working_days
from motcua.simulation.year import YearRun, run_year
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import DatabaseNotEmpty
from motcua.workflow.plan.metrics import TargetResult, evaluate, plan_inputs
from motcua.workflow.reports.par766 import FeedbackCounts, Scorecard
from motcua.workflow.reports.projection import Bieu06, DossierFacts
from motcua.workflow.reports.service import ReportService

__all__ = ["DemoResult", "run_demo"]

QUARTERS = (("Quý I", 1, 3), ("Quý II", 4, 6), ("Quý III", 7, 9), ("Quý IV", 10, 12))


@dataclass(frozen=True)
class DemoResult:
    scenario: Scenario
    options: DemoOptions
    run: YearRun
    cast: Cast
    arrivals: int
    periods: tuple[tuple[str, Bieu06], ...]  # the four quarters, then the year
    card: Scorecard
    targets: tuple[TargetResult, ...]
    facts: tuple[DossierFacts, ...]
    delivered: dict[str, int]
    head_hashes: dict[str, str]
    seconds: float
    agency: str
    feedback: FeedbackCounts = field(default_factory=FeedbackCounts)  # the year's citizens' feedback

    @property
    def year_report(self) -> Bieu06:
        return self.periods[-1][1]


def _open(scenario: Scenario, clock: ManualClock) -> Motcua:
    # nothing published: a simulated year must not depend on (or reach) a DVCQG portal configured around it
    app = open_motcua(scenario.database_url, clock=clock, office=scenario.office, observers=[], publish={})
    if found := app.store.find(CaseFilter(), limit=1).items:
        app.close()
        raise DatabaseNotEmpty(scenario.database_url.split("?")[0], len(found))
    return app


def _expected_minutes(arrivals: list[Arrival], days: int) -> dict[str, float]:
    minutes: dict[str, float] = {}
    for arrival in arrivals:
        code = arrival.procedure.field_code
        minutes[code] = minutes.get(code, 0.0) + arrival.fate.effort_minutes
    return {code: total / max(1, days) for code, total in minutes.items()}


def _pump(app: Motcua, clock: ManualClock, notifier: CountingNotifier, options: DemoOptions) -> TimerPump:
    if options.broker:
        return RedisPump(app, clock, notifier, options.broker, threads=options.threads)
    return InlinePump(app, clock, notifier)


def _reports(app: Motcua, year: int) -> tuple[tuple[tuple[str, Bieu06], ...], Scorecard]:
    reports = ReportService(app.reports, app.rules, app.store).caught_up()
    periods = [(label, reports.bieu06(date(year, first, 1), _month_end(year, last)))
               for label, first, last in QUARTERS]
    start, end = date(year, 1, 1), date(year, 12, 31)
    periods.append((f"Năm {year}", reports.bieu06(start, end)))
    return tuple(periods), reports.scorecard(start, end)


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def run_demo(options: DemoOptions, progress: Callable[[int], None] = lambda advance: None,
             on_total: Callable[[int], None] = lambda total: None) -> DemoResult:
    scenario = resolve(options)
    started = time.perf_counter()
    clock = ManualClock(datetime(options.year, 1, 1, tzinfo=VN_TZ))
    app = prepared(partial(_open, scenario, clock), options.out, scenario.fresh_file)
    try:
        rng = random.Random(options.seed)
        days = working_days(app.calendar, options.year)
        arrivals = draw_workload(rng, options.year, options.dossiers, app.catalogue, app.calendar)
        cast = draw_cast(rng, days, _expected_minutes(arrivals, len(days)))
        steps = plan_schedule(scenario.plan, days, rng)
        on_total(len(arrivals))
        notifier = CountingNotifier()
        pump = _pump(app, clock, notifier, options)
        try:
            feedback = feedback_arrivals(days, random.Random(f"{options.seed}-feedback"))  # the dossiers' draws kept
            year = run_year(app, clock, pump, cast=cast, days=days, arrivals=arrivals, plan=scenario.plan,
                            plan_steps=steps, progress=progress, feedback=feedback)
        finally:
            pump.close()
        periods, card = _reports(app, options.year)
        year_end = date(options.year, 12, 31)
        inputs, _ = plan_inputs(app.store.entries(), app.store.cases(), app.workflows.status_of, app.catalogue,
                                scenario.plan, start=date(options.year, 1, 1), end=year_end, as_of=year_end)
        facts = tuple(inputs.facts)
        targets = evaluate(scenario.plan, inputs)
        heads = {case.code: case.head_hash for case in app.store.cases()}
        return DemoResult(scenario, options, year, cast, len(arrivals), periods, card, targets, facts,
                          dict(notifier.delivered), heads, time.perf_counter() - started, app.desk.agency,
                          inputs.feedback)
    finally:
        app.close()
