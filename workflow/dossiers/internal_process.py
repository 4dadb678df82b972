"""The internal process of a procedure (quy trình nội bộ giải quyết TTHC): its steps and each step's time budget.

A province approves, for each procedure, the steps its dossier goes through inside the agency — reception at the
one-stop desk, the specialist's handling, the leader's signature, registering and sending the result back, returning
it to the applicant — each with a working-time budget, the budgets adding up to the legal processing time
(one-stop-shop.md, step budgets). A :class:`ProcessStep` is one step as the catalogue carries it; its ``key`` ties it
to a state of the dossier workflow's lifecycle (:mod:`motcua.workflow.dossiers.step_clock`).

This module only describes and checks; :class:`~motcua.workflow.dossiers.catalogue.Procedure` holds the steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from motcua.workflow.engine.bounds import NAME_MAX

__all__ = [
    "STEP_KEYS",
    "WORKING_DAY_HOURS",
    "BudgetUnit",
    "ProcessStep",
    "StepBudget",
    "StepKey",
    "legal_hours",
    "steps_problems",
    "working_time_label",
]

StepKey = Literal["reception", "specialist", "leader", "release", "return"]
"""The steps in the order a dossier meets them: reception at the one-stop desk (tiếp nhận, chuyển xử lý), the
specialist's handling (thẩm định, xử lý), the leader's approval (phê duyệt, ký), registering, sealing and sending the
result to the desk (vào sổ, đóng dấu, chuyển kết quả), returning it to the applicant (trả kết quả)."""
STEP_KEYS: Final[tuple[StepKey, ...]] = get_args(StepKey)
BudgetUnit = Literal["working_hours", "working_days"]
WORKING_DAY_HOURS: Final = 8
"""The hours of a working day the load-time check counts with (the legal 8-hour working day, and the default office
hours); at run time a budget in working days is counted on the deciding unit's calendar."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepBudget(_Frozen):
    """A step's working-time budget: ``amount`` (fractions allowed, 0,5 ngày làm việc) of ``unit``. Its sign is
    checked with the procedure, which names the step (:func:`steps_problems`)."""

    amount: float = Field(allow_inf_nan=False)
    unit: BudgetUnit

    def hours(self) -> float:
        """The budget in working hours, a working day counted as :data:`WORKING_DAY_HOURS`."""
        return self.amount * (WORKING_DAY_HOURS if self.unit == "working_days" else 1)

    def duration(self, day: timedelta) -> timedelta:
        """The budget as working time on a calendar whose working day lasts ``day``, to the second."""
        per_unit = day if self.unit == "working_days" else timedelta(hours=1)
        return timedelta(seconds=round(self.amount * per_unit.total_seconds()))

    @property
    def label(self) -> str:
        """``0,5 ngày làm việc``, ``4 giờ làm việc``: as the province's decision writes it."""
        number = f"{self.amount:g}".replace(".", ",")
        return f"{number} {'ngày làm việc' if self.unit == 'working_days' else 'giờ làm việc'}"


class ProcessStep(_Frozen):
    """One step of a procedure's internal process: ``budget`` ``None`` is a step the decision counts no time for
    ("không tính thời gian", usually returning the result): recorded on the control sheet, never judged or warned."""

    key: StepKey
    label: str = Field(min_length=1, max_length=NAME_MAX)
    budget: StepBudget | None


def legal_hours(amount: int, unit: str) -> float:
    """The working hours a legal processing time allows at most: ``amount`` working days or hours; 0 working days
    ("trong ngày") is at most one working day; calendar days hold at most one working day each."""
    if unit == "working_hours":
        return float(amount)
    return float(max(amount, 1) if unit == "working_days" else amount) * WORKING_DAY_HOURS


def steps_problems(steps: Sequence[ProcessStep], source: str | None, amount: int, unit: str) -> list[str]:
    """What is wrong with a procedure's steps against its legal time (``amount`` ``unit`` for the direct channel):
    each key once and in the lifecycle's order, no negative budget, budgets adding up to at most the legal time
    (naming the step where the sum goes over), and a source whenever there are steps."""
    if not steps:
        return ["steps_source is given but there are no steps"] if source is not None else []
    problems = [] if source is not None else ["steps need a steps_source (the decision that approved them)"]
    keys = [step.key for step in steps]
    problems.extend(f"step {key!r} is listed twice" for key in STEP_KEYS if keys.count(key) > 1)
    distinct = list(dict.fromkeys(keys))
    if distinct != sorted(distinct, key=STEP_KEYS.index):
        problems.append(f"steps must follow the dossier's order {list(STEP_KEYS)}, got {keys}")
    problems.extend(
        f"step {step.key!r}: budget {step.budget.label} must not be negative"
        for step in steps if step.budget is not None and step.budget.amount < 0
    )
    allowed, total = legal_hours(amount, unit), 0.0
    for step in steps:
        total += step.budget.hours() if step.budget is not None else 0.0
        if total > allowed + 1e-9:
            problems.append(
                f"step {step.key!r}: the budgets up to it add up to {total:g} working hours, more than the legal "
                f"{amount} {unit} ({allowed:g} working hours) of the direct channel"
            )
            break
    return problems


def working_time_label(spent: timedelta) -> str:
    """``5 giờ 10 phút`` of working time (minutes rounded down; ``0 phút`` below one)."""
    minutes = int(spent.total_seconds()) // 60
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} giờ {rest} phút"
    return f"{hours} giờ" if hours else f"{rest} phút"
