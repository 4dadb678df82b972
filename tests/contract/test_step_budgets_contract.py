"""Step budgets on every store (issue 15, point 6): the step timers a dossier's moves arm and cancel are the same
rows on the memory store, SQLite and PostgreSQL, a due warning fires once through the worker's path, and the
control sheet read back from each store's log is the sheet the memory store gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import motcua
from motcua.workers.handlers import Handlers
from motcua.workers.inline import InlineRunner
from motcua.workflow.auditing.control_sheet import ControlSheet, control_sheet
from motcua.workflow.dossiers.step_clock import WARN_TRIGGER
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import OutboxItem
from motcua.workflow.worktime.hours import Timeliness

CHANGE: Final = "1.004859"  # thay đổi, cải chính hộ tịch: reception 0,5 day, specialist 2, leader 0,25, release 0,25
OFFICER: Final = motcua.Actor.of("Nguyễn Thị Lan", "officer")
SPECIALIST: Final = motcua.Actor.of("Phạm Văn Hùng", "specialist")
LEADER: Final = motcua.Actor.of("Lê Minh Tuấn", "leader")
APPLICANT: Final = motcua.Applicant("Trần Văn An")
MONDAY: Final = datetime(2024, 3, 4, 8, 0, tzinfo=VN_TZ)  # a Monday, the office open


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


class Kept:
    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    def deliver(self, item: OutboxItem) -> None:
        self.items.append(item)


@dataclass
class Run:
    """What one backend kept of the scenario: the step timers after each move, the warnings, the sheet."""

    timers: list[dict[str, datetime]]
    warnings: list[tuple[str, str]]
    sheet: ControlSheet


def scenario(url: str) -> Run:
    """Received Monday 08:00; assigned at 16:00 (a late reception); paused, resumed a week later; the specialist's
    warning fires; submitted, approved, the result passed to the desk and returned."""
    clock = ManualClock(MONDAY)
    kept = Kept()
    timers: list[dict[str, datetime]] = []
    with motcua.connect(url, clock=clock, observers=[]) as shop:
        store = shop.parts.store
        worker = InlineRunner(Handlers(shop.parts.service, store, store, kept, clock), clock)

        def move(hours: float, trigger: str, actor: motcua.Actor, **data: object) -> None:
            clock.advance(timedelta(hours=hours))
            shop.fire(code, trigger, actor, data)
            timers.append({t.name: t.due_at for t in store.timers(code) if t.trigger == WARN_TRIGGER})

        code = shop.receive(CHANGE, APPLICANT, OFFICER).code
        timers.append({t.name: t.due_at for t in store.timers(code) if t.trigger == WARN_TRIGGER})
        move(8, "assign", OFFICER, assignee=SPECIALIST.name)
        move(16, "request_supplement", SPECIALIST, reason="Bản sao giấy khai sinh")  # Tuesday 08:00
        move(24 * 6, "supplement_received", OFFICER)  # Monday 11/3 08:00
        worker.run_until(at(2024, 3, 13, 8, 0))
        move(1, "submit_for_approval", SPECIALIST, approver=LEADER.name)
        move(1, "approve", LEADER)
        move(1, "mark_result_ready", SPECIALIST)
        move(1, "return_result", OFFICER)
        sheet = control_sheet(shop.history(code))
        fired = [entry.trigger for entry in shop.history(code)].count(WARN_TRIGGER)
    warnings = [(str(i.payload["process_step"]), str(i.payload.get("holder"))) for i in kept.items
                if i.payload.get("event") == "step_due_soon"]
    assert fired == len(warnings)
    return Run(timers, warnings, sheet)


def test_step_timers_are_stored_cancelled_and_fired_alike_and_the_sheet_reads_the_same(url: str) -> None:
    run = scenario(url)
    assert run.timers == [
        {"step_reception": at(2024, 3, 4, 10, 0)},  # 4 hours from 08:00 → 14:00, warned 2 working hours before
        {"step_specialist": at(2024, 3, 6, 14, 0)},  # 16 hours from Monday 16:00 → Wednesday 16:00
        {},  # paused on Tuesday 08:00 after 2 hours: no warning while the applicant completes the file
        {"step_specialist": at(2024, 3, 12, 14, 0)},  # 14 hours remain from Monday 11/3 08:00 → Tuesday 16:00
        {"step_leader": at(2024, 3, 13, 11, 0)},  # 2 hours, no longer than the lead: warned at the limit
        {"step_release": at(2024, 3, 13, 14, 0)},
        {}, {},  # returning counts no time
    ]
    assert run.warnings == [("specialist", SPECIALIST.name)]  # fired on Tuesday 12/3 14:00 by the worker
    sheet = run.sheet
    assert [(h.trigger, h.result) for h in sheet.handovers] == [
        ("receive", Timeliness.EARLY), ("assign", Timeliness.LATE), ("request_supplement", Timeliness.EARLY),
        ("supplement_received", Timeliness.EARLY), ("submit_for_approval", Timeliness.LATE),
        ("approve", Timeliness.ON_TIME), ("mark_result_ready", Timeliness.ON_TIME),
        ("return_result", Timeliness.ON_TIME),  # by the appointment, moved by the pause to Wednesday 13/3
    ]
    specialist = sheet.handovers[4].step
    assert specialist is not None and (specialist.spent, specialist.budget) == (timedelta(hours=19),
                                                                               "2 ngày làm việc")
    assert [h.number for h in sheet.late_steps] == [2, 5]
    if url != "memory://":
        assert sheet == scenario("memory://").sheet
