"""``motcua demo --province``: a province's 2025 on one database, across the merger of 1 July.

The units are those of ``definitions/units/``: the four communes of Hải Dương until 30/06/2025, then phường
Thành Đông (their successor) and the other Hải Phòng units from 01/07/2025. Each unit has its own office — desk,
specialists, leaders, hours (:class:`~motcua.simulation.flow.Office`, :class:`~motcua.simulation.work.Work`) —
while every dossier goes through the one engine, store and timers of the province:

- dossiers arrive at a unit in force on the day (its share of the province's work: one, or as many as the units
  it succeeds), and some are received at one unit for another unit of the same province, which decides them
  (Decree 118: reception whatever the applicant's commune);
- the rule set follows the day of reception by itself (Decree 61 until 30/06, Decree 118 from 01/07);
- at 00:00 on the day a merger takes effect, :func:`~motcua.workflow.units.succession.apply_successions` moves
  every open case of the old units to their successor (one ``transfer`` entry each); the old units' officers
  finish what they held, now under the successor's code, and arrivals go to the new units;
- each unit receives citizens' feedback (phản ánh, kiến nghị) as one commune's demo does
  (:mod:`motcua.simulation.feedback`), in the same proportion to its dossiers (:func:`feedback_share`);
- the timers fire at the start of each half-day, as in one commune's demo.

Then the reporting projection is caught up once, and Biểu 06, the Decision 766 scorecard (with its feedback
indicators) and the reform plan's feedback rows for the year are computed for each unit and for the whole database
(the province). Nothing reads the wall clock; the only randomness is drawn from
``random.Random(seed)`` before the year is played.
"""

from __future__ import annotations

import random
import time as wall
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path

from motcua.adapters.bootstrap import Motcua, open_motcua
from motcua.definitions.units import unit_calendars
from motcua.simulation.cast import Cast, Staff, draw_cast
from motcua.simulation.feedback import FEEDBACK_PER_YEAR, FeedbackRun, feedback_arrivals
from motcua.simulation.flow import Agenda, Office, Tally
from motcua.simulation.scenario import DEMO_DB_NAME, MAX_DOSSIERS, DemoOptions, prepared, writable_folder
from motcua.simulation.timers import CountingNotifier, InlinePump
from motcua.simulation.work import Work
from motcua.simulation.workload import MONTH_FACTOR, Arrival, draw_workload, person_name, working_days
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor
from motcua.workflow.engine.queries import CaseFilter
from motcua.workflow.errors import DatabaseNotEmpty, InvalidInput
from motcua.workflow.feedback.metrics import feedback_cases, feedback_counts
from motcua.workflow.reports.par766 import FeedbackCounts, Scorecard
from motcua.workflow.reports.projection import Bieu06
from motcua.workflow.reports.service import ReportService
from motcua.workflow.units.model import Unit, UnitRegister, next_day
from motcua.workflow.units.succession import SuccessionReport, apply_successions
from motcua.workflow.worktime.calendar import WorkingCalendar

__all__ = ["FEEDBACK_FLOOR", "PROVINCE_DOSSIERS", "PROVINCE_YEAR", "ProvinceOptions", "ProvinceResult", "UnitYear",
           "feedback_share", "run_province"]

PROVINCE_YEAR = 2025
PROVINCE_DOSSIERS = 3000
ELSEWHERE_SHARE = 0.08  # dossiers received at one unit for another unit of the same province, which decides them
ROUND = timedelta(hours=1)
FEEDBACK_FLOOR = 6  # pieces of feedback a unit receives at least in its part of the year: something to count


@dataclass(frozen=True)
class ProvinceOptions:
    dossiers: int = PROVINCE_DOSSIERS
    seed: int = 1
    db: str | None = None  # default: a fresh SQLite file in ``out``
    out: Path = Path("demo-output")


@dataclass(frozen=True)
class UnitYear:
    """One unit's part of the year: in force from ``first_day`` to ``last_day`` of it, and what it got."""

    unit: Unit
    first_day: date
    last_day: date
    arrivals: int
    received_monthly: tuple[int, ...]  # dossiers received at the unit, per month (numbered with its code)
    report: Bieu06  # Biểu 06 of the year, of the dossiers counted under the unit
    card: Scorecard  # the Decision 766 indicators of the year, its feedback indicators included
    feedback: FeedbackCounts  # the reform plan's feedback rows of the year: the feedback the unit holds


