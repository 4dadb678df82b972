"""The Vietnamese labels of a workflow, read from its definition: a trigger's, a region's, a state's, a role's.

Labels are declared in the definitions (``definitions/workflows/*.yaml``) and nowhere else; everything that
shows one looks it up here. A name the definition does not declare (an entry of another version, a typo in
a hand-written log) is shown as itself.
"""

from __future__ import annotations

from motcua.workflow.engine.decisions import OPEN_TRIGGER
from motcua.workflow.engine.definition import WorkflowDefinition

__all__ = ["region_label", "role_label", "state_label", "trigger_label"]


def trigger_label(definition: WorkflowDefinition, trigger: str) -> str:
    """The label of ``trigger``; the opening's for the trigger a case is opened with."""
    if trigger == OPEN_TRIGGER:
        return definition.opening.label
    spec = definition.triggers.get(trigger)
    return spec.label if spec is not None else trigger


def region_label(definition: WorkflowDefinition, region: str) -> str:
    spec = definition.regions.get(region)
    return spec.label if spec is not None else region


def state_label(definition: WorkflowDefinition, region: str, state: str | None) -> str:
    """The label of ``state`` in ``region``; empty for no state (a region before the case was opened)."""
    if state is None:
        return ""
    spec = definition.regions.get(region)
    found = spec.states.get(state) if spec is not None else None
    return found.label if found is not None else state


def role_label(definition: WorkflowDefinition, role: str) -> str:
    return definition.roles.get(role, role)
