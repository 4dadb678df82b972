"""Mermaid state diagrams of a definition: one composite state per region."""

from __future__ import annotations

from motcua.workflow.engine.definition import WorkflowDefinition

__all__ = ["mermaid"]


def mermaid(definition: WorkflowDefinition) -> str:
    lines = ["stateDiagram-v2", f"    %% {definition.title} ({definition.ref})"]
    for index, (name, region) in enumerate(definition.regions.items()):
        if index:
            lines.append("    --")
        lines.append(f'    state "{region.label}" as {name} {{')
        lines.extend(_region_lines(definition, name))
        lines.append("    }")
    return "\n".join(lines) + "\n"


def _region_lines(definition: WorkflowDefinition, region: str) -> list[str]:
    spec = definition.regions[region]
    lines = [
        f"        {region}__{state} : {_state_label(state, s.label, s.status_code)}" for state, s in spec.states.items()
    ]
    lines.append(f"        [*] --> {region}__{spec.initial}")
    for trigger, trigger_spec in definition.triggers.items():
        for transition in trigger_spec.transitions:
            if transition.region != region:
                continue
            for source in transition.source:
                dest = transition.dest or source
                lines.append(f"        {region}__{source} --> {region}__{dest} : {trigger}")
    lines.extend(f"        {region}__{state} --> [*]" for state, s in spec.states.items() if s.final)
    return lines


def _state_label(name: str, label: str, code: int | None) -> str:
    shown = f"{label} [{code}]" if code is not None else label
    return f"{name} — {shown}"
