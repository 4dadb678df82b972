"""Plan intake: every occurrence of a plan's tasks becomes a ``plan-task`` case, once.

Loading is idempotent: an occurrence whose case exists is left as it is (and named when its title,
owner or due date no longer match the plan), so a plan can be loaded again after it is edited.
"""

from __future__ import annotations

from dataclasses import dataclass

from motcua.workflow.dossiers.catalogue import RuleBook
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import SYSTEM_ACTOR, Actor, JsonValue
from motcua.workflow.engine.service import CaseService
from motcua.workflow.errors import CaseAlreadyExists, CaseNotFound
from motcua.workflow.plan.metrics import PLAN_TASK_WORKFLOW
from motcua.workflow.plan.model import Occurrence, Plan
from motcua.workflow.units.directory import UnitDirectory

__all__ = ["LoadResult", "load_tasks"]


@dataclass(frozen=True)
class LoadResult:
    created: tuple[str, ...]
    existing: tuple[str, ...]
    differing: tuple[str, ...]  # existing cases whose title, owner or due date no longer match the plan


def _opening_data(plan: Plan, occurrence: Occurrence, unit: str | None) -> dict[str, JsonValue]:
    data: dict[str, JsonValue] = {
        "plan": plan.key, "task": occurrence.task.id, "title": occurrence.task.text,
        "owner": plan.owner_text(occurrence.task), "due": occurrence.due.isoformat(),
    }
    if unit is not None:
        data["unit"] = unit
    if occurrence.period is not None:
        data["period"] = occurrence.period
    return data


def load_tasks(
    service: CaseService, rules: RuleBook, plan: Plan, actor: Actor = SYSTEM_ACTOR, *, unit: str | None = None,
    units: UnitDirectory | None = None,
) -> LoadResult:
    """Open a ``plan-task`` case per occurrence not yet in the store; never changes an existing one. ``unit``: the
    administrative unit whose plan it is (its tasks are that unit's cases: scopes, successions); with ``units``, a task
    is only created at a unit a case may be opened at today, as a dossier's or feedback's receiving unit must be
    (:meth:`UnitDirectory.in_force`): a unit that has ended is refused, naming its successor — its open cases are
    the successor's by the audited ``transfer`` of ``motcua units apply``, never by a silent change of unit. Every new
    opening is decided first (that, its rule set in force on its due day, its data, the actor's role) and thrown away:
    a plan refused for one task writes none."""
    existing: list[str] = []
    differing: list[str] = []
    fresh: list[tuple[Occurrence, dict[str, JsonValue], str]] = []
    for occurrence in plan.occurrences():
        data = _opening_data(plan, occurrence, unit)
        try:
            case = service.get(occurrence.code)
        except CaseNotFound:
            fresh.append((occurrence, data, rules.in_force(occurrence.due).key))
            continue
        existing.append(occurrence.code)
        if any(case.attributes.get(name) != data[name] for name in ("title", "owner", "due")):
            differing.append(occurrence.code)
    if fresh and unit is not None and units is not None:
        units.in_force("unit", unit, to_vietnam_time(service.engine.clock.now()).date())
    for _, data, rule_set in fresh:
        service.vet_opening(PLAN_TASK_WORKFLOW, actor, data, rule_set=rule_set)
    created: list[str] = []
    for occurrence, data, rule_set in fresh:
        try:
            service.open(PLAN_TASK_WORKFLOW, occurrence.code, actor, data, rule_set=rule_set)
        except CaseAlreadyExists:  # another loader won the race
            existing.append(occurrence.code)
        else:
            created.append(occurrence.code)
    return LoadResult(tuple(created), tuple(existing), tuple(differing))
