"""Explicit mapping between the domain dataclasses and the store's statements (:mod:`motcua.adapters.sql.queries`).

Domain objects never reach the database and driver rows never leave the adapter: every field is copied
by name here, so a column added to a table or a field added to a dataclass fails loudly. Writes bind
parameter dicts (``*_params``), JSON encoded once with :func:`~motcua.adapters.sql.engine.json_dumps` and
instants by a :class:`~motcua.adapters.sql.codec.Codec`; reads decode driver rows (``*_from_record``), in
the column orders the statements name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from motcua.adapters.sql.codec import Codec
from motcua.adapters.sql.engine import json_dumps
from motcua.adapters.sql.queries import INDEX_COLUMNS, STATE_COLUMNS
from motcua.workflow.engine.audit import AuditEntry
from motcua.workflow.engine.bounds import excerpt
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.engine.model import Case, DueTimer, Effect, OutboxItem, SetTimer

__all__ = [
    "case_from_record",
    "case_params",
    "checked_entry_from_record",
    "decision_params",
    "due_timer_from_record",
    "effect_from_record",
    "effect_params",
    "entry_from_record",
    "entry_params",
    "found_by_from_record",
    "maybe",
    "outbox_item_from_record",
    "timer_from_record",
    "timer_params",
]

Record = Sequence[Any]
T = TypeVar("T")


def maybe(convert: Callable[[Any], T], value: Any) -> T | None:
    """``convert(value)``, or ``None`` for a NULL."""
    return None if value is None else convert(value)


def decision_params(decision: Decision, codec: Codec) -> tuple[dict[str, object], dict[str, object]]:
    """The case's and the entry's values of a decision; the state the entry led to (the case's) is encoded once."""
    case, entry = decision.case, decision.entry
    state_text = json_dumps(dict(case.state))
    shared = state_text if entry.state_after == case.state else None
    return case_params(case, decision.index, codec, state_text), entry_params(entry, codec, shared)


def case_params(
    case: Case, index: Mapping[str, str], codec: Codec, state_text: str | None = None
) -> dict[str, object]:
    """The case's values and its index by placeholder name, for ``insert_case`` and ``update_case``;
    ``state_text`` is the JSON of ``case.state`` when the caller has encoded it already."""
    params: dict[str, object] = {
        "code": case.code, "definition_key": case.definition_key, "definition_version": case.definition_version,
        "rule_set": case.rule_set, "state": json_dumps(dict(case.state)) if state_text is None else state_text,
        "attributes": json_dumps(dict(case.attributes)), "version": case.version, "head_hash": case.head_hash,
        "opened_at": codec.instant(case.opened_at), "updated_at": codec.instant(case.updated_at),
    }
    for key, column in INDEX_COLUMNS.items():
        params[column] = index.get(key)
    for region, column in STATE_COLUMNS.items():
        params[column] = case.state.get(region)
    return params


def case_from_record(record: Record, codec: Codec) -> Case:
    """A case from a row of :data:`motcua.adapters.sql.queries.CASE_COLUMNS`."""
    code, key, definition_version, rule_set, state, attributes, version, head_hash, opened_at, updated_at = record
    return Case(
        code=code, definition_key=key, definition_version=definition_version, rule_set=rule_set,
        state=codec.json_from(state), attributes=codec.json_from(attributes), version=version, head_hash=head_hash,
        opened_at=codec.instant_from(opened_at), updated_at=codec.instant_from(updated_at),
    )


def found_by_from_record(record: Record) -> tuple[str, dict[str, str]]:
    """A case's code and its search columns (a row of ``code`` and :data:`~motcua.adapters.sql.queries.WRITTEN_INDEX`)
    by :func:`~motcua.workflow.engine.queries.found_by`'s keys; a column left empty is no key."""
    code, *values = record
    keys = (*INDEX_COLUMNS, *(f"state.{region}" for region in STATE_COLUMNS))
    return code, {key: value for key, value in zip(keys, values, strict=True) if value is not None}


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


def entry_from_record(record: Record, codec: Codec) -> AuditEntry:
    """An entry from a row of :data:`motcua.adapters.sql.queries.STORED_ENTRY_COLUMNS`."""
    return _entry_from_record(record, codec, lambda _column, value: codec.json_from(value))


def checked_entry_from_record(record: Record, codec: Codec) -> AuditEntry:
    """:func:`entry_from_record`, its JSON texts also checked for a key repeated in one object: named in the entry's
    ``stored_flaw``, which verify reports. What the log's readers for the auditor (``entries``, ``history``) decode."""
    flaws: list[str] = []

    def decode(column: str, value: Any) -> Any:
        document, repeated = codec.json_checked_from(value)
        if repeated is not None:
            flaws.append(f"{column} repeats the key {excerpt(repeated)} in one object")
        return document

    entry = _entry_from_record(record, codec, decode)
    return replace(entry, stored_flaw="; ".join(flaws)) if flaws else entry


def _entry_from_record(record: Record, codec: Codec, decode: Callable[[str, Any], Any]) -> AuditEntry:
    (case_code, sequence, occurred_at, actor, role, trigger, state_before, state_after, data, changes, reason,
     definition_key, definition_version, rule_set, prev_hash, hash_, schema_version, position, position_hash) = record
    return AuditEntry(
        case_code=case_code, sequence=sequence, occurred_at=codec.instant_from(occurred_at), actor=actor, role=role,
        trigger=trigger, state_before=decode("state_before", state_before),
        state_after=decode("state_after", state_after), data=decode("data", data), changes=decode("changes", changes),
        reason=reason, definition_key=definition_key, definition_version=definition_version, rule_set=rule_set,
        prev_hash=prev_hash, hash=hash_, schema_version=schema_version, position=position, position_hash=position_hash,
    )


def timer_params(case_code: str, timer: SetTimer, generation: int, codec: Codec) -> dict[str, object]:
    """A timer armed by the audit entry at position ``generation``, for ``arm_timer`` (armed, not claimed)."""
    return {
        "case_code": case_code, "name": timer.name, "trigger": timer.trigger, "due_at": codec.instant(timer.due_at),
        "data": json_dumps(dict(timer.data)), "generation": generation,
    }


def timer_from_record(record: Record, codec: Codec) -> SetTimer:
    """An armed timer from a row of :data:`motcua.adapters.sql.queries.TIMER_COLUMNS`."""
    _, name, trigger, due_at, data, _ = record
    return SetTimer(name=name, trigger=trigger, due_at=codec.instant_from(due_at), data=codec.json_from(data))


def due_timer_from_record(record: Record, codec: Codec) -> DueTimer:
    """A claimed timer from a row of :data:`motcua.adapters.sql.queries.TIMER_COLUMNS` and ``attempts``."""
    case_code, name, trigger, due_at, data, generation, attempts = record
    return DueTimer(
        case_code=case_code, name=name, trigger=trigger, due_at=codec.instant_from(due_at),
        data=codec.json_from(data), generation=generation, attempts=attempts,
    )


def effect_params(case_code: str, position: int, effect: Effect, at: datetime, codec: Codec) -> dict[str, object]:
    """A pending outbox row, for ``enqueue_effect``; ``at`` is the decision's instant (the injected clock,
    not the database's): the first attempt is due at once."""
    return {
        "case_code": case_code, "position": position, "kind": effect.kind,
        "payload": json_dumps(dict(effect.payload)), "at": codec.instant(at),
    }


def effect_from_record(record: Record, codec: Codec) -> Effect:
    kind, payload = record
    return Effect(kind=kind, payload=codec.json_from(payload))


def outbox_item_from_record(record: Record, codec: Codec) -> OutboxItem:
    """An outbox row from a row of :data:`motcua.adapters.sql.queries.OUTBOX_ITEM_COLUMNS`."""
    item_id, case_code, kind, payload, attempts, status, next_attempt_at, last_error, created_at, channels = record
    return OutboxItem(
        id=item_id, case_code=case_code, kind=kind, payload=codec.json_from(payload), attempts=attempts,
        status=status, next_attempt_at=codec.instant_from(next_attempt_at), last_error=last_error,
        created_at=codec.instant_from(created_at), delivered=frozenset(channels.split(",") if channels else ()),
    )


def channels_text(channels: frozenset[str]) -> str | None:
    """``outbox.delivered_channels``: the channels' names, sorted, comma-separated (a name holds no comma:
    :class:`~motcua.adapters.notifiers.routing.FanOut` refuses one); NULL for none."""
    return ",".join(sorted(channels)) or None
