"""The digests a database pins of the definitions a process loads: each workflow version and each rule set
(:mod:`motcua.workflow.engine.pins`; what a rule set's digest covers: :mod:`motcua.workflow.dossiers.rule_digest`).

``open_motcua`` checks them against the database's pins at start; ``motcua definitions repin`` reads them to re-pin
one definition corrected in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from motcua.definitions.catalogue import load_rule_sets
from motcua.definitions.workflows import load_definitions
from motcua.workflow.dossiers.catalogue import RuleSet
from motcua.workflow.dossiers.rule_digest import rule_set_digest
from motcua.workflow.engine.definition import WorkflowDefinition
from motcua.workflow.engine.pins import Pin, workflow_digest

__all__ = ["definition_digests", "loaded_digests"]


def definition_digests(workflows: Iterable[WorkflowDefinition], rule_sets: Iterable[RuleSet]) -> dict[Pin, str]:
    """The digest of each workflow version and each rule set, by name."""
    digests = {Pin.workflow(definition.key, definition.version): workflow_digest(definition)
               for definition in workflows}
    digests.update((Pin.rule_set(rules.key), rule_set_digest(rules)) for rules in rule_sets)
    return digests


def loaded_digests(workflows_dir: Path | None = None, rules_dir: Path | None = None) -> dict[Pin, str]:
    """:func:`definition_digests` of the definitions read from the folders (default: the shipped ones), each file
    validated as when a process starts."""
    definitions = (definition for _, definition in load_definitions(workflows_dir))
    return definition_digests(definitions, load_rule_sets(rules_dir))
