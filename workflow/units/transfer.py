"""A case carried over to the unit that succeeds its own: the ``transfer`` trigger's guard and action.

Both workflows (dossiers and plan tasks) declare the trigger, fired by the system alone, in every state a
case is still being dealt with. It changes no state: the case's unit attributes that named the old unit
(``receiving_unit``, ``deciding_unit`` of a dossier; ``unit`` of a plan task) name the successor from then
on, and ``unit_history`` keeps what changed, when and by which resolution, so the case's history shows both
units. The appointment and the armed timers are left as they were: a receipt's appointment is a promise
made to the applicant, which a merger does not move.
"""

from __future__ import annotations

from motcua.workflow.engine.clock import text
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.engine.registry import Context, Outcome, Registry

__all__ = ["HELD_BY_PREDECESSOR", "RECORD_TRANSFER", "TRANSFER", "UNIT_ATTRIBUTES", "held_by_predecessor",
           "record_transfer", "register_transfer"]

TRANSFER = "transfer"
RECORD_TRANSFER = "record_transfer"
HELD_BY_PREDECESSOR = "held_by_predecessor"
UNIT_ATTRIBUTES = ("receiving_unit", "deciding_unit", "unit")
"""The attributes that name a unit a case belongs to."""


def _from_units(context: Context) -> list[JsonValue]:
    units = context.data.get("from_units")
    return units if isinstance(units, list) else []


def held_by_predecessor(context: Context) -> bool:
    """The case still belongs to a unit the transfer is from (a second transfer finds nothing to move)."""
    old = _from_units(context)
    return any(context.case.attributes.get(name) in old for name in UNIT_ATTRIBUTES)


def record_transfer(context: Context) -> Outcome:
    """One entry per case, however many of its unit attributes name the merged units (a dossier received at one
    of them for another is moved once)."""
    old, new = _from_units(context), context.data.get("to_unit")
    moved = {name: context.attributes[name] for name in UNIT_ATTRIBUTES if context.attributes.get(name) in old}
    history = context.attributes.get("unit_history")
    entries: list[JsonValue] = list(history) if isinstance(history, list) else []
    replaced: list[JsonValue] = [*sorted({str(unit) for unit in moved.values()})]
    entries.append({
        "at": text(context.now), "from": replaced, "to": new,
        "attributes": list(moved), "resolution": context.data.get("resolution"),
        "effective": context.data.get("effective"),
    })
    changes: dict[str, JsonValue] = {name: new for name in moved}
    return Outcome(attributes={**changes, "unit_history": entries})


def register_transfer(registry: Registry) -> None:
    """Name the guard and the action a workflow's ``transfer`` trigger uses."""
    registry.add_guard(HELD_BY_PREDECESSOR, held_by_predecessor)
    registry.add_action(RECORD_TRANSFER, record_transfer)
