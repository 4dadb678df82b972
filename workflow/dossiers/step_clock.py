"""The clock of each step of a dossier's internal process: when it started and ended, the working time it took, and
the warning its holder gets before the step's own limit (one-stop-shop.md, step budgets).

A procedure with published ``steps`` (:mod:`motcua.workflow.dossiers.internal_process`) has each step tied to a
state of the dossier's lifecycle (:data:`STEP_STATES`). The action ``step_clock``, named on every transition that
moves the lifecycle between those states, closes the step the dossier leaves and opens the one it enters:

- a step's budget is the working time the dossier may spend in it **over all its visits** (a dossier sent back to
  the specialist continues the specialist's budget, it does not get a new one), so that steps kept within their
  budgets keep the dossier within its legal time;
- a pause (supplement, payment: :data:`PAUSE_STATES`) leaves the step like any other move: the time paused is not
  spent, and coming back opens the step again with what remains of its budget;
- opening a step with a budget arms the timer ``step_<key>`` (trigger ``warn_step``) at the step's limit minus the
  rule set's ``step_warning_working_hours`` — at the limit itself when the step is shorter than that — on the
  deciding unit's calendar; leaving the step cancels it. No timer when the budget is already spent.

What each step did is kept in the dossier's attribute ``process_steps`` (key → :class:`StepRecord` as JSON), so that
the control sheet reads it from the audit log alone (:mod:`motcua.workflow.auditing.control_sheet`). A procedure
without steps gets no attribute, no timer, and its control sheet keeps judging each hand-over by the appointment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Protocol

from motcua.workflow.dossiers.catalogue import Catalogue, RuleSet
from motcua.workflow.dossiers.internal_process import STEP_KEYS, ProcessStep, StepKey
from motcua.workflow.dossiers.sla import SlaClock, warning_marks
from motcua.workflow.engine.clock import instant, text, to_vietnam_time
from motcua.workflow.engine.model import CancelTimer, Effect, JsonValue, SetTimer, TimerChange
from motcua.workflow.engine.registry import Context, Outcome, Registry
from motcua.workflow.worktime.calendar import WorkingCalendar
from motcua.workflow.worktime.hours import Timeliness

__all__ = [
    "NOTIFY_ACTION",
    "PAUSE_STATES",
    "STEPS_ATTRIBUTE",
    "STEP_CLOCK_ACTION",
    "STEP_HOLDERS",
    "STEP_STATES",
    "WARN_TRIGGER",
    "StepRecord",
    "closed",
    "judge",
    "opened",
    "records",
    "register_steps",
    "step_of",
    "timer_name",
    "warning_timer",
]

STEP_STATES: Final[Mapping[StepKey, str]] = {
    "reception": "received", "specialist": "processing", "leader": "awaiting_approval", "release": "approved",
    "return": "result_ready",
}
"""The lifecycle state (definitions/workflows/tthc-dossier.v1.yaml) in which a dossier is in each step."""
PAUSE_STATES: Final = frozenset({"supplement_requested", "awaiting_payment"})
"""The lifecycle states whose clock is paused: moving there interrupts a step, it does not end it."""
STEP_HOLDERS: Final[Mapping[StepKey, str]] = {
    "reception": "officer", "specialist": "specialist", "leader": "leader", "release": "officer", "return": "officer",
}
"""The role a step's warning goes to (the specialist assigned, the leader submitted to, else the one-stop desk)."""
WARN_TRIGGER: Final = "warn_step"
STEP_CLOCK_ACTION: Final = "step_clock"
NOTIFY_ACTION: Final = "notify_step_warning"
STEPS_ATTRIBUTE: Final = "process_steps"
_STATE_STEPS: Final[Mapping[str, StepKey]] = {state: key for key, state in STEP_STATES.items()}


def step_of(state: str | None) -> StepKey | None:
    """The step a dossier in lifecycle ``state`` is in, if any."""
    return _STATE_STEPS.get(state) if state is not None else None


