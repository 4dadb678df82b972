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

How a step is judged [ours]. The catalogue gives a procedure one legal processing time and no times
per step, so each hand-over is judged against the dossier's **legal appointment as it stands right
after the step** — shifted by legal pauses (supplement, payment), never moved by an apology's new date
— comparing Vietnam calendar dates, the rule the dossier itself is judged by (one-stop-shop.md, the legal clock): a step
made on a day before the appointment's is early, on its day on time, after it late; a step made while
the dossier has no appointment yet is on time. A caller that knows step-level deadlines passes its own
:data:`StepDeadline`.

Everything is folded from the entries (:mod:`motcua.workflow.auditing.replay`): never from the stored case row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from motcua.workflow.auditing.replay import fold
from motcua.workflow.auditing.upcasting import upcast
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
    "StepDeadline",
    "appointment_deadline",
    "control_sheet",
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


@dataclass(frozen=True, slots=True)
class ControlSheet:
    code: str
    procedure: str
    applicant: str
    received_at: datetime | None
    appointment: datetime | None  # the legal appointment as it stands after the last entry
    handovers: tuple[HandOver, ...]


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
    works in, over :data:`DEFAULT_UNITS`; ``deadline`` says what each step is judged by."""
    walk = _Walk({**DEFAULT_UNITS, **(units or {})})
    rows: list[HandOver] = []
    case: Case | None = None
    for stored in entries:
        entry = upcast(stored)
        before, case = case, fold(case, entry)
        if entry.trigger not in HANDOVERS:
            continue
        parties = walk.parties(entry, before, case)
        due = deadline(entry, case)
        electronic = entry.data.get("electronic")
        rows.append(HandOver(
            number=len(rows) + 1, sequence=entry.sequence, trigger=entry.trigger, at=entry.occurred_at,
            giver=parties[0], receiver=parties[1], deadline=due, result=classify(entry.occurred_at, due),
            electronic=electronic if isinstance(electronic, bool) else None, note=_note(entry),
        ))
    attributes: Mapping[str, JsonValue] = case.attributes if case is not None else {}
    return ControlSheet(
        code=case.code if case is not None else "", procedure=_text(attributes, "procedure_name"),
        applicant=_text(attributes, "applicant_name"), received_at=_instant(attributes.get("received_at")),
        appointment=_instant(attributes.get("appointment")), handovers=tuple(rows),
    )