@dataclass(frozen=True)
class ProvinceResult:
    options: ProvinceOptions
    database_url: str
    database_file: Path | None
    units: tuple[UnitYear, ...]
    province: Bieu06  # Biểu 06 of the year, every dossier of the database
    province_card: Scorecard
    province_feedback: FeedbackCounts
    tally: Tally
    timers_fired: int
    mergers: tuple[SuccessionReport, ...]
    seconds: float

    @property
    def arrivals(self) -> int:
        return sum(unit.arrivals for unit in self.units)

    @property
    def transferred(self) -> int:
        return sum(report.moved for report in self.mergers)


# -- the options and the database ------------------------------------------------------------------


def _database(options: ProvinceOptions) -> tuple[str, Path | None]:
    """The database's URL and, unless ``--db`` names one, the demo's own file in ``--out``: checked, not written."""
    if options.dossiers < 1 or options.dossiers > MAX_DOSSIERS:
        raise InvalidInput("--dossiers", f"{options.dossiers}: give a number from 1 to {MAX_DOSSIERS:,}")
    writable_folder(options.out)
    if options.db is not None:
        return options.db, None
    path = options.out / DEMO_DB_NAME
    return f"sqlite:///{path}?synchronous=normal", path


def _open(url: str, clock: ManualClock) -> Motcua:
    # every arrival names the unit it is received at: the desk's home unit is never used
    app = open_motcua(url, clock=clock, observers=[], publish={})
    if found := app.store.find(CaseFilter(), limit=1).items:
        app.close()
        raise DatabaseNotEmpty(url.split("?", maxsplit=1)[0], len(found))
    return app


# -- who works where, and what arrives ---------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    unit: Unit
    days: tuple[date, ...]  # its working days of the year while in force
    weight: float  # its share of the province's work per day: one, or the units it succeeds


def _spans(register: UnitRegister, calendars: Mapping[str, WorkingCalendar], year: int) -> list[_Span]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    spans = []
    for unit in sorted(register.units, key=lambda unit: (unit.valid_from or date.min, unit.code)):
        start, end = max(first, unit.valid_from or first), min(last, unit.valid_to or last)
        days = tuple(day for day in working_days(calendars[unit.code], year) if start <= day <= end)
        if days:
            predecessors = sum(unit.code in other.successors for other in register.units)
            spans.append(_Span(unit, days, float(max(1, predecessors))))
    return spans


def _shares(spans: Sequence[_Span], total: int) -> list[int]:
    """``total`` dossiers split by weight × the unit's days (busier months weigh more), largest remainder."""
    loads = [span.weight * sum(MONTH_FACTOR[day.month - 1] for day in span.days) for span in spans]
    exact = [total * load / sum(loads) for load in loads]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(len(spans)), key=lambda index: exact[index] - counts[index], reverse=True)
    for index in by_remainder[:total - sum(counts)]:
        counts[index] += 1
    return counts


def feedback_share(dossiers: int) -> int:
    """The feedback of a unit that receives ``dossiers`` in the year: one commune's demo's proportion
    (:data:`FEEDBACK_PER_YEAR` for its default year of dossiers), at least :data:`FEEDBACK_FLOOR`."""
    return max(FEEDBACK_FLOOR, round(dossiers * FEEDBACK_PER_YEAR / DemoOptions.dossiers))


def _cast(rng: random.Random, days: Sequence[date], arrivals: Sequence[Arrival]) -> Cast:
    """One unit's people, sized for its work like one commune's (:func:`draw_cast`), each with a name of their own."""
    minutes: dict[str, float] = {}
    for arrival in arrivals:
        code = arrival.procedure.field_code
        minutes[code] = minutes.get(code, 0.0) + arrival.fate.effort_minutes / max(1, len(days))
    cast = draw_cast(rng, days, minutes)

    def renamed(staff: Staff) -> Staff:
        actor = Actor(person_name(rng), staff.actor.roles)
        return Staff(actor, staff.title, staff.fields, staff.daily_minutes, staff.absent)

    return Cast([renamed(s) for s in cast.desk], [renamed(s) for s in cast.specialists],
                [renamed(s) for s in cast.leaders])


