"""The guards and actions that ``plan-task`` definitions name: reminders, overdue marks, evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from motcua.workflow.dossiers.catalogue import RuleBook
from motcua.workflow.dossiers.sla import DUE_SOON_TIMER, OVERDUE_TIMER, SlaClock, attribute_instant, warning_marks
from motcua.workflow.engine.clock import VN_TZ, text
from motcua.workflow.engine.model import Effect, JsonValue
from motcua.workflow.engine.registry import Action, Context, Outcome, Registry
from motcua.workflow.units.transfer import register_transfer

__all__ = ["TaskServices", "task_registry"]


@dataclass(frozen=True, slots=True)
class TaskServices:
    """``clocks``: the clock of each unit (by agency code) that has its own; ``clock`` for the others."""

    clock: SlaClock
    rules: RuleBook
    clocks: Mapping[str, SlaClock] = field(default_factory=dict)

    def clock_for(self, context: Context) -> SlaClock:
        unit = context.attributes.get("unit")
        return self.clocks.get(unit, self.clock) if isinstance(unit, str) else self.clock


def _due_instant(services: TaskServices, context: Context) -> datetime:
    """A task is due at the close of office hours on its due date."""
    due = date.fromisoformat(str(context.attributes["due"]))
    closing: time = services.clock_for(context).calendar.hours_on(due).closing
    return datetime.combine(due, closing, tzinfo=VN_TZ)


def _notify(context: Context, event: str, role: str, **extra: JsonValue) -> Effect:
    payload: dict[str, JsonValue] = {
        "event": event, "role": role, "task": context.case.code, "at": text(context.now),
        "owner": context.attributes.get("owner"), **extra,
    }
    return Effect("notify", payload)


class _TaskActions:
    def __init__(self, services: TaskServices) -> None:
        self.s = services

    def arm_task_timers(self, context: Context) -> Outcome:
        due = _due_instant(self.s, context)
        rules = self.s.rules.get(context.case.rule_set)
        timers = self.s.clock_for(context).timers(rules, due, context.now)
        return Outcome(attributes={"due_at": text(due)}, timers=timers)

    def close_task(self, context: Context) -> Outcome:
        rules = self.s.rules.get(context.case.rule_set)
        attributes: dict[str, JsonValue] = {"ended_at": text(context.now), "end_state": context.state["lifecycle"]}
        return Outcome(attributes=attributes, timers=self.s.clock_for(context).cancel_all(rules))

    def record_evidence(self, context: Context) -> Outcome:
        filed = context.attributes.get("evidence")
        documents = list(filed) if isinstance(filed, list) else []
        documents.append({"at": text(context.now), "by": context.actor.name, "document": context.data["document"]})
        return Outcome(attributes={"evidence": documents})

    def notify_due_soon(self, context: Context) -> Outcome:
        marks = warning_marks(attribute_instant(context.attributes, "due_at"), context.now)
        return Outcome(effects=(_notify(context, DUE_SOON_TIMER, "owner", **marks),))

    def notify_overdue(self, context: Context) -> Outcome:
        return Outcome(effects=(_notify(context, OVERDUE_TIMER, "leader"),))

    def notify_escalation(self, context: Context) -> Outcome:
        return Outcome(effects=(_notify(context, "escalation", "chairman", step=context.data.get("step")),))


def task_registry(services: TaskServices) -> Registry:
    registry = Registry()
    actions = _TaskActions(services)
    registry.add_action("arm_task_timers", actions.arm_task_timers,
                        frozenset({"mark_due_soon", "mark_overdue", "escalate"}))
    named: dict[str, Action] = {
        "close_task": actions.close_task,
        "record_evidence": actions.record_evidence,
        "notify_due_soon": actions.notify_due_soon,
        "notify_overdue": actions.notify_overdue,
        "notify_escalation": actions.notify_escalation,
    }
    for name, action in named.items():
        registry.add_action(name, action)
    register_transfer(registry, ("unit",))
    return registry
