"""The guards and actions that ``pakn`` (citizens' feedback) definitions name: the answer's deadline, the
classification deadline, extensions, publication, the sender's rating.

The time limits are the rule set's ``feedback`` (:class:`~motcua.workflow.dossiers.catalogue.FeedbackRule`); the
deadlines are counted in working days on the unit's calendar with the dossiers' :class:`SlaClock`, and the
warning, overdue and escalation timers are the dossiers' own (:meth:`SlaClock.timers`). Actions decide; they
never write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from motcua.workflow.dossiers.catalogue import FeedbackRule, RuleBook
from motcua.workflow.dossiers.sla import DUE_SOON_TIMER, OVERDUE_TIMER, SlaClock, attribute_instant, warning_marks
from motcua.workflow.engine.clock import instant, text
from motcua.workflow.engine.model import CancelTimer, Effect, JsonValue, SetTimer
from motcua.workflow.engine.registry import Action, Context, Guard, Outcome, Refusal, Registry
from motcua.workflow.units.transfer import register_transfer

__all__ = ["CLASSIFICATION_TIMER", "FEEDBACK_WORKFLOW", "FeedbackServices", "feedback_registry"]

FEEDBACK_WORKFLOW = "pakn"
CLASSIFICATION_TIMER = "classification"


@dataclass(frozen=True, slots=True)
class FeedbackServices:
    """``clocks``: the clock of each unit (by code) that has its own calendar; ``clock`` for the others."""

    clock: SlaClock
    rules: RuleBook
    clocks: Mapping[str, SlaClock] = field(default_factory=dict)

    def clock_for(self, context: Context) -> SlaClock:
        unit = context.attributes.get("unit")
        return self.clocks.get(unit, self.clock) if isinstance(unit, str) else self.clock

    def limits(self, context: Context) -> FeedbackRule:
        return self.rules.get(context.case.rule_set).feedback


def _notify(context: Context, event: str, role: str, **extra: JsonValue) -> Effect:
    payload: dict[str, JsonValue] = {
        "event": event, "role": role, "feedback": context.case.code, "at": text(context.now),
        "unit": context.attributes.get("unit"), **extra,
    }
    return Effect("notify", payload)


def _flag(value: JsonValue | None) -> bool:
    return value is True


class _FeedbackActions:
    def __init__(self, services: FeedbackServices) -> None:
        self.s = services

    def _timers(self, context: Context, due: datetime) -> Outcome:
        rules = self.s.rules.get(context.case.rule_set)
        return Outcome(attributes={"answer_due_at": text(due)},
                       timers=self.s.clock_for(context).timers(rules, due, context.now))

    def open_feedback(self, context: Context) -> Outcome:
        """The answer's deadline and the classification deadline, counted from reception; every timer armed."""
        limits, clock = self.s.limits(context), self.s.clock_for(context)
        due = clock.due_in_working_days(context.now, limits.answer_within_working_days)
        classify_by = clock.due_in_working_days(context.now, limits.classify_within_working_days)
        armed = self._timers(context, due)
        attributes: dict[str, JsonValue] = {**armed.attributes, "received_at": text(context.now),
                                            "classify_due_at": text(classify_by), "extensions": 0}
        timers = (*armed.timers, SetTimer(CLASSIFICATION_TIMER, "mark_classification_late", classify_by))
        return Outcome(attributes=attributes, timers=timers)

    def record_assignment(self, context: Context) -> Outcome:
        return Outcome(attributes={"assignee": context.data["assignee"], "category": context.data["category"],
                                   "assigned_at": text(context.now)})

    def cancel_classification_timer(self, context: Context) -> Outcome:
        return Outcome(attributes={"classified_at": text(context.now)}, timers=(CancelTimer(CLASSIFICATION_TIMER),))

    def extend_deadline(self, context: Context) -> Outcome:
        """The answer's deadline moved by the extension's working days; the timers re-armed on it."""
        days = context.data["working_days"]
        assert isinstance(days, int)  # the definition declares it an integer
        due = self.s.clock_for(context).working_days_from(instant(context.attributes["answer_due_at"]), days)
        extensions = context.attributes.get("extensions")
        count = (extensions if isinstance(extensions, int) else 0) + 1
        armed = self._timers(context, due)
        return Outcome(attributes={**armed.attributes, "extensions": count}, timers=armed.timers)

    def close_feedback(self, context: Context) -> Outcome:
        """Answered or declined: the clock stops, every timer is cancelled (whether the answer was late is read
        from ``answered_at`` and ``answer_due_at``: :mod:`motcua.workflow.feedback.metrics`)."""
        rules = self.s.rules.get(context.case.rule_set)
        lifecycle = context.state["lifecycle"]
        attributes: dict[str, JsonValue] = {"ended_at": text(context.now), "end_state": lifecycle}
        if lifecycle == "answered":
            attributes["answered_at"] = text(context.now)
            attributes["private"] = _flag(context.attributes.get("private")) or _flag(context.data.get("private"))
        timers = (*self.s.clock_for(context).cancel_all(rules), CancelTimer(CLASSIFICATION_TIMER))
        return Outcome(attributes=attributes, timers=timers)

    def record_publication(self, context: Context) -> Outcome:
        return Outcome(attributes={"published_at": text(context.now), "published_where": context.data["where"]},
                       effects=(_notify(context, "feedback_published", "applicant"),))

    def record_rating(self, context: Context) -> Outcome:
        return Outcome(attributes={"satisfied": context.data["satisfied"], "rated_at": text(context.now)})

    def notify_classification_late(self, context: Context) -> Outcome:
        return Outcome(effects=(_notify(context, "classification_late", "leader"),))

    def notify_due_soon(self, context: Context) -> Outcome:
        marks = warning_marks(attribute_instant(context.attributes, "answer_due_at"), context.now)
        return Outcome(effects=(_notify(context, DUE_SOON_TIMER, "specialist", **marks),))

    def notify_overdue(self, context: Context) -> Outcome:
        return Outcome(effects=(_notify(context, OVERDUE_TIMER, "leader"),))

    def notify_escalation(self, context: Context) -> Outcome:
        return Outcome(effects=(_notify(context, "escalation", "chairman", step=context.data.get("step")),))


