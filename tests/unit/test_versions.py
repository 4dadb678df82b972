"""A dossier pins the definition version it started with; publishing v2 does not disturb it."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from motcua.adapters.bootstrap import Motcua
from motcua.definitions.workflows import WORKFLOWS_DIR, load_workflows
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.decisions import Engine
from motcua.workflow.engine.service import CaseService
from tests.conftest import OFFICER, SPECIALIST


def publish_v2(tmp_path: Path) -> Path:
    for path in WORKFLOWS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    document = yaml.safe_load((WORKFLOWS_DIR / "tthc-dossier.v1.yaml").read_text(encoding="utf-8"))
    document["version"] = 2
    document["triggers"]["assign"]["roles"] = ["leader"]  # v2: only a leader assigns
    (tmp_path / "tthc-dossier.v2.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_running_dossier_keeps_its_version(motcua: Motcua, tmp_path: Path) -> None:
    old = motcua.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER)
    assert old.definition_version == 1
    registries = {key: motcua.workflows.latest(key).registry for key in ("tthc-dossier", "plan-task", "pakn")}
    workflows = load_workflows(registries, publish_v2(tmp_path))
    service = CaseService(Engine(workflows, motcua.service.engine.clock), motcua.store)

    moved = service.fire(old.code, "assign", OFFICER, {"assignee": SPECIALIST.name})
    assert moved.definition_version == 1
    assert moved.state["lifecycle"] == "processing"
    assert all(entry.definition_version == 1 for entry in motcua.store.history(old.code))

    new = service.open("tthc-dossier", "NEW-1", OFFICER, {"procedure": "1.004873", "channel": "direct",
                                                           "applicant_name": "Lê Thị B"}, rule_set="nd61-2018")
    assert new.definition_version == 2
