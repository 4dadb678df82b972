"""The year loop: arrivals, the desk's rounds, the plan's steps and the timers, in the order of time.

Every working day has rounds (at opening, then every hour): the leader looks at the apology list and the
specialists take dossiers from their queues. At the start of each half-day the timers due by then fire
(through the pump): a deadline mark is recorded at that check, up to a half-day after its due instant —
dates, which decide early / on time / late, are not affected by the half-day. Between
rounds the agenda's steps run at their own instants, the manual clock moving forward to each.
Nothing reads the wall clock; the only randomness was drawn before (workload, cast, plan schedule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from motcua.adapters.bootstrap import Motcua
from motcua.simulation.cast import Cast
from motcua.simulation.feedback import FeedbackArrival, FeedbackRun
from motcua.simulation.flow import Agenda, Office, Tally
from motcua.simulation.plan_progress import TaskStep
from motcua.simulation.timers import TimerPump
from motcua.simulation.work import Work
from motcua.simulation.workload import Arrival
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.plan.intake import load_tasks
from motcua.workflow.plan.model import Plan

__all__ = ["YearRun", "run_year"]

ROUND = timedelta(hours=1)


@dataclass(frozen=True)
class YearRun:
    tally: Tally
    timers_fired: int
    plan_tasks: int


class _Year:
    def __init__(self, app: Motcua, clock: ManualClock, pump: TimerPump, cast: Cast) -> None:
        self.app, self.clock, self.pump = app, clock, pump
        self.agenda = Agenda()
        self.office = Office(app, clock, cast, self.agenda)
        self.work = Work(self.office)
        self.timers_fired = 0

    def schedule_rounds(self, days: Sequence[date]) -> None:
        hours = self.app.calendar.hours
        for day in days:
            opening = datetime.combine(day, hours.opening, tzinfo=VN_TZ)
            closing = datetime.combine(day, hours.closing, tzinfo=VN_TZ)
            self.agenda.at(opening, partial(self.work.start_day, day))
            for interval_start, _ in hours.intervals:  # timers fire at the start of each half-day
                self.agenda.at(datetime.combine(day, interval_start, tzinfo=VN_TZ), self.fire_timers)
            moment = opening
            while moment < closing - timedelta(minutes=20):
                self.agenda.at(moment, self.round)
                moment += ROUND

    def round(self) -> None:
        self.work.review()
        self.work.round()

    def fire_timers(self) -> None:
        self.timers_fired += self.pump.run_until(self.clock.now())

    def schedule_arrivals(self, arrivals: Sequence[Arrival], progress: Callable[[int], None]) -> None:
        def arrive(arrival: Arrival) -> None:
            self.office.arrive(arrival)
            progress(1)

        for arrival in arrivals:
            self.agenda.at(arrival.at, partial(arrive, arrival))

    def schedule_plan(self, plan: Plan, first_day: date, steps: Sequence[TaskStep]) -> None:
        def load() -> None:
            created = load_tasks(self.app.service, self.app.rules, plan).created
            self.office.tally.transitions += len(created)

        self.agenda.at(datetime.combine(first_day, time(7, 45), tzinfo=VN_TZ), load)
        for step in steps:
            self.agenda.at(step.at, partial(self._task_step, step))

    def _task_step(self, step: TaskStep) -> None:
        case = self.app.service.fire(step.code, step.trigger, step.actor, step.data)
        self.office.tally.transitions += 1
        if case.state.get("lifecycle") == "done":
            self.office.tally.tasks_done += 1

    def run(self, end: datetime) -> None:
        while (instant := self.agenda.next_instant()) is not None and instant <= end:
            _, step = self.agenda.pop()
            self.office.move_to(instant)
            step()
        self.timers_fired += self.pump.run_until(end)


def run_year(
    app: Motcua, clock: ManualClock, pump: TimerPump, *, cast: Cast, days: Sequence[date],
    arrivals: Sequence[Arrival], plan: Plan | None, plan_steps: Sequence[TaskStep],
    progress: Callable[[int], None] = lambda advance: None, feedback: Sequence[FeedbackArrival] = (),
) -> YearRun:
    """Play the year; ``progress`` is told of every dossier that arrives; ``feedback``: the citizens' feedback."""
    year = _Year(app, clock, pump, cast)
    year.schedule_rounds(days)
    year.schedule_arrivals(arrivals, progress)
    FeedbackRun(app, year.agenda, cast, year.office.tally).schedule(feedback)
    if plan is not None:
        year.schedule_plan(plan, days[0], plan_steps)
    end = datetime.combine(days[-1].replace(month=12, day=31), time(23, 59), tzinfo=VN_TZ)
    year.run(end)
    return YearRun(year.office.tally, year.timers_fired, len(plan.occurrences()) if plan else 0)