class _FeedbackGuards:
    def __init__(self, services: FeedbackServices) -> None:
        self.s = services

    def extension_allowed(self, context: Context) -> bool | Refusal:
        """At most ``extensions`` extension(s) of at most ``extension_max_working_days``, decided before the
        deadline passes."""
        limits = self.s.limits(context)
        days, done = context.data.get("working_days"), context.attributes.get("extensions")
        count = done if isinstance(done, int) else 0
        if count >= limits.extensions:
            return Refusal("feedback.extensions", limits.source,
                           f"the answer's deadline may be extended {limits.extensions} time(s), already {count}")
        if not isinstance(days, int) or not 1 <= days <= limits.extension_max_working_days:
            return Refusal("feedback.extension_length", limits.source,
                           f"an extension is 1 to {limits.extension_max_working_days} working days, not {days}")
        if context.now > instant(context.attributes["answer_due_at"]):
            return Refusal("feedback.extension_before_deadline", limits.source,
                           "the deadline has passed: an extension is decided before it")
        return True

    @staticmethod
    def concerns_private_data(context: Context) -> bool:
        """Withheld from publication: the sender asked for it, or the answer carries private data."""
        return _flag(context.attributes.get("private")) or _flag(context.data.get("private"))

    @staticmethod
    def rated_satisfied(context: Context) -> bool:
        return context.data.get("satisfied") is True

    @staticmethod
    def rated_unsatisfied(context: Context) -> bool:
        return context.data.get("satisfied") is False


def feedback_registry(services: FeedbackServices) -> Registry:
    registry = Registry()
    actions, guards = _FeedbackActions(services), _FeedbackGuards(services)
    registry.add_action("open_feedback", actions.open_feedback,
                        frozenset({"mark_due_soon", "mark_overdue", "escalate", "mark_classification_late"}))
    registry.add_action("extend_deadline", actions.extend_deadline,
                        frozenset({"mark_due_soon", "mark_overdue", "escalate"}))
    named: dict[str, Action] = {
        "record_assignment": actions.record_assignment,
        "cancel_classification_timer": actions.cancel_classification_timer,
        "close_feedback": actions.close_feedback,
        "record_publication": actions.record_publication,
        "record_rating": actions.record_rating,
        "notify_classification_late": actions.notify_classification_late,
        "notify_due_soon": actions.notify_due_soon,
        "notify_overdue": actions.notify_overdue,
        "notify_escalation": actions.notify_escalation,
    }
    for name, action in named.items():
        registry.add_action(name, action)
    checks: dict[str, Guard] = {
        "extension_allowed": guards.extension_allowed,
        "concerns_private_data": guards.concerns_private_data,
        "rated_satisfied": guards.rated_satisfied,
        "rated_unsatisfied": guards.rated_unsatisfied,
    }
    for name, guard in checks.items():
        registry.add_guard(name, guard)
    register_transfer(registry, ("unit",))
    return registry
