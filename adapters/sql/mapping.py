"""Explicit mapping between the domain dataclasses and the rows of :mod:`motcua.adapters.sql.tables`.

Rows never leave the adapter and domain objects never go into a session: every field is copied
by name here, so a column added to a table or a field added to a dataclass fails loudly.
Writes bind parameter dicts (``*_params``) straight to the statements of :mod:`motcua.adapters.sql.queries`,
JSON encoded once with :func:`~motcua.adapters.sql.engine.json_dumps` and instants by a
:class:`~motcua.adapters.sql.codec.Codec`;
``load`` decodes its driver row with :func:`case_from_record`; the other reads go through SQLModel rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from motcua.adapters.sql.codec import Codec
from motcua.adapters.sql.engine import json_dumps
from motcua.adapters.sql.tables import AuditEntryRow, CaseRow, OutboxRow, TimerRow
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Case, DueTimer, Effect, JsonValue, OutboxItem, SetTimer

__all__ = [
    "case_from_record",
    "case_from_row",
    "case_params",
    "decision_params",
    "due_timer_from_row",
    "effect_from_row",
    "effect_params",
    "entry_from_row",
    "entry_params",
    "outbox_item_from_row",
    "timer_from_row",
    "timer_params",
]


def decision_params(decision: Decision, codec: Codec) -> tuple[dict[str, object], dict[str, object]]:
    """The case's and the entry's values of a decision; the state the entry led to (the case's) is encoded once."""
    case, entry = decision.case, decision.entry
    state_text = json_dumps(dict(case.state))
    shared = state_text if entry.state_after == case.state else None
    return case_params(case, codec, state_text), entry_params(entry, codec, shared)


def case_params(case: Case, codec: Codec, state_text: str | None = None) -> dict[str, object]:
    """The case's values by placeholder name, for ``insert_case`` and ``update_case``; ``state_text`` is the
    JSON of ``case.state`` when the caller has encoded it already."""
    return {
        "code": case.code, "definition_key": case.definition_key, "definition_version": case.definition_version,
        "rule_set": case.rule_set, "state": json_dumps(dict(case.state)) if state_text is None else state_text,
        "attributes": json_dumps(dict(case.attributes)), "version": case.version, "head_hash": case.head_hash,
        "opened_at": codec.instant(case.opened_at), "updated_at": codec.instant(case.updated_at),
    }


def case_from_record(record: Sequence[Any], codec: Codec) -> Case:
    """A case from a ``load_case`` row (columns in :data:`motcua.adapters.sql.queries.CASE_COLUMNS` order)."""
    code, key, definition_version, rule_set, state, attributes, version, head_hash, opened_at, updated_at = record
    return Case(
        code=code, definition_key=key, definition_version=definition_version, rule_set=rule_set,
        state=codec.json_from(state), attributes=codec.json_from(attributes), version=version, head_hash=head_hash,
        opened_at=codec.instant_from(opened_at), updated_at=codec.instant_from(updated_at),
    )


def case_from_row(row: CaseRow) -> Case:
    return Case(
        code=row.code, definition_key=row.definition_key, definition_version=row.definition_version,
        rule_set=row.rule_set, state=dict(row.state), attributes=_json_object(row.attributes),
        version=row.version, head_hash=row.head_hash, opened_at=row.opened_at, updated_at=row.updated_at,
    )


def entry_params(entry: AuditEntry, codec: Codec, state_text: str | None = None) -> dict[str, object]:
    """The entry's values by placeholder name, for ``append_entry`` (the store assigns its position);
    ``state_text`` is the JSON of ``entry.state_after`` when the caller has encoded it already, and an
    internal transition's ``state_before`` is that text again."""
    after = json_dumps(dict(entry.state_after)) if state_text is None else state_text
    before = after if entry.state_before == entry.state_after else json_dumps(dict(entry.state_before))
    return {
        "case_code": entry.case_code, "sequence": entry.sequence, "occurred_at": codec.instant(entry.occurred_at),
        "actor": entry.actor, "role": entry.role, "trigger": entry.trigger, "state_before": before,
        "state_after": after, "data": json_dumps(dict(entry.data)), "changes": json_dumps(dict(entry.changes)),
        "reason": entry.reason, "definition_key": entry.definition_key,
        "definition_version": entry.definition_version, "rule_set": entry.rule_set, "prev_hash": entry.prev_hash,
        "hash": entry.hash, "schema_version": entry.schema_version,
    }


def entry_from_row(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        case_code=row.case_code, sequence=row.sequence, occurred_at=row.occurred_at, actor=row.actor,
        role=row.role, trigger=row.trigger, state_before=dict(row.state_before),
        state_after=dict(row.state_after), data=_json_object(row.data), changes=_json_object(row.changes),
        reason=row.reason, definition_key=row.definition_key, definition_version=row.definition_version,
        rule_set=row.rule_set, prev_hash=row.prev_hash, hash=row.hash, schema_version=row.schema_version,
        position=row.position,
    )


def timer_params(case_code: str, timer: SetTimer, generation: int, codec: Codec) -> dict[str, object]:
    """A timer armed by the audit entry at position ``generation``, for ``arm_timer`` (armed, not claimed)."""
    return {
        "case_code": case_code, "name": timer.name, "trigger": timer.trigger, "due_at": codec.instant(timer.due_at),
        "data": json_dumps(dict(timer.data)), "generation": generation,
    }


def timer_from_row(row: TimerRow) -> SetTimer:
    return SetTimer(name=row.name, trigger=row.trigger, due_at=row.due_at, data=_json_object(row.data))


def due_timer_from_row(row: TimerRow) -> DueTimer:
    return DueTimer(
        case_code=row.case_code, name=row.name, trigger=row.trigger, due_at=row.due_at,
        data=_json_object(row.data), generation=row.generation,
    )


def effect_params(case_code: str, position: int, effect: Effect, at: datetime, codec: Codec) -> dict[str, object]:
    """A pending outbox row, for ``enqueue_effect``; ``at`` is the decision's instant (the injected clock,
    not the database's): the first attempt is due at once."""
    return {
        "case_code": case_code, "position": position, "kind": effect.kind,
        "payload": json_dumps(dict(effect.payload)), "at": codec.instant(at),
    }


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
