"""What one definition names of another exists, checked when a process starts (:mod:`motcua.definitions.references`):
a procedure's workflow that opens no dossier, and a workflow's rule set that is not in the rule book."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from motcua.adapters.bootstrap import open_motcua
from motcua.definitions.catalogue import PROCEDURES_DIR, load_procedures, load_rule_sets
from motcua.definitions.procedure_import import apply_import, plan_import
from motcua.definitions.references import reference_problems
from motcua.definitions.workflows import WORKFLOWS_DIR, load_definition, load_workflows
from motcua.entrypoints.cli.main import app as cli
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
    """A procedure of ``workflow: tthc-dosier`` (a revision edited by hand: the import refuses it) failed at the
    reception desk, on its first dossier; it stops every process at start instead, naming the procedure and the
    key."""
    root = tmp_path / "catalogue"
    source = tmp_path / "ct.yaml"
    source.write_text((PROCEDURES_DIR / "chung-thuc.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    apply_import(plan_import(source, None, effective=datetime.now(UTC).date()), root, at=datetime.now(UTC))
    code = yaml.safe_load(source.read_text(encoding="utf-8"))["procedures"][0]["code"]
    [written] = [path for path in (root / "revisions" / "000001").glob("*.yaml")
                 if f"'{code}'" in path.read_text(encoding="utf-8")]
    document = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert document["procedures"][0]["code"] == code
    document["procedures"][0]["workflow"] = "tthc-dosier"
    written.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("MOTCUA_PROCEDURES_DIR", str(root))
    with pytest.raises(InvalidDefinition) as refused:
        open_motcua("memory://", observers=[])
    assert refused.value.problems == (f"procedure {code}: workflow 'tthc-dosier' is not a dossier workflow "
                                      "(known: tthc-dossier)",)


def test_procedures_import_refuses_a_procedure_of_no_dossier_workflow_before_writing(tmp_path: Path) -> None:
    """The import wrote a revision every process then refused to start with (review rv1): it is refused first."""
    source = tmp_path / "bao-tro-xa-hoi.yaml"
    source.write_text((PROCEDURES_DIR / "bao-tro-xa-hoi.yaml").read_text(encoding="utf-8").replace(
        "\n    name: >-", "\n    workflow: tthc-dosier\n    name: >-", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, ["procedures", "import", str(source), "--apply", "--dir", str(tmp_path / "cat"),
                                      "--since", "2026-01-01"])
    assert result.exit_code == 2, result.output
    assert "workflow 'tthc-dosier' is not a dossier workflow" in result.output
    assert not (tmp_path / "cat" / "revisions").exists()
