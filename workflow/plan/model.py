"""The commune's annual administrative-reform plan (kế hoạch cải cách hành chính) as a frozen typed model.

A :class:`Plan` holds the plan's tasks (each with its group, owners and deadline or recurrence) and its
numeric targets (each linked to the metric that measures it). :func:`plan_problems` runs the small named
checks that need the whole plan (unique ids, known owners, tasks and metrics, dates inside the plan year);
:meth:`Plan.occurrences` expands recurring tasks into one occurrence per period, each with its own deadline.

This module only describes and checks; reading files is the job of ``motcua.definitions.plans``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from motcua.workflow.errors import NotFound

__all__ = [
    "GROUP_LABELS",
    "PERIODS",
    "Comparison",
    "Group",
    "Occurrence",
    "Plan",
    "PlanOwner",
    "PlanTarget",
    "PlanTask",
    "Recurrence",
    "check_dates",
    "check_metrics",
    "check_owners",
    "check_target_tasks",
    "check_unique_ids",
    "plan_problems",
]

Group = Literal[
    "chi_dao_dieu_hanh", "cai_cach_the_che", "cai_cach_tthc", "to_chuc_bo_may", "cong_vu", "tai_chinh_cong",
    "chinh_quyen_so", "kinh_phi", "to_chuc_thuc_hien",
]
GROUP_LABELS: Mapping[Group, str] = {
    "chi_dao_dieu_hanh": "Công tác chỉ đạo, điều hành",
    "cai_cach_the_che": "Cải cách thể chế",
    "cai_cach_tthc": "Cải cách thủ tục hành chính",
    "to_chuc_bo_may": "Cải cách tổ chức bộ máy hành chính nhà nước",
    "cong_vu": "Cải cách chế độ công vụ",
    "tai_chinh_cong": "Cải cách tài chính công",
    "chinh_quyen_so": "Xây dựng, phát triển chính quyền điện tử, chính quyền số",
    "kinh_phi": "Kinh phí thực hiện",
    "to_chuc_thuc_hien": "Tổ chức thực hiện",
}
Recurrence = Literal["monthly", "quarterly", "half_yearly", "yearly"]
Comparison = Literal[">=", "<=", "=", "between"]
Unit = Literal["%"]

# recurrence → (period id, Vietnamese label, last month of the period)
PERIODS: Mapping[Recurrence, tuple[tuple[str, str, int], ...]] = {
    "monthly": tuple((f"m{month:02d}", f"Tháng {month}", month) for month in range(1, 13)),
    "quarterly": (("q1", "Quý I", 3), ("q2", "Quý II", 6), ("q3", "Quý III", 9), ("q4", "Quý IV", 12)),
    "half_yearly": (("h1", "6 tháng đầu năm", 6), ("h2", "6 tháng cuối năm", 12)),
    "yearly": (("y", "Năm", 12),),
}


def _reject_numbers(value: object) -> object:
    if isinstance(value, bool | int | float):
        raise ValueError("write the date as YYYY-MM-DD")  # pydantic would read a number as a timestamp
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Day = Annotated[date, BeforeValidator(_reject_numbers)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanOwner(_Frozen):
    """A person or office the plan makes responsible ("TỔ CHỨC THỰC HIỆN"), with the text that says so."""

    label: Text
    source: Text


class PlanTask(_Frozen):
    """One task: a one-off with a ``due`` date, or a ``recurrence`` due on ``due_day`` of each period's
    last month. ``owners`` are keys of the plan's owners, the first one leads (chủ trì)."""

    id: Key
    section: Text
    group: Group
    text: Text
    owners: tuple[Key, ...] = Field(min_length=1)
    due: Day | None = None
    recurrence: Recurrence | None = None
    due_day: int | None = Field(default=None, ge=1, le=28)
    report: bool = False  # a periodic report: counted by the periodic-report metric
    note: Text | None = None

    @model_validator(mode="after")
    def _one_deadline(self) -> PlanTask:
        if (self.due is None) == (self.recurrence is None):
            raise ValueError("give exactly one of 'due' (a date) and 'recurrence'")
        if (self.recurrence is None) != (self.due_day is None):
            raise ValueError("'due_day' goes with 'recurrence', and a recurrence needs its 'due_day'")
        if len(set(self.owners)) != len(self.owners):
            raise ValueError("an owner is listed twice")
        return self


