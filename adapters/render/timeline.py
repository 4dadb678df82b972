"""What the auditor's tools show, as plain values: a dossier's timeline with its Vietnamese labels.

Built once (:func:`build_timeline`) from the audit entries (replayed, never read from the case row) and the
dossier's pinned definition, whose labels it carries (:mod:`motcua.workflow.engine.labels`); rendered by thin
renderers: rich tables (:func:`timeline_tables`, for ``motcua history`` and ``motcua story``), JSON
(:func:`timeline_json`) and a workbook (:func:`motcua.adapters.render.audit_xlsx.history_workbook`). Times are
shown in Vietnam time, to the minute (``dd/mm/yyyy HH:MM``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Final

from rich.table import Table
from rich.text import Text

from motcua.adapters.render.cells import table_texts
from motcua.workflow.auditing.replay import replay, replay_at
from motcua.workflow.auditing.upcasting import upcast
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.labels import region_label, role_label, state_label, trigger_label
from motcua.workflow.engine.model import Case, JsonValue
from motcua.workflow.errors import CaseNotFound

__all__ = [
    "APPOINTMENT_KINDS",
    "PERSONAL_ID_FIELD",
    "AppointmentRow",
    "RegionMove",
    "Timeline",
    "TimelineRow",
    "build_timeline",
    "entry_json",
    "minute",
    "subject_dossiers",
    "timeline_json",
    "timeline_tables",
]

PERSONAL_ID_FIELD: Final = "applicant_id"

APPOINTMENT_KINDS: Final[Mapping[str, str]] = {
    "initial": "Hẹn trả ban đầu (giấy tiếp nhận)",
    "paused": "Dời hẹn do tạm dừng tính thời gian (bổ sung, nghĩa vụ tài chính)",
    "apology": "Hẹn lại theo phiếu xin lỗi (không thay hẹn trả hợp pháp)",
}
# The attributes the state table shows beside the regions (the actions set them; no definition declares them).
_SHOWN_ATTRIBUTES: Final[Mapping[str, str]] = {
    "received_at": "Thời điểm tiếp nhận", "appointment": "Ngày hẹn trả (hợp pháp)", "paused_at": "Tạm dừng tính từ",
    "ended_at": "Kết thúc xử lý", "assignee": "Người xử lý",
}
_INSTANTS: Final = frozenset({"received_at", "appointment", "paused_at", "ended_at"})


def minute(instant: datetime) -> str:
    """An instant as officials read it: Vietnam time, to the minute."""
    return to_vietnam_time(instant).strftime("%d/%m/%Y %H:%M")


def _shown(value: JsonValue | None) -> str:
    """An appointment as stored (an ISO instant, or a date for an apology's new date), shown."""
    if not isinstance(value, str):
        return ""
    try:
        return minute(datetime.fromisoformat(value)) if "T" in value else date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class RegionMove:
    region: str
    region_label: str
    before: str | None
    after: str
    before_label: str
    after_label: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def __str__(self) -> str:
        if self.changed:
            return f"{self.region_label}: {self.before_label or '∅'} → {self.after_label}"
        return f"{self.region_label}: {self.after_label}"


@dataclass(frozen=True, slots=True)
class TimelineRow:
    sequence: int
    at: datetime
    actor: str
    role: str
    role_label: str
    trigger: str
    trigger_label: str
    moves: tuple[RegionMove, ...]
    reason: str | None
    note: str
    schema_version: int  # the schema the entry was written in
    hash: str


@dataclass(frozen=True, slots=True)
class AppointmentRow:
    at: str
    appointment: str
    kind: str
    kind_label: str
    reason: str


@dataclass(frozen=True, slots=True)
class Timeline:
    code: str
    definition: str
    title: str
    at: datetime | None  # the instant asked for (None: the whole history)
    case: Case  # the dossier replayed to ``at`` (or to its last entry)
    rows: tuple[TimelineRow, ...]
    appointments: tuple[AppointmentRow, ...]
    states: tuple[tuple[str, str, str], ...]  # (region label, state, state label) of ``case``


def _moves(definition: WorkflowDefinition, entry: AuditEntry) -> tuple[RegionMove, ...]:
    moves = []
    for region, after in entry.state_after.items():
        before = entry.state_before.get(region)
        moves.append(RegionMove(
            region, region_label(definition, region), before, after,
            state_label(definition, region, before), state_label(definition, region, after),
        ))
    return tuple(moves)


def _note(entry: AuditEntry) -> str:
    parts = []
    for name in ("note", "assignee", "approver", "receiver", "decision_number"):
        value = entry.data.get(name)
        if isinstance(value, str) and value:
            parts.append(f"{name}: {value}")
    if isinstance(entry.changes.get("appointment"), str):
        parts.append("Hẹn trả: " + _shown(entry.changes["appointment"]))
    return "; ".join(parts)


def _row(definition: WorkflowDefinition, stored: AuditEntry) -> TimelineRow:
    entry = upcast(stored)
    return TimelineRow(
        sequence=entry.sequence, at=entry.occurred_at, actor=entry.actor, role=entry.role,
        role_label=role_label(definition, entry.role), trigger=entry.trigger,
        trigger_label=trigger_label(definition, entry.trigger), moves=_moves(definition, entry),
        reason=entry.reason, note=_note(entry), schema_version=stored.schema_version, hash=stored.hash,
    )


def _appointments(definition: WorkflowDefinition, case: Case) -> tuple[AppointmentRow, ...]:
    history = case.attributes.get("appointment_history")
    rows = []
    for item in history if isinstance(history, list) else []:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("kind") or "")
        reason = item.get("reason")
        shown = trigger_label(definition, reason) if isinstance(reason, str) else ""  # a pause names its trigger
        rows.append(AppointmentRow(
            at=_shown(item.get("at")), appointment=_shown(item.get("appointment")), kind=kind,
            kind_label=APPOINTMENT_KINDS.get(kind, kind), reason=shown,
        ))
    return tuple(rows)


