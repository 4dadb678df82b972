"""One dossier's path through the one-stop shop, as calls on the real engine at simulated instants.

:class:`Office` owns the simulated world's bookkeeping (who holds which dossier, what is waiting for
whom) and fires every step through :class:`~motcua.workflow.engine.service.CaseService`, so each one is validated,
audited and may arm or cancel timers. Steps are scheduled on an :class:`Agenda` (a heap of instants);
the year loop (:mod:`motcua.simulation.year`) pops them in order and moves the manual clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from motcua.adapters.bootstrap import Motcua
from motcua.simulation.cast import Cast, Staff
from motcua.simulation.workload import Arrival
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock, to_vietnam_time
from motcua.workflow.engine.model import Actor, Case, JsonValue
from motcua.workflow.worktime.calendar import WorkingCalendar

__all__ = ["Agenda", "Dossier", "Office", "Tally"]

Step = Callable[[], None]
_OPEN_STATES = frozenset({"received", "processing", "supplement_requested", "awaiting_payment"})


class Agenda:
    """Steps by instant; equal instants keep the order they were scheduled in."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Step]] = []
        self._order = itertools.count()

    def at(self, instant: datetime, step: Step) -> None:
        heapq.heappush(self._heap, (instant, next(self._order), step))

    def next_instant(self) -> datetime | None:
        return self._heap[0][0] if self._heap else None

    def pop(self) -> tuple[datetime, Step]:
        instant, _, step = heapq.heappop(self._heap)
        return instant, step

    def __len__(self) -> int:
        return len(self._heap)


@dataclass
class Dossier:
    arrival: Arrival
    code: str = ""
    appointment: datetime | None = None
    apology_due: datetime | None = None
    lifecycle: str = "submitted"
    handler: Staff | None = None
    ready_from: datetime | None = None  # not workable before (waiting for a verification)
    worked: bool = False  # the specialist has opened it (supplement, fee, verification decided)
    apologised: bool = False
    decider: Office | None = None  # a province: the office of the deciding unit, when not the receiving one


@dataclass
class Tally:
    """What the simulation did, counted as it went (the reports count again from the log)."""

    transitions: int = 0
    received: int = 0
    refused: int = 0
    withdrawn: int = 0
    supplements: int = 0
    payments: int = 0
    apologies_in_time: int = 0
    apologies_late: int = 0
    results: int = 0
    dossiers_done: int = 0
    tasks_done: int = 0
    feedback: int = 0  # citizens' feedback received (simulation/feedback.py)
    by_trigger: dict[str, int] = field(default_factory=dict)


