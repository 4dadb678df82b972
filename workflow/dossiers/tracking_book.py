"""The dossier tracking book (Sổ theo dõi hồ sơ: form 06 of Circular 01/2018, 07 of Circular 03/2025).

One row per dossier *received* in the period (date(R) in [start, end], Vietnam dates; accepted ones alone, as in
Biểu 06: ``DossierFacts.accepted``), in reception order,
built from the audit log alone: the dossier's facts are folded as for Biểu 06, and the same pass picks up
what the register shows besides (the applicant's name, the procedure's name, the first hand-over to the
processing officer, the day the result was handed back, the pauses, apologies and withdrawals as notes).
The book is an official register: it names the applicant in full, and never shows the ID number.

A unit's book lists the dossiers counted under it by the reports' rule (its deciding unit that ended it, or
holds it now: :mod:`motcua.workflow.reports.projection`), so a province's book is its units' books together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from motcua.workflow.auditing.upcasting import upcast
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.reports.projection import DossierFacts, StatusOf, fold
from motcua.workflow.worktime.hours import Timeliness, classify

__all__ = ["BookRow", "tracking_book"]

_RESULT_CODES = frozenset({9, 10})
_NOTES = {
    5: "Yêu cầu bổ sung hồ sơ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân rút hồ sơ",
    8: "Dừng xử lý",
}
_CLOSED = {7: "Rút hồ sơ", 8: "Dừng xử lý"}


@dataclass(frozen=True, slots=True)
class BookRow:
    number: int  # STT
    code: str
    procedure_code: str
    procedure_name: str
    applicant: str
    received_at: datetime
    appointment: datetime | None
    handed_over_at: datetime | None  # the first hand-over to a processing officer
    returned_at: datetime | None
    status: int
    timeliness: Timeliness | None  # early / on time / late, once a result exists
    notes: tuple[str, ...] = ()

    @property
    def result_label(self) -> str:
        if self.timeliness is not None:
            return self.timeliness.label
        return _CLOSED.get(self.status, "Đang giải quyết")


@dataclass(slots=True)
class _Register:
    """What one dossier's entries tell the book besides its facts."""

    applicant: str = ""
    procedure_name: str = ""
    handed_over_at: datetime | None = None
    returned_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


def _shown(day: datetime | date) -> str:
    if isinstance(day, datetime):
        day = to_vietnam_time(day).date()
    return day.strftime("%d/%m/%Y")


def _apology_note(apologies: JsonValue) -> str | None:
    if not isinstance(apologies, list) or not apologies or not isinstance(apologies[-1], dict):
        return None
    new_date = apologies[-1].get("new_date")
    if isinstance(new_date, str):
        return f"Xin lỗi, hẹn lại ngày {_shown(date.fromisoformat(new_date))}"
    return "Xin lỗi và hẹn lại ngày trả kết quả"


def _note(register: _Register, entry: AuditEntry, before: int | None, after: int) -> None:
    if after != before and after in _NOTES:
        register.notes.append(f"{_NOTES[after]} ngày {_shown(entry.occurred_at)}")
    apology = _apology_note(entry.changes.get("apologies")) if "apologies" in entry.changes else None
    if apology:
        register.notes.append(apology)


def _record(register: _Register, entry: AuditEntry, before: DossierFacts | None, after: DossierFacts) -> None:
    if before is None:
        register.applicant = str(entry.data.get("applicant_name", ""))
    if isinstance(name := entry.changes.get("procedure_name"), str):
        register.procedure_name = name
    handovers = entry.changes.get("handovers")
    if register.handed_over_at is None and isinstance(handovers, int) and handovers > 0:
        register.handed_over_at = entry.occurred_at
    if isinstance(returned := entry.changes.get("returned_at"), str):
        register.returned_at = datetime.fromisoformat(returned)
    _note(register, entry, before.status if before else None, after.status)


def _row(number: int, facts: DossierFacts, register: _Register) -> BookRow:
    resolved = facts.ended_at is not None and facts.status in _RESULT_CODES
    return BookRow(
        number=number, code=facts.code, procedure_code=facts.procedure, procedure_name=register.procedure_name,
        applicant=register.applicant, received_at=facts.received_at or datetime.min,
        appointment=facts.appointment, handed_over_at=register.handed_over_at, returned_at=register.returned_at,
        status=facts.status,
        timeliness=classify(facts.ended_at, facts.appointment) if resolved and facts.ended_at else None,
        notes=tuple(register.notes),
    )


def tracking_book(
    entries: Iterable[AuditEntry], status_of: StatusOf, start: date, end: date, *,
    units: frozenset[str] | None = None,
) -> tuple[BookRow, ...]:
    """The rows of the book for dossiers received from ``start`` to ``end`` (inclusive), of ``units`` (``None``:
    every dossier): a dossier is in the book of the unit the reports count it under (``DossierFacts.unit``)."""
    facts: dict[str, DossierFacts] = {}
    registers: dict[str, _Register] = {}
    for stored in sorted(entries, key=lambda e: e.position or 0):
        entry = upcast(stored)  # an old entry's changes where the current schema keeps them, as every reader reads it
        before = facts.get(entry.case_code)
        after = fold(before, entry, status_of)
        if after is None:
            continue  # not a dossier (a plan task)
        facts[entry.case_code] = after
        _record(registers.setdefault(entry.case_code, _Register()), entry, before, after)
    received = [
        item for item in facts.values()
        if item.accepted and item.received_at is not None and start <= to_vietnam_time(item.received_at).date() <= end
        and item.counted_in(units)
    ]
    received.sort(key=lambda item: (item.received_at or datetime.min, item.code))
    return tuple(_row(number, item, registers[item.code]) for number, item in enumerate(received, start=1))