def build_timeline(
    entries: Sequence[AuditEntry], definition: WorkflowDefinition, at: datetime | None = None
) -> Timeline:
    """The timeline of one case (entries in sequence order), up to ``at`` when given.

    Raises :class:`~motcua.workflow.errors.CaseNotFound` when there are no entries, or none by ``at``.
    """
    if not entries:
        raise CaseNotFound("")
    code = entries[0].case_code
    case = replay(entries) if at is None else replay_at(entries, at)
    if case is None:
        raise CaseNotFound(f"{code} (not yet opened at {minute(at)})" if at is not None else code)
    shown = [entry for entry in entries if entry.sequence <= case.version]
    states = tuple(
        (region_label(definition, region), state, state_label(definition, region, state))
        for region, state in case.state.items()
    )
    return Timeline(
        code=code, definition=case.definition_ref, title=definition.title, at=at, case=case,
        rows=tuple(_row(definition, entry) for entry in shown), appointments=_appointments(definition, case),
        states=states,
    )


def timeline_json(timeline: Timeline) -> dict[str, JsonValue]:
    case = timeline.case
    return {
        "code": timeline.code, "definition": timeline.definition, "title": timeline.title,
        "at": to_vietnam_time(timeline.at).isoformat() if timeline.at is not None else None,
        "version": case.version, "head_hash": case.head_hash,
        "state": dict(case.state), "attributes": dict(case.attributes),
        "entries": [_row_json(row) for row in timeline.rows],
        "appointment_history": [
            {"at": a.at, "appointment": a.appointment, "kind": a.kind, "kind_label": a.kind_label, "reason": a.reason}
            for a in timeline.appointments
        ],
    }


def _row_json(row: TimelineRow) -> dict[str, JsonValue]:
    return {
        "sequence": row.sequence, "at": to_vietnam_time(row.at).isoformat(), "time": minute(row.at),
        "actor": row.actor, "role": row.role, "role_label": row.role_label,
        "trigger": row.trigger, "trigger_label": row.trigger_label,
        "regions": {
            move.region: {"before": move.before, "after": move.after, "before_label": move.before_label,
                          "after_label": move.after_label}
            for move in row.moves
        },
        "reason": row.reason, "note": row.note, "schema_version": row.schema_version, "hash": row.hash,
    }


