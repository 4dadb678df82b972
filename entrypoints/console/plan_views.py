"""What the reform-plan page shows, built without HTTP: the plan's targets measured over a period and its tasks.

The same measurement as ``motcua report plan`` (:func:`motcua.workflow.plan.metrics.plan_inputs` and
:func:`~motcua.workflow.plan.metrics.evaluate`) over the same units: the unit asked for (``unit``, one the user's
scope sees, as on the report pages), else the plan's own units (:func:`~motcua.workflow.plan.metrics.plan_units`) —
those of them the user's scope sees. The dossiers are those counted under them (``DossierFacts.counted_in``), the
citizens' feedback the feedback they hold, and the tasks the plan's tasks the user sees (a task loaded, when its
case is in the scope; one not loaded, when the plan's own units are: another unit's plan lists no task, not even its
texts "not loaded"). An unscoped user therefore sees exactly what the command prints. Like the command, it folds the
audit log in memory: fine at the size of a commune's year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from motcua.adapters.bootstrap import Motcua
from motcua.definitions.plans import load_plan, plan_paths
from motcua.entrypoints.cli.report_scope import report_scope
from motcua.workflow.access.scope import Scope
from motcua.workflow.engine.model import Case
from motcua.workflow.errors import InvalidInput, NotFound
from motcua.workflow.feedback.metrics import feedback_rows
from motcua.workflow.plan.metrics import (
    PLAN_TASK_WORKFLOW,
    TargetResult,
    TaskStatus,
    evaluate,
    plan_inputs,
    plan_units,
)
from motcua.workflow.plan.model import Occurrence, Plan
from motcua.workflow.reports.periods import parse_date

__all__ = ["PlanPage", "TaskLine", "plan_page"]


@dataclass(frozen=True, slots=True)
class TaskLine:
    """One task (one period of a recurring task) and the state of its case, when the plan is loaded."""

    code: str
    title: str
    owner: str
    due: date
    loaded: bool
    progress: str = "Chưa nạp"
    deadline: str = ""
    evidence: int = 0
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class PlanPage:
    plans: tuple[tuple[str, str], ...]  # (key, title) of every plan shipped
    plan: Plan
    start: date
    end: date
    as_of: date
    targets: tuple[TargetResult, ...]
    feedback: tuple[tuple[str, str, int], ...]
    tasks: tuple[TaskLine, ...]
    heading: str = ""  # "Đơn vị: …", the units measured
    unit: str | None = None  # the unit asked for, if any


def _chosen(plans: list[Plan], key: str | None) -> Plan:
    if not plans:
        raise NotFound("plan", "no reform plan is shipped in definitions/plans")
    if key is None:
        return plans[0]
    for plan in plans:
        if plan.key == key:
            return plan
    raise NotFound("plan", f"no plan {key!r}")


def _period(plan: Plan, start: str | None, end: str | None) -> tuple[date, date]:
    first = parse_date(start, "from") if start else plan.start
    last = parse_date(end, "to") if end else plan.end
    if last < first:
        raise InvalidInput("to", f"{last.isoformat()} is before {first.isoformat()}")
    return first, last


def _seen(motcua: Motcua, scope: Scope) -> list[Case]:
    """Every case ``scope`` sees."""
    if scope.unlimited:
        return list(motcua.store.cases())
    return [case for case in motcua.store.cases() if scope.admits(motcua.workflows.index_of(case))]


def _line(motcua: Motcua, plan: Plan, occurrence: Occurrence, status: TaskStatus | None, as_of: date) -> TaskLine:
    code, due, owner = occurrence.code, occurrence.due, plan.owner_text(occurrence.task)
    title = occurrence.task.text + (f" — {occurrence.period_label}" if occurrence.period_label else "")
    if status is None:
        return TaskLine(code, title, owner, due, loaded=False)
    regions = motcua.workflows.latest(PLAN_TASK_WORKFLOW).definition.regions
    lifecycle, deadline = regions["lifecycle"].states, regions["deadline"].states
    return TaskLine(
        code, title, owner, due, loaded=True,
        progress=lifecycle[status.lifecycle].label if status.lifecycle in lifecycle else status.lifecycle,
        deadline=deadline[status.deadline].label if status.deadline in deadline else status.deadline,
        evidence=status.evidence, overdue=status.overdue(as_of),
    )


def _own_units(motcua: Motcua, plan: Plan, period: tuple[date, date]) -> frozenset[str] | None:
    """The plan's own units over ``period`` (:func:`plan_units`; ``None``: a standalone desk's plan)."""
    directory = motcua.desk.units
    return plan_units(motcua.store.cases(), plan.key, directory.register, directory.home, start=period[0],
                      end=period[1])


def _measured(scope: Scope, own: frozenset[str] | None, asked: frozenset[str] | None) -> frozenset[str] | None:
    """The units asked for, else the plan's ``own`` units that ``scope`` sees (``None``: every unit)."""
    if asked is not None:
        return asked
    units = own
    if units is None or scope.units is None:
        return scope.units if units is None else units
    return units & scope.units