# -- the year ----------------------------------------------------------------------------------------


class _ProvinceYear:
    def __init__(self, app: Motcua, clock: ManualClock, pump: InlinePump, register: UnitRegister) -> None:
        self.app, self.clock, self.pump, self.register = app, clock, pump, register
        self.agenda = Agenda()
        self.offices: dict[str, Office] = {}
        self.timers_fired = 0
        self.mergers: list[SuccessionReport] = []

    def open_office(self, span: _Span, cast: Cast, calendar: WorkingCalendar, last_day: date) -> None:
        """The unit's office, and its rounds from its first day to the year's end (after a merger its officers
        finish the dossiers they held)."""
        office = self.offices[span.unit.code] = Office(self.app, self.clock, cast, self.agenda, unit=span.unit.code,
                                                       calendar=calendar)
        work = Work(office)
        day = span.days[0]
        while day <= last_day:
            if calendar.is_working_day(day):
                self._rounds(work, calendar, day)
            day += timedelta(days=1)

    def _rounds(self, work: Work, calendar: WorkingCalendar, day: date) -> None:
        hours = calendar.hours_on(day)
        opening = datetime.combine(day, hours.opening, tzinfo=VN_TZ)
        closing = datetime.combine(day, hours.closing, tzinfo=VN_TZ)
        self.agenda.at(opening, partial(work.start_day, day))
        moment = opening
        while moment < closing - timedelta(minutes=20):
            self.agenda.at(moment, partial(self._round, work))
            moment += ROUND

    @staticmethod
    def _round(work: Work) -> None:
        work.review()
        work.round()

    def schedule_timers(self, days: Sequence[date]) -> None:
        for day in days:  # at the start of each half-day, as in one commune's demo
            for interval_start, _ in self.app.calendar.hours_on(day).intervals:
                self.agenda.at(datetime.combine(day, interval_start, tzinfo=VN_TZ), self._fire_timers)

    def _fire_timers(self) -> None:
        self.timers_fired += self.pump.run_until(self.clock.now())

    def schedule_arrival(self, arrival: Arrival, office: Office, decider: Office | None,
                         progress: Callable[[int], None]) -> None:
        def arrive() -> None:
            office.arrive(arrival, decider)
            progress(1)

        self.agenda.at(arrival.at, arrive)

    def schedule_mergers(self, year: int) -> None:
        """At 00:00 of each day a succession takes effect in the year: the successors take the open cases on."""
        effective = {next_day(unit.valid_to) for unit in self.register.units
                     if unit.successors and unit.valid_to is not None and unit.valid_to.year == year}
        for day in sorted(effective):
            if day.year == year:
                self.agenda.at(datetime.combine(day, time(0, 0), tzinfo=VN_TZ), self._merge)

    def _merge(self) -> None:
        self.mergers.append(apply_successions(self.app.service, self.app.store, self.register, self.clock.now()))

    def run(self, end: datetime) -> None:
        while (instant := self.agenda.next_instant()) is not None and instant <= end:
            _, step = self.agenda.pop()
            if instant > self.clock.now():
                self.clock.set(instant)
            step()
        self.timers_fired += self.pump.run_until(end)

    def tally(self) -> Tally:
        total = Tally()
        for office in self.offices.values():
            for name, value in vars(office.tally).items():
                if isinstance(value, int):
                    setattr(total, name, getattr(total, name) + value)
            for trigger, count in office.tally.by_trigger.items():
                total.by_trigger[trigger] = total.by_trigger.get(trigger, 0) + count
        return total


def _schedule_feedback(year: _ProvinceYear, span: _Span, cast: Cast, calendar: WorkingCalendar, *,
                       rng: random.Random, count: int) -> None:
    """The unit's citizens' feedback of its part of the year, received at it by its own officers."""
    office = year.offices[span.unit.code]
    run = FeedbackRun(year.app, year.agenda, cast, office.tally, unit=span.unit.code, calendar=calendar)
    run.schedule(feedback_arrivals(span.days, rng, count))


def _elsewhere(rng: random.Random, span: _Span, spans: Sequence[_Span], day: date) -> Unit | None:
    """Another unit of the same province in force on ``day`` that decides the dossier, now and then."""
    if rng.random() >= ELSEWHERE_SHARE:
        return None
    others = [other.unit for other in spans if other.unit.province == span.unit.province
              and other.unit.code != span.unit.code and other.unit.live_at(day)]
    return rng.choice(others) if others else None


