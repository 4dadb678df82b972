"""The process control sheet of a dossier (Phiếu kiểm soát quá trình giải quyết hồ sơ), from its entries.

The law asks that every hand-over of a dossier be recorded with its giver, its receiver, the time to
the minute and the result of the step — early, on time or late — and that the system keep this sheet
by itself (one-stop-shop.md, the dossier's path): it is the audit log read hand-over by hand-over. A hand-over is an
entry
whose trigger moves the dossier from one person or unit to another; :data:`HANDOVERS` lists them, in
the order a dossier usually meets them: received from the applicant at the one-stop, assigned to the
processing officer, submitted to the leader, approved (back to the officer who submitted), sent back,
the result passed to the one-stop, returned to the applicant — and, when the applicant must complete
the file, sent back to them and received again.

How a step is judged. A procedure whose catalogue entry carries the province's internal process (its
``steps``, one-stop-shop.md, step budgets) has each step's clock recorded on the dossier by the action
``step_clock`` (:mod:`motcua.workflow.dossiers.step_clock`): a hand-over that ends a step — the dossier leaves
the step's state for another than a pause — is judged against **that step's own budget**: late when the step
spent more working time than its budget (over all its visits, pauses not counted), early when it ended on a
Vietnam calendar date before its limit's, on time otherwise; the row shows the step, its budget, when it started
and ended and the working time it spent (:class:`StepCheck`). Every other hand-over, and every hand-over of a
procedure without published steps, is judged [ours] against the dossier's **legal appointment as it stands
right after the step** — shifted by legal pauses (supplement, payment), never moved by an apology's new date
— comparing Vietnam calendar dates, the rule the dossier itself is judged by (one-stop-shop.md, the legal clock): a step
made on a day before the appointment's is early, on its day on time, after it late; a step made while
the dossier has no appointment yet is on time. A caller that knows other deadlines passes its own
:data:`StepDeadline` for those rows.

Everything is folded from the entries (:mod:`motcua.workflow.auditing.replay`): never from the stored case row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from motcua.workflow.auditing.replay import fold
from motcua.workflow.auditing.upcasting import upcast
from motcua.workflow.dossiers.step_clock import PAUSE_STATES, judge, records, step_of
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.worktime.hours import Timeliness, classify

__all__ = [
    "APPLICANT_UNIT",
    "DEFAULT_UNITS",
    "HANDOVERS",
    "ONE_STOP_UNIT",
    "ControlSheet",
    "HandOver",
    "Party",
    "StepCheck",
    "StepDeadline",
    "appointment_deadline",
    "control_sheet",
    "step_check",
]

ONE_STOP_UNIT: Final = "Bộ phận tiếp nhận và trả kết quả"
APPLICANT_UNIT: Final = "Tổ chức, cá nhân"
DEFAULT_UNITS: Final[Mapping[str, str]] = {
    "officer": ONE_STOP_UNIT,
    "specialist": "Công chức chuyên môn xử lý",
    "leader": "Lãnh đạo UBND xã",
    "applicant": APPLICANT_UNIT,
    "system": "Hệ thống",
}
HANDOVERS: Final = (
    "receive", "assign", "submit_for_approval", "send_back", "approve", "mark_result_ready", "return_result",
    "request_supplement", "supplement_received",
)

_FROM_APPLICANT: Final = frozenset({"receive", "supplement_received"})

StepDeadline = Callable[[AuditEntry, Case], datetime | None]
"""(the hand-over entry, the dossier right after it) → the deadline the step is judged by, or None."""


@dataclass(frozen=True, slots=True)
class Party:
    """One side of a hand-over: a person (empty when the record names only the unit) and their unit."""

    name: str
    unit: str

    def __str__(self) -> str:
        return f"{self.name} ({self.unit})" if self.name else self.unit


@dataclass(frozen=True, slots=True)
class StepCheck:
    """The step of the internal process a hand-over ends, judged against its own budget (``result`` ``None``: a
    step that counts no time, judged by the appointment like any other row)."""

    key: str
    label: str
    budget: str | None  # as the decision writes it: 0,5 ngày làm việc
    budget_time: timedelta | None  # the budget in working time on the deciding unit's calendar
    started: datetime  # when the step first started
    ended: datetime
    spent: timedelta  # working time spent in the step, over all its visits, pauses not counted
    due: datetime | None  # the limit of the step's last visit
    result: Timeliness | None


@dataclass(frozen=True, slots=True)
class HandOver:
    number: int  # row of the sheet, from 1
    sequence: int  # the audit entry it comes from
    trigger: str
    at: datetime
    giver: Party
    receiver: Party
    deadline: datetime | None
    result: Timeliness
    electronic: bool | None  # handed over electronically (None: the record does not say)
    note: str
    step: StepCheck | None = None  # the step of the internal process this hand-over ends, if the procedure has one


@dataclass(frozen=True, slots=True)
class ControlSheet:
    code: str
    procedure: str
    applicant: str
    received_at: datetime | None
    appointment: datetime | None  # the legal appointment as it stands after the last entry
    handovers: tuple[HandOver, ...]

    @property
    def late_steps(self) -> tuple[HandOver, ...]:
        """The hand-overs that ended a step later than its own budget allowed."""
        return tuple(h for h in self.handovers if h.step is not None and h.step.result is Timeliness.LATE)


def _instant(value: JsonValue | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def appointment_deadline(entry: AuditEntry, after: Case) -> datetime | None:
    """The default step deadline: the dossier's legal appointment right after the step."""
    return _instant(after.attributes.get("appointment"))


