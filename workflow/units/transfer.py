"""A case carried over to the unit that succeeds its own: the ``transfer`` trigger's guard and action.

Both workflows (dossiers and plan tasks) declare the trigger, fired by the system alone, in every state a
case is still being dealt with. It changes no state: the case's unit attributes that named the old unit
(``receiving_unit``, ``deciding_unit`` of a dossier; ``unit`` of a plan task) name the successor from then
on, and ``unit_history`` keeps what changed, when and by which resolution, so the case's history shows both
units. The appointment and the armed timers are left as they were: a receipt's appointment is a promise
made to the applicant, which a merger does not move.

The ``adopt_unit`` trigger gives a unit of the register to a case that has none: written before units existed,
or by a standalone desk under a code the register does not know (``from_units``). In any state, once, the
case's unit attributes that are missing or name one of ``from_units`` are set to the unit that held its
database, so that scopes, reports and later mergers see it like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from motcua.workflow.engine.clock import text
from motcua.workflow.engine.model import JsonValue
from motcua.workflow.engine.registry import Context, Outcome, Registry

__all__ = ["ADOPT", "HELD_BY_PREDECESSOR", "RECORD_TRANSFER", "TRANSFER", "UNIT_ATTRIBUTES", "held_by_predecessor",
           "record_transfer", "register_transfer"]

TRANSFER = "transfer"
RECORD_TRANSFER = "record_transfer"
HELD_BY_PREDECESSOR = "held_by_predecessor"
ADOPT = "adopt_unit"
_UNITLESS = "has_no_registered_unit"
_RECORD_ADOPTION = "record_adoption"
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


def _adoptable(attributes: Sequence[str], context: Context) -> bool:
    """Some unit attribute of the case is missing or names a code the adoption replaces."""
    replaced = _from_units(context)
    return any(not (value := context.case.attributes.get(name)) or value in replaced for name in attributes)


def _record_adoption(attributes: Sequence[str], context: Context) -> Outcome:
    unit, replaced = context.data.get("unit"), _from_units(context)
    chosen = [name for name in attributes if not (value := context.attributes.get(name)) or value in replaced]
    before: list[JsonValue] = [*sorted({str(value) for name in chosen if (value := context.attributes.get(name))})]
    history = context.attributes.get("unit_history")
    entries: list[JsonValue] = list(history) if isinstance(history, list) else []
    entries.append({"at": text(context.now), "from": before, "to": unit, "attributes": list(chosen),
                    "resolution": None, "effective": None, "reason": context.data.get("reason")})
    return Outcome(attributes={**dict.fromkeys(chosen, unit), "unit_history": entries})


def register_transfer(registry: Registry, attributes: Sequence[str]) -> None:
    """Name the guards and actions a workflow's ``transfer`` and ``adopt_unit`` triggers use; ``attributes``: the
    workflow's unit attributes, which an adoption sets."""
    registry.add_guard(HELD_BY_PREDECESSOR, held_by_predecessor)
    registry.add_action(RECORD_TRANSFER, record_transfer)
    registry.add_guard(_UNITLESS, partial(_adoptable, tuple(attributes)))
    registry.add_action(_RECORD_ADOPTION, partial(_record_adoption, tuple(attributes)))
