"""Small named checks run on every definition at load; each returns the problems it found.

A problem names the region and the offending states, triggers, roles, guards or actions, so the
author of a broken file knows what to fix. :func:`validate` raises one
:class:`~motcua.workflow.errors.InvalidDefinition` listing all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from motcua.workflow.engine.definition import DataField, TransitionSpec, WorkflowDefinition
from motcua.workflow.engine.model import SYSTEM_ROLE
from motcua.workflow.engine.queries import INDEX_KEYS
from motcua.workflow.engine.registry import Registry
from motcua.workflow.errors import InvalidDefinition

__all__ = [
    "CHECKS",
    "PERSON_KEYS",
    "check_final_states_are_final",
    "check_index",
    "check_one_initial_state",
    "check_personal_fields",
    "check_references",
    "check_registered_names",
    "check_roles_declared",
    "check_states_reachable",
    "check_status_codes",
    "check_timers",
    "check_transitions_taken",
    "validate",
]

Check = Callable[[WorkflowDefinition, Registry], list[str]]


def _transitions(definition: WorkflowDefinition) -> Iterator[tuple[str, TransitionSpec]]:
    for trigger, spec in definition.triggers.items():
        for transition in spec.transitions:
            yield trigger, transition


def check_one_initial_state(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    problems = []
    for name, region in definition.regions.items():
        initial = region.initial_states
        if len(initial) != 1:
            problems.append(f"region {name!r} must have exactly one initial state, has {list(initial)}")
    return problems


def check_references(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    problems = []
    for trigger, transition in _transitions(definition):
        region = definition.regions.get(transition.region)
        if region is None:
            problems.append(f"trigger {trigger!r} names unknown region {transition.region!r}")
            continue
        named = [*transition.source, *([transition.dest] if transition.dest else [])]
        unknown = sorted({state for state in named if state not in region.states})
        if unknown:
            problems.append(f"trigger {trigger!r}: region {transition.region!r} has no states {unknown}")
        problems.extend(_when_problems(definition, trigger, transition))
    return problems


def _when_problems(definition: WorkflowDefinition, trigger: str, transition: TransitionSpec) -> list[str]:
    problems = []
    for region_name, states in transition.when.items():
        if region_name == transition.region:
            problems.append(f"trigger {trigger!r}: 'when' names the transition's own region {region_name!r}")
            continue
        region = definition.regions.get(region_name)
        if region is None:
            problems.append(f"trigger {trigger!r}: 'when' names unknown region {region_name!r}")
            continue
        unknown = sorted(set(states) - set(region.states))
        if unknown:
            problems.append(f"trigger {trigger!r}: 'when' region {region_name!r} has no states {unknown}")
    return problems


def check_status_codes(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    """A region gives every state a status code (the DVCQG ``TrangThaiHoSo`` of a dossier) or none."""
    problems = []
    for name, region in definition.regions.items():
        lacking = sorted(state for state, spec in region.states.items() if spec.status_code is None)
        if lacking and len(lacking) < len(region.states):
            problems.append(f"region {name!r}: states {lacking} have no status_code, the others have one")
    return problems


def check_transitions_taken(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    """Of a trigger's transitions from one state of a region the first whose guards and ``when`` hold is taken: none
    may follow, from the same state, one that has neither (it would never be taken)."""
    problems = []
    for trigger, spec in definition.triggers.items():
        taken_always: dict[tuple[str, str], int] = {}  # (region, state) → the unconditional transition, 1-based
        for number, transition in enumerate(spec.transitions, start=1):
            shadowed = {taken_always[(transition.region, state)] for state in transition.source
                        if (transition.region, state) in taken_always}
            if shadowed:
                states = sorted(state for state in transition.source if (transition.region, state) in taken_always)
                problems.append(f"trigger {trigger!r}: transition {number} of region {transition.region!r} is never "
                                f"taken from {states}: transition {min(shadowed)} has no guard and no 'when'")
            if not transition.guards and not transition.when:
                for state in transition.source:
                    taken_always.setdefault((transition.region, state), number)
    return problems


def check_roles_declared(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    problems = []
    for trigger, spec in definition.triggers.items():
        unknown = sorted(set(spec.roles) - set(definition.roles))
        if unknown:
            problems.append(f"trigger {trigger!r} allows undeclared roles {unknown}")
    if unknown := sorted(set(definition.opening.roles) - set(definition.roles)):
        problems.append(f"opening allows undeclared roles {unknown}")
    return problems


def check_final_states_are_final(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    problems = []
    for trigger, transition in _transitions(definition):
        region = definition.regions.get(transition.region)
        if region is None or transition.dest is None:
            continue
        leaving = sorted(
            state for state in transition.source
            if state in region.states and region.states[state].final and state != transition.dest
        )
        if leaving:
            problems.append(
                f"trigger {trigger!r} leaves final states {leaving} of region {transition.region!r}"
            )
    return problems


def check_states_reachable(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    problems = []
    for name, region in definition.regions.items():
        edges: dict[str, set[str]] = {state: set() for state in region.states}
        for _, transition in _transitions(definition):
            if transition.region == name and transition.dest in region.states:
                for source in transition.source:
                    edges.setdefault(source, set()).add(transition.dest)
        seen = _reach(edges, set(region.initial_states))
        unreachable = sorted(set(region.states) - seen)
        if unreachable:
            problems.append(f"region {name!r}: states {unreachable} cannot be reached from the initial state")
    return problems


def _reach(edges: dict[str, set[str]], start: set[str]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def check_registered_names(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    guards = {g for _, t in _transitions(definition) for g in t.guards}
    actions = {a for _, t in _transitions(definition) for a in t.actions} | set(definition.opening.actions)
    problems = []
    if missing := sorted(guards - set(registry.guards)):
        problems.append(f"guards {missing} are not registered")
    if missing := sorted(actions - set(registry.actions)):
        problems.append(f"actions {missing} are not registered")
    for action in sorted(actions & set(registry.actions)):
        if absent := sorted(registry.actions[action].fires - set(definition.triggers)):
            problems.append(f"action {action!r} fires triggers {absent} that the definition does not declare")
    return problems


def check_timers(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    """A trigger the timers of an action fire is declared ``timer: true``, and every timer trigger allows the role
    :data:`SYSTEM_ROLE`: else each timer fails when it falls due, long after the definition loaded."""
    used = {a for _, t in _transitions(definition) for a in t.actions} | set(definition.opening.actions)
    firing: dict[str, list[str]] = {}
    for action in sorted(used & set(registry.actions)):
        for trigger in registry.actions[action].fires:
            firing.setdefault(trigger, []).append(action)
    problems = []
    for trigger, spec in definition.triggers.items():
        if trigger in firing and not spec.timer:
            problems.append(f"trigger {trigger!r} is fired by the timers of {firing[trigger]} but is not declared "
                            "'timer: true'")
        if (trigger in firing or spec.timer) and SYSTEM_ROLE not in spec.roles:
            why = f"is fired by the timers of {firing[trigger]}" if trigger in firing else "is declared 'timer: true'"
            problems.append(f"trigger {trigger!r} {why} but does not allow the role {SYSTEM_ROLE!r}")
    return problems


def check_index(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    """The index declares known search keys, each read from at least one attribute, none twice."""
    problems = []
    if unknown := sorted(set(definition.index) - set(INDEX_KEYS)):
        problems.append(f"index declares unknown search keys {unknown}; known: {list(INDEX_KEYS)}")
    for key, names in definition.index.items():
        if not names:
            problems.append(f"index key {key!r} names no attribute")
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            problems.append(f"index key {key!r} names attributes {repeated} more than once")
    return problems


PERSON_KEYS: Final = ("applicant", "officer")
"""The search keys whose attributes name a person (an applicant's identity number, an officer's name)."""


def _data_fields(definition: WorkflowDefinition) -> Iterator[tuple[str, str, DataField]]:
    """(where, field, spec) of the opening's data and every trigger's."""
    for name, spec in definition.opening.data.items():
        yield "the opening", name, spec
    for trigger, trigger_spec in definition.triggers.items():
        for name, spec in trigger_spec.data.items():
            yield f"trigger {trigger!r}", name, spec


def check_personal_fields(definition: WorkflowDefinition, registry: Registry) -> list[str]:
    """A field name is personal everywhere or nowhere (a log must not show in one trigger what another withholds),
    and no field the index reads a person from (:data:`PERSON_KEYS`) is declared ``personal: false``."""
    declared: dict[str, dict[bool, list[str]]] = {}
    for where, name, spec in _data_fields(definition):
        declared.setdefault(name, {True: [], False: []})[spec.personal].append(where)
    problems = [
        f"field {name!r} is personal in {sides[True]} but 'personal: false' in {sides[False]}: declare it alike"
        for name, sides in declared.items() if sides[True] and sides[False]
    ]
    for key in PERSON_KEYS:
        for name in definition.index.get(key, ()):
            if name in declared and declared[name][False]:
                problems.append(f"field {name!r} is read by the index key {key!r}, a person: it cannot be "
                                f"'personal: false' ({declared[name][False]})")
    return problems


CHECKS: tuple[Check, ...] = (
    check_one_initial_state,
    check_references,
    check_status_codes,
    check_transitions_taken,
    check_roles_declared,
    check_final_states_are_final,
    check_states_reachable,
    check_registered_names,
    check_timers,
    check_index,
    check_personal_fields,
)


def validate(definition: WorkflowDefinition, registry: Registry, source: str) -> None:
    problems = [problem for check in CHECKS for problem in check(definition, registry)]
    if problems:
        raise InvalidDefinition(source, problems)