def _text(values: Mapping[str, JsonValue], name: str) -> str:
    value = values.get(name)
    return value if isinstance(value, str) else ""


@dataclass(slots=True)
class _Walk:
    """What the sheet remembers while reading a dossier's entries in order."""

    units: Mapping[str, str]
    submitter: Party | None = None

    def unit(self, role: str) -> str:
        return self.units.get(role, role)

    def actor(self, entry: AuditEntry) -> Party:
        return Party(entry.actor, self.unit(entry.role))

    def parties(self, entry: AuditEntry, before: Case | None, after: Case) -> tuple[Party, Party]:
        """(giver, receiver) of a hand-over entry (its trigger is one of :data:`HANDOVERS`)."""
        actor = self.actor(entry)
        applicant = Party(_text(after.attributes, "applicant_name"), APPLICANT_UNIT)
        receiver: Party
        match entry.trigger:
            case "receive":
                receiver = actor
            case "assign":
                receiver = Party(_text(entry.data, "assignee"), self.unit("specialist"))
            case "submit_for_approval":
                receiver, self.submitter = Party(_text(entry.data, "approver"), self.unit("leader")), actor
            case "approve" | "send_back":  # back to whoever submitted (else the assignee on record)
                assignee = Party(_text((before or after).attributes, "assignee"), self.unit("specialist"))
                receiver = self.submitter or assignee
            case "mark_result_ready":
                receiver = Party("", ONE_STOP_UNIT)
            case "return_result":
                receiver = Party(_text(entry.data, "receiver") or applicant.name, APPLICANT_UNIT)
            case "request_supplement":
                receiver = applicant
            case _:  # supplement_received: filed online by the applicant, or taken at the counter
                receiver = Party("", ONE_STOP_UNIT) if entry.role == "applicant" else actor
        return (applicant if entry.trigger in _FROM_APPLICANT else actor), receiver


def step_check(before: Case | None, after: Case) -> StepCheck | None:
    """The step a move from ``before`` to ``after`` ends: the dossier left the step's state for another that is not a
    pause, and the dossier recorded the step's clock."""
    if before is None:
        return None
    left, state = before.state.get("lifecycle"), after.state.get("lifecycle")
    key = step_of(left)
    if key is None or state == left or state in PAUSE_STATES:
        return None
    record = records(after.attributes).get(key)
    if record is None or record.ended is None or record.open:
        return None
    return StepCheck(key=key, label=record.label, budget=record.budget, budget_time=record.budget_time,
                     started=record.started, ended=record.ended, spent=record.spent, due=record.due,
                     result=judge(record))


def _note(entry: AuditEntry) -> str:
    parts = [entry.reason or _text(entry.data, "note") or _text(entry.data, "decision_number")]
    if entry.data.get("electronic") is True:
        parts.append("chuyển trên môi trường điện tử")
    return "; ".join(part for part in parts if part)


def control_sheet(
    entries: Iterable[AuditEntry], *, units: Mapping[str, str] | None = None,
    deadline: StepDeadline = appointment_deadline,
) -> ControlSheet:
    """The sheet of one dossier from its entries in sequence order. ``units`` names the unit each role
    works in, over :data:`DEFAULT_UNITS`; ``deadline`` says what each hand-over that ends no budgeted step is judged
    by (a step with a budget is judged against it)."""
    walk = _Walk({**DEFAULT_UNITS, **(units or {})})
    rows: list[HandOver] = []
    case: Case | None = None
    for stored in entries:
        entry = upcast(stored)
        before, case = case, fold(case, entry)
        if entry.trigger not in HANDOVERS:
            continue
        parties = walk.parties(entry, before, case)
        check = step_check(before, case)
        if check is not None and check.result is not None:
            due, result = check.due, check.result
        else:
            due = deadline(entry, case)
            result = classify(entry.occurred_at, due)
        electronic = entry.data.get("electronic")
        rows.append(HandOver(
            number=len(rows) + 1, sequence=entry.sequence, trigger=entry.trigger, at=entry.occurred_at,
            giver=parties[0], receiver=parties[1], deadline=due, result=result,
            electronic=electronic if isinstance(electronic, bool) else None, note=_note(entry), step=check,
        ))
    attributes: Mapping[str, JsonValue] = case.attributes if case is not None else {}
    return ControlSheet(
        code=case.code if case is not None else "", procedure=_text(attributes, "procedure_name"),
        applicant=_text(attributes, "applicant_name"), received_at=_instant(attributes.get("received_at")),
        appointment=_instant(attributes.get("appointment")), handovers=tuple(rows),
    )