# -- rich tables ---------------------------------------------------------------------------------


def timeline_tables(timeline: Timeline) -> list[Table]:
    """The timeline as a terminal shows it: the entries, the appointment history when there is one, and
    the dossier as it stood at the instant asked for."""
    tables = [_entries_table(timeline)]
    if timeline.appointments:
        tables.append(_appointments_table(timeline))
    if timeline.at is not None:
        tables.append(_state_table(timeline, timeline.at))
    return tables


def _entries_table(timeline: Timeline) -> Table:
    title = f"Hồ sơ {timeline.code} — {timeline.title}"
    if timeline.at is not None:
        title += f" — đến {minute(timeline.at)}"
    table = Table(title=Text(title), show_lines=True)  # a code (an imported MaHoSo) is text, never markup
    for column in ("#", "Thời điểm", "Người thực hiện", "Thao tác", "Trạng thái (trước → sau)", "Lý do / ghi chú"):
        table.add_column(column)
    for row in timeline.rows:
        states = "\n".join(str(move) for move in row.moves)
        note = "\n".join(part for part in (row.reason or "", row.note) if part)
        table.add_row(*table_texts(str(row.sequence), minute(row.at), f"{row.actor}\n({row.role_label})",
                                   row.trigger_label, states, note))
    return table


def _appointments_table(timeline: Timeline) -> Table:
    table = Table(title="Lịch sử hẹn trả kết quả")
    for column in ("Thời điểm", "Ngày hẹn trả", "Loại", "Lý do"):
        table.add_column(column)
    for item in timeline.appointments:
        table.add_row(*table_texts(item.at, item.appointment, item.kind_label, item.reason))
    return table


def _state_table(timeline: Timeline, at: datetime) -> Table:
    table = Table(title=f"Hồ sơ tại thời điểm {minute(at)} (phiên bản {timeline.case.version})")
    table.add_column("Mục")
    table.add_column("Giá trị")
    for label, state, shown in timeline.states:
        table.add_row(*table_texts(label, f"{shown} ({state})"))
    for name, label in _SHOWN_ATTRIBUTES.items():
        value = timeline.case.attributes.get(name)
        if isinstance(value, str):
            table.add_row(*table_texts(label, minute(datetime.fromisoformat(value)) if name in _INSTANTS else value))
    return table


# -- personal data -------------------------------------------------------------------------------


def _names(entry: AuditEntry, id_number: str) -> bool:
    return any(values.get(PERSONAL_ID_FIELD) == id_number for values in (entry.data, entry.changes))


def subject_dossiers(entries: Iterable[AuditEntry], id_number: str) -> Iterator[tuple[Case, list[AuditEntry]]]:
    """Every case (replayed) whose entries name the person ``id_number`` as applicant, with its entries.

    ``entries`` ordered by case code then sequence; a case matches when its replayed attributes or any of
    its entries' data (the opening's above all) carry ``applicant_id`` = ``id_number``. The entries are given as
    stored (their schema and hash as written, so that an export can be checked against the chain); they are read
    upcast.
    """
    for _, group in groupby(entries, key=lambda entry: entry.case_code):
        stored = list(group)
        chain = [upcast(entry) for entry in stored]
        case = replay(chain)
        if case is None:
            continue
        if case.attributes.get(PERSONAL_ID_FIELD) == id_number or any(_names(e, id_number) for e in chain):
            yield case, stored


def entry_json(entry: AuditEntry) -> dict[str, JsonValue]:
    """Every field of an entry, instants in Vietnam time."""
    return {
        "sequence": entry.sequence, "position": entry.position, "at": to_vietnam_time(entry.occurred_at).isoformat(),
        "actor": entry.actor, "role": entry.role, "trigger": entry.trigger, "state_before": dict(entry.state_before),
        "state_after": dict(entry.state_after), "data": dict(entry.data), "changes": dict(entry.changes),
        "reason": entry.reason, "definition": f"{entry.definition_key}@{entry.definition_version}",
        "rule_set": entry.rule_set, "schema_version": entry.schema_version, "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
