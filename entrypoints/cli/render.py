"""Rich renderings shared by CLI commands: a dossier's timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.table import Table

from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.model import Case

__all__ = ["timeline"]


def _label(definition: WorkflowDefinition, trigger: str) -> str:
    if trigger == OPEN_TRIGGER:
        return definition.opening.label
    spec = definition.triggers.get(trigger)
    return spec.label if spec else trigger


def _changed(definition: WorkflowDefinition, before: Mapping[str, str], after: Mapping[str, str]) -> str:
    moves = []
    for region, state in after.items():
        if before.get(region) != state:
            label = definition.regions[region].states[state].label
            moves.append(f"{region}: {before.get(region, '∅')} → {state} ({label})")
    return "\n".join(moves) or "—"


def timeline(case: Case, entries: Sequence[AuditEntry], definition: WorkflowDefinition) -> Table:
    table = Table(title=f"Hồ sơ {case.code} — {definition.title}", show_lines=True)
    for column in ("#", "Thời điểm", "Người thực hiện", "Thao tác", "Trạng thái", "Ghi chú"):
        table.add_column(column)
    for entry in entries:
        when = to_vietnam_time(entry.occurred_at).strftime("%d/%m/%Y %H:%M")
        note = entry.reason or _appointment_note(entry)
        table.add_row(
            str(entry.sequence), when, f"{entry.actor} ({entry.role})", _label(definition, entry.trigger),
            _changed(definition, entry.state_before, entry.state_after), note,
        )
    return table


def _appointment_note(entry: AuditEntry) -> str:
    appointment = entry.changes.get("appointment")
    if isinstance(appointment, str):
        return "Hẹn trả: " + to_vietnam_time_text(appointment)
    return ""


def to_vietnam_time_text(iso: str) -> str:
    return to_vietnam_time(datetime.fromisoformat(iso)).strftime("%d/%m/%Y %H:%M")