def _play(app: Motcua, clock: ManualClock, options: ProvinceOptions, progress: Callable[[int], None],
          on_total: Callable[[int], None]) -> tuple[_ProvinceYear, list[_Span], list[int]]:
    register = app.desk.units.register
    calendars = unit_calendars(register)
    rng = random.Random(options.seed)
    spans = _spans(register, calendars, PROVINCE_YEAR)
    counts = _shares(spans, options.dossiers)
    workloads = [draw_workload(rng, PROVINCE_YEAR, count, app.catalogue, calendars[span.unit.code], days=span.days)
                 if count else [] for span, count in zip(spans, counts, strict=True)]
    casts = [_cast(rng, span.days, arrivals) for span, arrivals in zip(spans, workloads, strict=True)]
    on_total(sum(counts))
    pump = InlinePump(app, clock, CountingNotifier())
    year = _ProvinceYear(app, clock, pump, register)
    last_day = date(PROVINCE_YEAR, 12, 31)
    for span, cast in zip(spans, casts, strict=True):
        year.open_office(span, cast, calendars[span.unit.code], last_day)
    for span, arrivals in zip(spans, workloads, strict=True):
        for arrival in arrivals:
            decider = _elsewhere(rng, span, spans, arrival.at.date())
            deciding = year.offices[decider.code] if decider is not None else None
            year.schedule_arrival(arrival, year.offices[span.unit.code], deciding, progress)
    for span, count, cast in zip(spans, counts, casts, strict=True):
        _schedule_feedback(year, span, cast, calendars[span.unit.code], count=feedback_share(count),
                           rng=random.Random(f"{options.seed}-feedback-{span.unit.code}"))  # the dossiers' draws kept
    year.schedule_timers(working_days(app.calendar, PROVINCE_YEAR))
    year.schedule_mergers(PROVINCE_YEAR)
    year.run(datetime.combine(last_day, time(23, 59), tzinfo=VN_TZ))
    return year, spans, counts


# -- the reports -------------------------------------------------------------------------------------


def _received_monthly(app: Motcua) -> dict[str, list[int]]:
    """Dossiers received per receiving unit and month: the unit is the code's prefix (numbered where received)."""
    monthly: dict[str, list[int]] = {}
    for case in app.store.cases():
        received = case.attributes.get("received_at")
        if case.definition_key != "tthc-dossier" or not isinstance(received, str):
            continue
        unit = case.code.rsplit("-", 2)[0]
        monthly.setdefault(unit, [0] * 12)[datetime.fromisoformat(received).month - 1] += 1
    return monthly


def run_province(options: ProvinceOptions, progress: Callable[[int], None] = lambda advance: None,
                 on_total: Callable[[int], None] = lambda total: None) -> ProvinceResult:
    url, path = _database(options)
    started = wall.perf_counter()
    clock = ManualClock(datetime(PROVINCE_YEAR, 1, 1, tzinfo=VN_TZ))
    app = prepared(partial(_open, url, clock), options.out, path)
    try:
        year, spans, counts = _play(app, clock, options, progress, on_total)
        reports = ReportService(app.reports, app.rules, app.store).caught_up()
        start, end = date(PROVINCE_YEAR, 1, 1), date(PROVINCE_YEAR, 12, 31)
        monthly = _received_monthly(app)
        units = tuple(
            UnitYear(span.unit, span.days[0], span.days[-1], count, tuple(monthly.get(span.unit.code, [0] * 12)),
                     reports.bieu06(start, end, units=frozenset({span.unit.code})),
                     reports.scorecard(start, end, units=frozenset({span.unit.code})),
                     feedback_counts(feedback_cases(app.store, frozenset({span.unit.code})), start, end,
                                     units=frozenset({span.unit.code})))
            for span, count in zip(spans, counts, strict=True))
        return ProvinceResult(options, url, path, units, reports.bieu06(start, end), reports.scorecard(start, end),
                              feedback_counts(feedback_cases(app.store), start, end), year.tally(),
                              year.timers_fired, tuple(year.mergers), wall.perf_counter() - started)
    finally:
        app.close()
