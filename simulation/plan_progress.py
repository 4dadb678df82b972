"""The reform plan through the year: its tasks are loaded as ``plan-task`` cases (exactly as ``motcua plan
load`` does) and their owners start them, file evidence and finish them — most on time, some late, a few
not by the year's end, so their deadline timers fire. The schedule is pure and seeded.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.engine.model import Actor, JsonValue
from motcua.workflow.plan.model import Occurrence, Plan

__all__ = ["TaskStep", "plan_schedule"]

LATE_SHARE = 0.2  # tasks finished after their deadline (or not by the year's end)
_EVIDENCE = ("Báo cáo kết quả thực hiện", "Biên bản họp", "Văn bản chỉ đạo", "Hình ảnh tuyên truyền",
             "Kế hoạch triển khai")


@dataclass(frozen=True, slots=True)
class TaskStep:
    at: datetime
    code: str
    trigger: str
    actor: Actor
    data: dict[str, JsonValue]


def _workday(days: Sequence[date], first: date, last: date, rng: random.Random) -> date | None:
    window = [day for day in days if first <= day <= last]
    return rng.choice(window) if window else None


def _instant(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 15), rng.choice((0, 15, 30, 45))), tzinfo=VN_TZ)


def _steps_of(plan: Plan, occurrence: Occurrence, days: Sequence[date], rng: random.Random) -> list[TaskStep]:
    owner = Actor.of(plan.owner_text(occurrence.task).split(" (chủ trì)")[0], "owner")
    due = occurrence.due
    lead = timedelta(days=20 if occurrence.period else 200)
    start = _workday(days, max(days[0], due - lead), due - timedelta(days=3), rng) or days[0]
    late = rng.random() < LATE_SHARE
    finish = (_workday(days, due + timedelta(days=1), due + timedelta(days=12), rng) if late
              else _workday(days, start + timedelta(days=1), due, rng))
    steps = [TaskStep(_instant(start, rng), occurrence.code, "start", owner, {})]
    if finish is None:
        return steps  # still open at the end of the year: its overdue timer fires
    evidence = _workday(days, start, finish, rng) or start
    document = f"{rng.choice(_EVIDENCE)} — {occurrence.task.id}"
    if occurrence.period:
        document += f" ({occurrence.period})"
    steps.append(TaskStep(_instant(evidence, rng) + timedelta(minutes=5), occurrence.code, "file_evidence", owner,
                          {"document": document}))
    done_at = max(_instant(finish, rng), steps[-1].at + timedelta(minutes=10))
    steps.append(TaskStep(done_at, occurrence.code, "complete", owner, {"note": "Đã hoàn thành"}))
    return steps


def plan_schedule(plan: Plan, days: Sequence[date], rng: random.Random) -> list[TaskStep]:
    """Every occurrence's steps, in time order."""
    steps = [step for occurrence in plan.occurrences() for step in _steps_of(plan, occurrence, days, rng)]
    return sorted(steps, key=lambda step: (step.at, step.code))
