"""What the definitions name of one another exists: checked once, when a process composes them.

Each loader checks its own files; what one kind of definition names of another is only known once all are loaded
(:func:`motcua.adapters.bootstrap.open_motcua`). A procedure's ``workflow`` must be a workflow the desk opens dossiers
with (one bound to the dossier actions): any other key failed at the reception desk, on the first dossier of that
procedure. A workflow's ``rule_sets`` must be rule sets of the rule book: a misspelt key was never noticed.
"""

from __future__ import annotations

from collections.abc import Set

from motcua.workflow.dossiers.catalogue import Catalogue, RuleBook
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.errors import InvalidDefinition

__all__ = ["check_references", "procedure_problems", "reference_problems"]


def reference_problems(catalogue: Catalogue, rules: RuleBook, workflows: WorkflowSet,
                       dossier_workflows: Set[str]) -> list[str]:
    """Every name one definition gives of another that does not exist, one line each."""
    known = {rule_set.key for rule_set in rules}
    problems = [f"workflow {definition.key} v{definition.version}: rule set {key!r} is not in the rule book "
                f"(known: {', '.join(sorted(known))})"
                for definition in workflows.definitions() for key in definition.rule_sets if key not in known]
    problems.extend(procedure_problems(catalogue, dossier_workflows))
    return problems


def procedure_problems(catalogue: Catalogue, dossier_workflows: Set[str]) -> list[str]:
    """Every procedure whose ``workflow`` is not one of ``dossier_workflows``, one line each: also checked by
    ``motcua procedures import`` before it writes a revision (no process could start with one)."""
    return [f"procedure {procedure.code}: workflow {procedure.workflow!r} is not a dossier workflow "
            f"(known: {', '.join(sorted(dossier_workflows))})"
            for procedure in catalogue if procedure.workflow not in dossier_workflows]


def check_references(catalogue: Catalogue, rules: RuleBook, workflows: WorkflowSet,
                     dossier_workflows: Set[str]) -> None:
    """:class:`InvalidDefinition` naming every broken reference (:func:`reference_problems`), if any."""
    problems = reference_problems(catalogue, rules, workflows, dossier_workflows)
    if problems:
        raise InvalidDefinition("definitions", problems)