def timer_name(key: StepKey) -> str:
    return f"step_{key}"


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What one step of a dossier did. ``since`` is set while the step is open (the start of the current visit);
    ``due`` is the limit of the latest visit (its start plus what remained of the budget); ``spent_s`` the working
    seconds of the visits closed; ``budget_s`` the budget in working seconds on the deciding unit's calendar
    (``None``: a step that counts no time)."""

    label: str
    budget: str | None  # the budget as the decision writes it (0,5 ngày làm việc)
    budget_s: int | None
    holder: str | None
    started: datetime
    since: datetime | None
    due: datetime | None
    spent_s: int
    ended: datetime | None

    @property
    def open(self) -> bool:
        return self.since is not None

    @property
    def spent(self) -> timedelta:
        return timedelta(seconds=self.spent_s)

    @property
    def budget_time(self) -> timedelta | None:
        return timedelta(seconds=self.budget_s) if self.budget_s is not None else None

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "label": self.label, "budget": self.budget, "budget_s": self.budget_s, "holder": self.holder,
            "started": text(self.started), "since": _text(self.since), "due": _text(self.due),
            "spent_s": self.spent_s, "ended": _text(self.ended),
        }

    @classmethod
    def from_json(cls, value: JsonValue) -> StepRecord | None:
        """The record back from :meth:`as_json`; ``None`` for anything else."""
        if not isinstance(value, dict) or not isinstance(value.get("label"), str):
            return None
        started, spent = value.get("started"), value.get("spent_s")
        if not isinstance(started, str) or not isinstance(spent, int):
            return None
        budget, budget_s, holder = value.get("budget"), value.get("budget_s"), value.get("holder")
        return cls(
            label=str(value["label"]), budget=budget if isinstance(budget, str) else None,
            budget_s=budget_s if isinstance(budget_s, int) else None,
            holder=holder if isinstance(holder, str) else None,
            started=instant(started), since=_instant(value.get("since")), due=_instant(value.get("due")),
            spent_s=spent, ended=_instant(value.get("ended")),
        )


def _text(moment: datetime | None) -> str | None:
    return text(moment) if moment is not None else None


def _instant(value: JsonValue | None) -> datetime | None:
    return instant(value) if isinstance(value, str) else None


def records(attributes: Mapping[str, JsonValue]) -> dict[StepKey, StepRecord]:
    """The step records a dossier's attributes hold, by step."""
    stored = attributes.get(STEPS_ATTRIBUTE)
    if not isinstance(stored, dict):
        return {}
    found = {key: StepRecord.from_json(stored.get(key)) for key in STEP_KEYS}
    return {key: record for key, record in found.items() if record is not None}


def opened(
    previous: StepRecord | None, step: ProcessStep, budget: timedelta | None, holder: str | None, *,
    now: datetime, calendar: WorkingCalendar,
) -> StepRecord:
    """The step opened at ``now``: its limit is ``now`` plus what remains of ``budget`` after earlier visits."""
    spent = previous.spent_s if previous is not None else 0
    due = None
    if budget is not None:
        remaining = budget - timedelta(seconds=spent)
        due = calendar.add_working(now, remaining) if remaining > timedelta(0) else to_vietnam_time(now)
    return StepRecord(
        label=step.label, budget=step.budget.label if step.budget is not None else None,
        budget_s=int(budget.total_seconds()) if budget is not None else None,
        holder=holder if holder else (previous.holder if previous is not None else None),
        started=previous.started if previous is not None else now, since=now, due=due, spent_s=spent,
        ended=previous.ended if previous is not None else None,
    )


def closed(record: StepRecord, now: datetime, calendar: WorkingCalendar) -> StepRecord:
    """The step left at ``now``: the working time of this visit is added to what it spent."""
    if record.since is None:
        return record
    visit = calendar.elapsed_working(record.since, now)
    return replace(record, since=None, spent_s=record.spent_s + int(visit.total_seconds()), ended=now)


def warning_timer(
    key: StepKey, record: StepRecord, now: datetime, calendar: WorkingCalendar, lead: timedelta
) -> SetTimer | None:
    """The warning of an open step: ``lead`` working time before its limit, at the limit when that is already
    past; none when the limit itself is (the budget is spent) or the step counts no time."""
    if record.due is None or record.due <= now:
        return None
    early = calendar.subtract_working(record.due, lead) if lead > timedelta(0) else record.due
    return SetTimer(timer_name(key), WARN_TRIGGER, early if early > now else record.due, {"step": key})