class Office:
    """The desk, the specialists and the leaders acting on dossiers through the engine.

    In a province each unit has its office (``unit``: its agency code, ``calendar``: its own hours); a
    dossier received here for another unit (:meth:`arrive` with ``decider``) is handled by that unit's office.
    Without ``unit`` the desk receives at its home unit, as one commune's demo does."""

    def __init__(self, app: Motcua, clock: ManualClock, cast: Cast, agenda: Agenda, *, unit: str | None = None,
                 calendar: WorkingCalendar | None = None) -> None:
        self.app, self.clock, self.cast, self.agenda = app, clock, cast, agenda
        self.unit = unit
        self.calendar: WorkingCalendar = calendar or app.calendar
        self.tally = Tally()
        self.queues: dict[str, list[Dossier]] = {p.actor.name: [] for p in cast.specialists}
        self.watch: list[tuple[datetime, int, Dossier]] = []  # apology deadlines to look at
        self._order = itertools.count()

    # -- engine calls -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return local_day(self.clock.now())

    def move_to(self, instant: datetime) -> None:
        if instant > self.clock.now():
            self.clock.set(instant)

    def fire(self, dossier: Dossier, trigger: str, actor: Actor, **data: JsonValue) -> Case:
        case = self.app.service.fire(dossier.code, trigger, actor, data)
        self._count(trigger)
        dossier.lifecycle = case.state["lifecycle"]
        # the legal appointment as pauses moved it: an apology's new date may not be before it
        dossier.appointment = _instant(case.attributes.get("appointment")) or dossier.appointment
        return case

    def _count(self, trigger: str) -> None:
        self.tally.transitions += 1
        self.tally.by_trigger[trigger] = self.tally.by_trigger.get(trigger, 0) + 1

    def later(self, minutes: int) -> datetime:
        """``minutes`` of office time from now (the next working instant when the office is closed)."""
        return self.calendar.add_working(self.now(), timedelta(minutes=minutes))

    def working_days_after(self, instant: datetime, days: int) -> datetime:
        return self.calendar.add_working(instant, self.calendar.hours.day_length * days)

    # -- reception ----------------------------------------------------------------------------------

    def arrive(self, arrival: Arrival, decider: Office | None = None) -> Dossier:
        dossier = Dossier(arrival, decider=decider)
        applicant = Applicant(arrival.applicant, phone=_phone(arrival.number))
        summary = arrival.procedure.name[:120]
        units = self._units(decider)
        if arrival.channel == "online":
            case = self.app.desk.submit(arrival.procedure.code, "online", applicant, self.cast.applicant,
                                        summary=summary, **units)
            self._opened(dossier, case, 1)
            first_look = self.calendar.effective_start(self.now() + timedelta(minutes=20))
            self.agenda.at(max(first_look, self.now()), lambda: self.receive_online(dossier))
            return dossier
        clerk = self.cast.clerk(self.today()).actor
        if arrival.fate.refused:
            case = self.app.desk.submit(arrival.procedure.code, arrival.channel, applicant, clerk, summary=summary,
                                        **units)
            self._opened(dossier, case, 1)
            self.agenda.at(self.now() + timedelta(minutes=4), lambda: self.refuse(dossier))
            return dossier
        case = self.app.desk.receive(arrival.procedure.code, arrival.channel, applicant, clerk, summary=summary,
                                     **units)
        self._opened(dossier, case, 2)
        self._received(dossier, case)
        return dossier

    def _units(self, decider: Office | None) -> dict[str, str]:
        """The desk's unit arguments: none for one commune's desk (its home unit), else this unit's code and,
        for a dossier decided elsewhere, the deciding unit's."""
        if self.unit is None:
            return {}
        deciding = decider.unit if decider is not None and decider.unit is not None else self.unit
        return {"unit": self.unit, "deciding_unit": deciding}

    def _opened(self, dossier: Dossier, case: Case, transitions: int) -> None:
        dossier.code, dossier.lifecycle = case.code, case.state["lifecycle"]
        self._count("open")
        if transitions > 1:
            self._count("receive")

    def receive_online(self, dossier: Dossier) -> None:
        if dossier.arrival.fate.refused:
            self.refuse(dossier)
            return
        case = self.fire(dossier, "receive", self.cast.clerk(self.today()).actor)
        self._received(dossier, case)

    def refuse(self, dossier: Dossier) -> None:
        reason = ("Hồ sơ thuộc thẩm quyền giải quyết của cơ quan khác" if dossier.arrival.channel == "online"
                  else "Hồ sơ không đủ điều kiện tiếp nhận theo quy định")
        self.fire(dossier, "refuse", self.cast.clerk(self.today()).actor, reason=reason)
        self.tally.refused += 1
        self.tally.dossiers_done += 1

    def _received(self, dossier: Dossier, case: Case) -> None:
        self.tally.received += 1
        dossier.appointment = _instant(case.attributes.get("appointment"))
        dossier.apology_due = _instant(case.attributes.get("apology_due"))
        decider = dossier.decider or self  # the unit that decides keeps the apology list and assigns the work
        if dossier.apology_due is not None:
            heapq.heappush(decider.watch, (dossier.apology_due, next(decider._order), dossier))
        if dossier.arrival.fate.digitize:
            self.move_to(self.now() + timedelta(minutes=2))
            self.fire(dossier, "digitize", self.cast.clerk(self.today()).actor, components=2)
        self.agenda.at(self.now() + timedelta(minutes=3), lambda: decider.assign(dossier))

    def assign(self, dossier: Dossier) -> None:
        handler = self._handler(dossier.arrival.procedure.field_code)
        electronic = dossier.arrival.channel == "online" or dossier.arrival.fate.digitize
        self.fire(dossier, "assign", self.cast.clerk(self.today()).actor, assignee=handler.actor.name,
                  electronic=electronic)
        dossier.handler = handler
        self.queues[handler.actor.name].append(dossier)
        if dossier.arrival.fate.withdraw:
            self.agenda.at(self.later(90), lambda: self.withdraw(dossier))

    def _handler(self, field_code: str) -> Staff:
        people = self.cast.handlers_of(field_code) or self.cast.specialists
        today = self.today()
        present = [person for person in people if person.present(today)] or people
        return min(present, key=lambda person: len(self.queues[person.actor.name]))

    def withdraw(self, dossier: Dossier) -> None:
        if dossier.lifecycle not in _OPEN_STATES:
            return
        self.fire(dossier, "request_withdrawal", self.cast.applicant, reason="Gia đình không còn nhu cầu giải quyết")
        self.move_to(self.now() + timedelta(minutes=10))
        self.fire(dossier, "confirm_withdrawal", self.cast.clerk(self.today()).actor)
        self.leave_queue(dossier)
        self.tally.withdrawn += 1
        self.tally.dossiers_done += 1

    def leave_queue(self, dossier: Dossier) -> None:
        if dossier.handler is not None and dossier in self.queues[dossier.handler.actor.name]:
            self.queues[dossier.handler.actor.name].remove(dossier)

    # -- apologies ----------------------------------------------------------------------------------

    def pop_watch(self) -> tuple[datetime, int, Dossier]:
        return heapq.heappop(self.watch)

    def clerk_actor(self) -> Actor:
        return self.cast.clerk(self.today()).actor

    def apologise(self, dossier: Dossier) -> None:
        signer = self.cast.signer(self.today())
        if dossier.apologised or signer is None:
            return
        new_date = self.working_days_after(max(self.now(), dossier.appointment or self.now()), 3).date()
        reason = ("Chờ xác minh của cơ quan có liên quan" if dossier.arrival.fate.complication_days
                  else "Số lượng hồ sơ tăng đột biến, công chức xử lý vắng")
        self.fire(dossier, "apologize", signer.actor, reason=reason, new_date=new_date.isoformat())
        dossier.apologised = True
        late = dossier.apology_due is not None and self.now() > dossier.apology_due
        if late:
            self.tally.apologies_late += 1
        else:
            self.tally.apologies_in_time += 1


def _instant(value: JsonValue | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _phone(number: int) -> str:
    return f"09{(number * 7919) % 100_000_000:08d}"


def local_day(instant: datetime) -> date:
    return to_vietnam_time(instant).date()
