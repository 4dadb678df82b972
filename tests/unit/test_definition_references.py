"""What one definition names of another exists, checked when a process starts (:mod:`motcua.definitions.references`):
a procedure's workflow that opens no dossier, and a workflow's rule set that is not in the rule book."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from motcua.adapters.bootstrap import open_motcua
from motcua.definitions.catalogue import PROCEDURES_DIR, load_procedures, load_rule_sets
from motcua.definitions.procedure_import import apply_import, plan_import
from motcua.definitions.references import reference_problems
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition, load_workflows
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.errors import InvalidDefinition

DOSSIERS = frozenset({"tthc-dossier"})


def _shipped_workflows() -> WorkflowSet:
    motcua = open_motcua("memory://", observers=[])
    motcua.close()
    return motcua.workflows


def test_the_shipped_definitions_name_only_what_exists() -> None:
    assert reference_problems(load_procedures(), load_rule_sets(), _shipped_workflows(), DOSSIERS) == []


def test_a_workflow_naming_a_rule_set_not_in_the_rule_book_is_named(tmp_path: Path) -> None:
    source = WORKFLOWS_DIR / "plan-task.v1.yaml"
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    document["rule_sets"] = ["nd61-2018", "nd-118-2025"]  # a hyphen too many
    (tmp_path / source.name).write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    workflows = load_workflows({"plan-task": _shipped_workflows().latest("plan-task").registry}, tmp_path)
    problems = reference_problems(load_procedures(), load_rule_sets(), workflows, DOSSIERS)
    assert len(problems) == 1
    assert "workflow plan-task v1" in problems[0] and "'nd-118-2025'" in problems[0] and "nd118-2025" in problems[0]
    assert load_definition(tmp_path / source.name).rule_sets == ("nd61-2018", "nd-118-2025")


def test_a_province_catalogue_whose_procedure_names_no_dossier_workflow_stops_the_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A procedure imported with ``workflow: tthc-dosier`` failed at the reception desk, on its first dossier; it
    stops every process at start instead, naming the procedure and the key."""
    document = yaml.safe_load((PROCEDURES_DIR / "chung-thuc.yaml").read_text(encoding="utf-8"))
    code = document["procedures"][0]["code"]
    document["procedures"][0]["workflow"] = "tthc-dosier"
    path = tmp_path / "ct.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    root = tmp_path / "catalogue"
    apply_import(plan_import(path, None, effective=datetime.now(UTC).date()), root, at=datetime.now(UTC))
    monkeypatch.setenv("MOTCUA_PROCEDURES_DIR", str(root))
    with pytest.raises(InvalidDefinition) as refused:
        open_motcua("memory://", observers=[])
    assert refused.value.problems == (f"procedure {code}: workflow 'tthc-dosier' is not a dossier workflow "
                                      "(known: tthc-dossier)",)