def _tasks_seen(motcua: Motcua, scope: Scope, plan: Plan, own: frozenset[str] | None,
                statuses: Mapping[str, TaskStatus]) -> list[Occurrence]:
    """The plan's tasks ``scope`` sees: one loaded, if its case is in the scope (``statuses``: the cases seen); one
    loaded nowhere, if the plan is of a unit of the scope (its ``own`` units; a standalone desk's plan is its
    staff's) — the texts of another unit's plan, loaded or not, are not listed."""
    if scope.unlimited:
        return list(plan.occurrences())
    loaded = {case.code for case in motcua.store.cases()
              if case.definition_key == PLAN_TASK_WORKFLOW and case.attributes.get("plan") == plan.key}
    ours = scope.units is not None and (own is None or bool(own & scope.units))
    return [occurrence for occurrence in plan.occurrences()
            if occurrence.code in statuses or (ours and occurrence.code not in loaded)]


def _heading(motcua: Motcua, units: frozenset[str] | None) -> str:
    if units is None:
        return report_scope(motcua, None).heading
    if not units:
        return "Đơn vị: không có đơn vị nào của kế hoạch trong phạm vi được xem (chọn một đơn vị)"
    return "Đơn vị: " + "; ".join(motcua.desk.units.label(code) for code in sorted(units))


def plan_page(motcua: Motcua, scope: Scope, key: str | None, *, start: str | None, end: str | None,
              today: date, unit: str | None = None, asked: frozenset[str] | None = None) -> PlanPage:
    """The plan ``key`` (the first shipped when None) measured over [start, end] (the plan's year by default), as
    ``scope`` sees it: over ``asked`` (the units of ``unit``, already checked in scope), else the plan's own units.
    :class:`NotFound` for an unknown plan, :class:`InvalidInput` for a bad date."""
    plans = [load_plan(path) for path in plan_paths()]
    plan = _chosen(plans, key)
    first, last = _period(plan, start, end)
    own = _own_units(motcua, plan, (first, last))
    units = _measured(scope, own, asked)
    inputs, statuses = plan_inputs(motcua.store.entries(), _seen(motcua, scope), motcua.workflows.status_of,
                                   motcua.catalogue, plan, start=first, end=last, as_of=min(today, last), units=units)
    tasks = tuple(_line(motcua, plan, occurrence, statuses.get(occurrence.code), inputs.as_of)
                  for occurrence in _tasks_seen(motcua, scope, plan, own, statuses))
    return PlanPage(tuple((p.key, p.title) for p in plans), plan, first, last, inputs.as_of, evaluate(plan, inputs),
                    feedback_rows(inputs.feedback), tasks, _heading(motcua, units), unit)
