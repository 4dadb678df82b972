"""Load workflow definitions from YAML: safe load → schema validation → named checks → compile.

Files are named ``<key>.v<version>.yaml``; every version stays loadable so running cases keep the
definition they started with when a newer one is published.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from motcua.definitions.yamlsafe import load_yaml, yaml_files
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.registry import Registry
from motcua.workflow.errors import InvalidDefinition

__all__ = ["WORKFLOWS_DIR", "load_definition", "load_definitions", "load_workflows"]

WORKFLOWS_DIR = Path(__file__).with_name("workflows")


def load_definition(path: Path) -> WorkflowDefinition:
    """Parse and validate one file; the graph checks run when it is added to a set."""
    document = load_yaml(path)
    try:
        definition = WorkflowDefinition.model_validate(document)
    except ValidationError as error:
        raise InvalidDefinition(str(path), _messages(error)) from None
    expected = f"{definition.key}.v{definition.version}.yaml"
    if path.name != expected:
        raise InvalidDefinition(str(path), [f"file declares {definition.ref}; name it {expected}"])
    return definition


def _messages(error: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in item['loc']) or '(document)'}: {item['msg']}"
        for item in error.errors()
    ]


def load_definitions(directory: Path | None = None) -> list[tuple[Path, WorkflowDefinition]]:
    """Every ``*.yaml`` of the directory (default: the shipped workflows), parsed and validated, with its path."""
    return [(path, load_definition(path)) for path in yaml_files(directory or WORKFLOWS_DIR)]


def load_workflows(registries: Mapping[str, Registry], directory: Path | None = None) -> WorkflowSet:
    """Every ``*.yaml`` of the directory, each compiled against the registry of its key."""
    workflows = WorkflowSet()
    for path, definition in load_definitions(directory):
        registry = registries.get(definition.key)
        if registry is None:
            raise InvalidDefinition(str(path), [f"no guards and actions are registered for {definition.key!r}"])
        workflows.add(definition, registry, str(path))
    return workflows