def judge(record: StepRecord) -> Timeliness | None:
    """A closed step against its own budget: late when it spent more working time than the budget; else early
    when it ended on a Vietnam calendar date before its limit's, on time on that date. ``None`` for a step that
    counts no time or is still open."""
    if record.budget_s is None or record.due is None or record.ended is None or record.open:
        return None
    if record.spent_s > record.budget_s:
        return Timeliness.LATE
    ended, due = to_vietnam_time(record.ended).date(), to_vietnam_time(record.due).date()
    return Timeliness.EARLY if ended < due else Timeliness.ON_TIME


class StepServices(Protocol):
    """What the step actions need of the dossier services
    (:class:`~motcua.workflow.dossiers.actions.DossierServices`)."""

    @property
    def catalogue(self) -> Catalogue: ...

    def rule_set(self, context: Context) -> RuleSet: ...

    def clock_for(self, context: Context) -> SlaClock: ...


class _StepActions:
    def __init__(self, services: StepServices) -> None:
        self.s = services

    def _step(self, context: Context, key: StepKey) -> ProcessStep | None:
        code = context.attributes.get("procedure")
        if not isinstance(code, str) or code not in self.s.catalogue:
            return None
        return next((step for step in self.s.catalogue.get(code).steps if step.key == key), None)

    def step_clock(self, context: Context) -> Outcome:
        left, entered = step_of(context.case.state.get("lifecycle")), step_of(context.state.get("lifecycle"))
        if left == entered:
            return Outcome()
        clock = self.s.clock_for(context)
        kept, timers = records(context.attributes), list[TimerChange]()
        if left is not None and left in kept and kept[left].open:
            kept[left] = closed(kept[left], context.now, clock.calendar)
            timers.append(CancelTimer(timer_name(left)))
        step = self._step(context, entered) if entered is not None else None
        if entered is not None and step is not None:
            budget = step.budget.duration(clock.working_day) if step.budget is not None else None
            kept[entered] = opened(kept.get(entered), step, budget, _holder(entered, context), now=context.now,
                                   calendar=clock.calendar)
            lead = timedelta(hours=self.s.rule_set(context).step_warning_working_hours)
            warning = warning_timer(entered, kept[entered], context.now, clock.calendar, lead)
            if warning is not None:
                timers.append(warning)
        if not kept:
            return Outcome()
        stored: dict[str, JsonValue] = {key: record.as_json() for key, record in kept.items()}
        return Outcome(attributes={STEPS_ATTRIBUTE: stored}, timers=tuple(timers))

    def notify_step_warning(self, context: Context) -> Outcome:
        step = next((key for key in STEP_KEYS if key == context.data.get("step")), None)
        record = records(context.attributes).get(step) if step is not None else None
        if step is None or record is None or not record.open:
            return Outcome()
        holder = context.attributes.get("assignee") if step == "specialist" else record.holder
        payload: dict[str, JsonValue] = {
            "event": "step_due_soon", "role": STEP_HOLDERS[step], "dossier": context.case.code,
            "at": text(context.now), "process_step": step, "step_label": record.label,
            "holder": holder if isinstance(holder, str) else None, "step_due": _text(record.due),
            **warning_marks(record.due, context.now),
        }
        return Outcome(effects=(Effect("notify", payload),))


def _holder(key: StepKey, context: Context) -> str | None:
    """Who holds a step as it opens: the officer who received, the specialist assigned, the leader submitted to."""
    value: JsonValue | None = None
    if key == "reception":
        value = context.actor.name
    elif key == "specialist":
        value = context.attributes.get("assignee")
    elif key == "leader":
        value = context.data.get("approver")
    return value if isinstance(value, str) and value else None


def register_steps(registry: Registry, services: StepServices) -> None:
    """Name the step actions in a dossier registry: ``step_clock`` (arms ``warn_step``) and the warning."""
    actions = _StepActions(services)
    registry.add_action(STEP_CLOCK_ACTION, actions.step_clock, frozenset({WARN_TRIGGER}))
    registry.add_action(NOTIFY_ACTION, actions.notify_step_warning)
