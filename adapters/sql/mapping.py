"""Explicit mapping between the domain dataclasses and the rows of :mod:`adapters.sql.tables`.

Rows never leave the adapter and domain objects never go into a session: every field is copied
by name here, so a column added to a table or a field added to a dataclass fails loudly.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from adapters.sql.tables import AuditEntryRow, CaseRow, OutboxRow, Row, TimerRow, table_of
from workflow.audit import AuditEntry
from workflow.model import Case, DueTimer, Effect, JsonValue, OutboxItem, SetTimer

__all__ = [
    "case_from_row",
    "case_row",
    "due_timer_from_row",
    "effect_from_row",
    "entry_from_row",
    "entry_row",
    "outbox_item_from_row",
    "outbox_row",
    "timer_from_row",
    "timer_row",
    "values",
]


def values(row: Row, *, skip: Collection[str] = ()) -> dict[str, Any]:
    """The row's column values by column name, for Core statements."""
    table = table_of(type(row))
    return {column.key: getattr(row, column.key) for column in table.columns if column.key not in skip}


def case_row(case: Case) -> CaseRow:
    return CaseRow(
        code=case.code, definition_key=case.definition_key, definition_version=case.definition_version,
        rule_set=case.rule_set, state=dict(case.state), attributes=dict(case.attributes),
        version=case.version, head_hash=case.head_hash, opened_at=case.opened_at, updated_at=case.updated_at,
    )


def case_from_row(row: CaseRow) -> Case:
    return Case(
        code=row.code, definition_key=row.definition_key, definition_version=row.definition_version,
        rule_set=row.rule_set, state=dict(row.state), attributes=_json_object(row.attributes),
        version=row.version, head_hash=row.head_hash, opened_at=row.opened_at, updated_at=row.updated_at,
    )


def entry_row(entry: AuditEntry) -> AuditEntryRow:
    return AuditEntryRow(
        position=entry.position, case_code=entry.case_code, sequence=entry.sequence,
        occurred_at=entry.occurred_at, actor=entry.actor, role=entry.role, trigger=entry.trigger,
        state_before=dict(entry.state_before), state_after=dict(entry.state_after), data=dict(entry.data),
        changes=dict(entry.changes), reason=entry.reason, definition_key=entry.definition_key,
        definition_version=entry.definition_version, rule_set=entry.rule_set, prev_hash=entry.prev_hash,
        hash=entry.hash, schema_version=entry.schema_version,
    )


def entry_from_row(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        case_code=row.case_code, sequence=row.sequence, occurred_at=row.occurred_at, actor=row.actor,
        role=row.role, trigger=row.trigger, state_before=dict(row.state_before),
        state_after=dict(row.state_after), data=_json_object(row.data), changes=_json_object(row.changes),
        reason=row.reason, definition_key=row.definition_key, definition_version=row.definition_version,
        rule_set=row.rule_set, prev_hash=row.prev_hash, hash=row.hash, schema_version=row.schema_version,
        position=row.position,
    )


def timer_row(case_code: str, timer: SetTimer, generation: int) -> TimerRow:
    """A timer armed by the audit entry at position ``generation``, not claimed."""
    return TimerRow(
        case_code=case_code, name=timer.name, trigger=timer.trigger, due_at=timer.due_at,
        data=dict(timer.data), status="armed", generation=generation, claimed_until=None,
    )


def timer_from_row(row: TimerRow) -> SetTimer:
    return SetTimer(name=row.name, trigger=row.trigger, due_at=row.due_at, data=_json_object(row.data))


def due_timer_from_row(row: TimerRow) -> DueTimer:
    return DueTimer(
        case_code=row.case_code, name=row.name, trigger=row.trigger, due_at=row.due_at,
        data=_json_object(row.data), generation=row.generation,
    )


def outbox_row(case_code: str, position: int, effect: Effect, at: datetime) -> OutboxRow:
    """A pending outbox row; ``at`` is the decision's instant (the injected clock, not the database's)."""
    return OutboxRow(
        case_code=case_code, position=position, kind=effect.kind, payload=dict(effect.payload),
        status="pending", attempts=0, next_attempt_at=at, created_at=at, last_error=None, claimed_until=None,
    )


def effect_from_row(row: OutboxRow) -> Effect:
    return Effect(kind=row.kind, payload=_json_object(row.payload))


def outbox_item_from_row(row: OutboxRow) -> OutboxItem:
    assert row.id is not None, "an outbox row read back from the database has its id"
    return OutboxItem(
        id=row.id, case_code=row.case_code, kind=row.kind, payload=_json_object(row.payload),
        attempts=row.attempts, status=row.status, next_attempt_at=row.next_attempt_at, last_error=row.last_error,
    )


def _json_object(value: dict[str, Any]) -> dict[str, JsonValue]:
    """A JSON object read back from a JSON column (already decoded by the driver)."""
    return dict(value)