class PlanTarget(_Frozen):
    """A numeric target stated in the plan (or ``implied`` by its wording), measured by ``metric``."""

    id: Key
    task: Key
    metric: Key
    comparison: Comparison
    value: float = Field(ge=0, le=100, allow_inf_nan=False)  # a percentage: a ratio never passes 100 %
    upper: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)  # only for "between"
    unit: Unit
    quote: Text
    implied: bool = False
    note: Text | None = None

    @model_validator(mode="after")
    def _bounds(self) -> PlanTarget:
        if self.comparison == "between":
            if self.upper is None or self.upper <= self.value:
                raise ValueError("'between' needs an 'upper' bound greater than 'value'")
        elif self.upper is not None:
            raise ValueError(f"'upper' only goes with 'between', not {self.comparison!r}")
        return self

    def shown(self) -> str:
        """The target as officials read it: "≥ 95 %", "= 100 %", "30–40 %"."""
        if self.comparison == "between":
            return f"{_number(self.value)}–{_number(self.upper or 0)} {self.unit}"
        sign = {">=": "≥", "<=": "≤", "=": "="}[self.comparison]
        return f"{sign} {_number(self.value)} {self.unit}"


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One trackable instance of a task: the task itself, or one period of a recurring task."""

    code: str
    task: PlanTask
    due: date
    period: str | None = None
    period_label: str | None = None


class Plan(_Frozen):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: Text
    commune: Text
    year: int = Field(ge=2000, le=2100)
    issued_by: Text
    legal_basis: tuple[Text, ...] = Field(min_length=1)
    source: Text
    notes: tuple[Text, ...] = ()
    owners: dict[Key, PlanOwner] = Field(min_length=1)
    default_owner: Key
    tasks: tuple[PlanTask, ...] = Field(min_length=1)
    targets: tuple[PlanTarget, ...] = ()

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        return date(self.year, 12, 31)

    def task(self, task_id: str) -> PlanTask:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise NotFound("task", f"no task {task_id!r} in plan {self.key!r}")

    def owner_text(self, task: PlanTask) -> str:
        """The owners' Vietnamese labels: "Lead (chủ trì); phối hợp: other, other"."""
        labels = [self.owners[key].label if key in self.owners else key for key in task.owners]
        if len(labels) == 1:
            return labels[0]
        return f"{labels[0]} (chủ trì); phối hợp: " + ", ".join(labels[1:])

    def occurrences(self) -> tuple[Occurrence, ...]:
        """Every task once, a recurring task once per period, in plan order."""
        return tuple(occurrence for task in self.tasks for occurrence in self._expand(task))

    def _expand(self, task: PlanTask) -> tuple[Occurrence, ...]:
        if task.recurrence is None or task.due_day is None:
            return (Occurrence(f"{self.key}/{task.id}", task, task.due or self.end),)
        return tuple(
            Occurrence(f"{self.key}/{task.id}/{period}", task, date(self.year, month, task.due_day), period, label)
            for period, label, month in PERIODS[task.recurrence]
        )


# -- checks that need the whole plan ---------------------------------------------------------------


def _repeated(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


def check_unique_ids(plan: Plan) -> list[str]:
    problems = [f"task {task_id}: id used more than once" for task_id in _repeated(t.id for t in plan.tasks)]
    problems += [f"target {target_id}: id used more than once" for target_id in _repeated(t.id for t in plan.targets)]
    return problems


def check_owners(plan: Plan) -> list[str]:
    known = ", ".join(sorted(plan.owners))
    problems = [] if plan.default_owner in plan.owners else [
        f"default_owner: unknown owner {plan.default_owner!r} (known: {known})"
    ]
    problems += [
        f"task {task.id}: unknown owner {owner!r} (known: {known})"
        for task in plan.tasks for owner in task.owners if owner not in plan.owners
    ]
    return problems


def check_target_tasks(plan: Plan) -> list[str]:
    ids = {task.id for task in plan.tasks}
    return [f"target {t.id}: unknown task {t.task!r}" for t in plan.targets if t.task not in ids]


def check_metrics(plan: Plan, units: Mapping[str, str]) -> list[str]:
    """Every target names a known metric and uses that metric's unit."""
    problems = []
    for target in plan.targets:
        if target.metric not in units:
            problems.append(f"target {target.id}: unknown metric {target.metric!r} (known: {', '.join(sorted(units))})")
        elif units[target.metric] != target.unit:
            problems.append(f"target {target.id}: unit {target.unit!r}, but {target.metric} is measured in "
                            f"{units[target.metric]!r}")
    return problems


def check_dates(plan: Plan) -> list[str]:
    """One-off deadlines fall inside the plan year (recurring ones do by construction)."""
    return [
        f"task {task.id}: due {task.due.isoformat()} is outside the plan year {plan.year}"
        for task in plan.tasks if task.due is not None and not plan.start <= task.due <= plan.end
    ]


def plan_problems(plan: Plan, metric_units: Mapping[str, str]) -> list[str]:
    """Every problem of the whole plan, each naming the task, target or field at fault."""
    checks: Collection[Callable[[Plan], list[str]]] = (check_unique_ids, check_owners, check_target_tasks, check_dates)
    problems = [problem for check in checks for problem in check(plan)]
    return problems + check_metrics(plan, metric_units)
