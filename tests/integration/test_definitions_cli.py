"""The command line when a definition was edited in place: every command refuses to start, naming the definition and
what to do; ``motcua definitions repin`` shows the two digests, writes only with ``--apply``, and the commands start
again. Each ``motcua`` here is a process of its own, reading the definitions from a copy in a temporary folder (the
loaders' folders, pointed there before the command line runs)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from motcua.definitions.catalogue import RULES_DIR
from motcua.definitions.pins import loaded_digests
from motcua.definitions.workflows import WORKFLOWS_DIR
from motcua.workflow.engine.pins import Pin
from tests.integration.conftest import database
from tests.integration.test_cli_hostile_input import assert_usage_error

Document = dict[str, Any]
ON_THE_COPY = (  # the definitions of the folders named first; then motcua's own command line, as installed
    "import pathlib, sys\n"
    "import motcua.definitions.catalogue as rules, motcua.definitions.workflows as workflows\n"
    "workflows.WORKFLOWS_DIR, rules.RULES_DIR = pathlib.Path(sys.argv.pop(1)), pathlib.Path(sys.argv.pop(1))\n"
    "from motcua.entrypoints.cli.main import main\n"
    "main()\n"
)
DOSSIER = Pin.workflow("tthc-dossier", 1)
RULES = Pin.rule_set("nd118-2025")


class Deployment:
    """A deployment's copy of the definitions, and the ``motcua`` that reads it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workflows, self.rules = root / "workflows", root / "rules"
        shutil.copytree(WORKFLOWS_DIR, self.workflows)
        shutil.copytree(RULES_DIR, self.rules)

    def motcua(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("MOTCUA_")}
        env["COLUMNS"] = "200"
        return subprocess.run([sys.executable, "-c", ON_THE_COPY, str(self.workflows), str(self.rules), *args],
                              cwd=self.root, env=env, capture_output=True, text=True, timeout=300, check=False,
                              stdin=subprocess.DEVNULL)

    def edit(self, folder: Path, name: str, change: Callable[[Document], None]) -> None:
        path = folder / name
        document: Document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def digests(self, monkeypatch: pytest.MonkeyPatch) -> dict[Pin, str]:
        with monkeypatch.context() as patched:
            patched.setattr("motcua.definitions.workflows.WORKFLOWS_DIR", self.workflows)
            patched.setattr("motcua.definitions.catalogue.RULES_DIR", self.rules)
            return loaded_digests()


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    return Deployment(tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, request, tmp_path) as url:
        yield url


def a_specialist_may_refuse(document: Document) -> None:
    document["triggers"]["refuse"]["roles"].append("specialist")


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.returncode, done.stdout[-1500:], done.stderr[-1500:])
    return done.stdout


def test_an_edited_version_is_refused_until_it_is_repinned(deployment: Deployment, db: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ok(deployment.motcua("story", "-q", "--db", db))  # six dossiers running under tthc-dossier v1, pinned
    pinned = deployment.digests(monkeypatch)[DOSSIER]
    deployment.edit(deployment.workflows, "tthc-dossier.v1.yaml", a_specialist_may_refuse)
    edited = deployment.digests(monkeypatch)[DOSSIER]

    for command in (["verify"], ["replay"], ["sync", "status"]):  # an auditor's, a reader's: refused alike
        refused = deployment.motcua(*command, "--db", db)
        assert_usage_error(refused)
        assert "workflow tthc-dossier v1 changed in place" in refused.stderr
        assert "motcua definitions repin tthc-dossier.v1" in refused.stderr

    shown = ok(deployment.motcua("definitions", "repin", "tthc-dossier.v1", "--db", db))
    assert f"đã ghim (pinned): sha256 {pinned}" in shown and f"hiện nay (loaded): sha256 {edited}" in shown
    assert "--apply" in shown
    assert_usage_error(deployment.motcua("verify", "--db", db))  # shown, not written

    assert "Đã ghim lại workflow tthc-dossier v1" in ok(
        deployment.motcua("definitions", "repin", "tthc-dossier.v1", "--apply", "--db", db))
    ok(deployment.motcua("verify", "--db", db))
    ok(deployment.motcua("replay", "--db", db))
    again = ok(deployment.motcua("definitions", "repin", "tthc-dossier.v1", "--apply", "--db", db))
    assert "định nghĩa không đổi" in again


def test_an_edited_rule_set_is_refused_until_it_is_repinned(deployment: Deployment, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'motcua.db'}"
    ok(deployment.motcua("sync", "status", "--db", db))
    deployment.edit(deployment.rules, "nd118-2025.yaml",
                    lambda document: document["redating"].update(allowed=document["redating"]["allowed"] + 1))

    refused = deployment.motcua("sync", "status", "--db", db)
    assert_usage_error(refused)
    assert "rule set nd118-2025 changed in place" in refused.stderr
    ok(deployment.motcua("definitions", "repin", "nd118-2025", "--apply", "--db", db))
    ok(deployment.motcua("sync", "status", "--db", db))


def test_a_new_version_file_starts_without_a_repin(deployment: Deployment, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'motcua.db'}"
    ok(deployment.motcua("sync", "status", "--db", db))
    document: Document = yaml.safe_load((deployment.workflows / "tthc-dossier.v1.yaml").read_text(encoding="utf-8"))
    document["version"] = 2
    a_specialist_may_refuse(document)
    (deployment.workflows / "tthc-dossier.v2.yaml").write_text(yaml.safe_dump(document, allow_unicode=True),
                                                               encoding="utf-8")
    ok(deployment.motcua("sync", "status", "--db", db))


def test_a_repin_of_a_database_that_never_pinned_it_writes_nothing(deployment: Deployment, tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    shown = ok(deployment.motcua("definitions", "repin", "tthc-dossier.v1", "--apply", "--db", f"sqlite:///{path}"))
    assert "đã ghim (pinned): —" in shown and "chưa được ghim" in shown
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM definition_pin").fetchone() == (0,)


@pytest.mark.parametrize("name", [
    "tthc-dossier.v9",  # a version not loaded
    "nd999-2040",  # a rule set not loaded
    "tthc-dossier",  # a workflow's key without its version
], ids=["version", "rule-set", "no-version"])
def test_a_definition_not_loaded_is_refused_before_the_database_is_opened(deployment: Deployment, tmp_path: Path,
                                                                          name: str) -> None:
    path = tmp_path / "never.db"
    refused = deployment.motcua("definitions", "repin", name, "--apply", "--db", f"sqlite:///{path}")
    assert_usage_error(refused)
    assert "among the definitions loaded" in refused.stderr
    assert not path.exists()


@pytest.mark.parametrize("name", [
    "", "../definitions/workflows/tthc-dossier.v1", "tthc-dossier.v1.yaml", "TTHC-DOSSIER.v1", "tthc-dossier.v0",
    "tthc-dossier.v1234567890", "a" * 100_000, "tthc-dossier.v1\n", "nd118-2025\x1b[2J", "-nd118", "*",
], ids=["empty", "path", "file-name", "capitals", "version-0", "version-too-long", "100k", "newline", "escape",
        "dash-first", "pattern"])
def test_a_name_out_of_shape_is_refused_unechoed_before_anything_is_read(deployment: Deployment, tmp_path: Path,
                                                                         name: str) -> None:
    path = tmp_path / "never.db"
    refused = deployment.motcua("definitions", "repin", "--db", f"sqlite:///{path}", "--", name)
    assert_usage_error(refused)
    assert "NAME: a workflow version as its file is named" in refused.stderr
    assert len(refused.stderr) < 400 and "aaaaaaaaaa" not in refused.stderr
    assert not path.exists()


def test_a_broken_definition_file_is_refused_as_at_start(deployment: Deployment, tmp_path: Path) -> None:
    """Read as a start reads it: the file's problem (its path cut to 80 characters, as every echo is)."""
    (deployment.workflows / "tthc-dossier.v1.yaml").write_text("key: tthc-dossier\nversion: [1\n", encoding="utf-8")
    path = tmp_path / "x.db"
    refused = deployment.motcua("definitions", "repin", "tthc-dossier.v1", "--db", f"sqlite:///{path}")
    assert_usage_error(refused)
    assert "YAML syntax" in refused.stderr
    assert not path.exists()


def test_a_bad_database_url_is_refused(deployment: Deployment) -> None:
    assert_usage_error(deployment.motcua("definitions", "repin", "nd118-2025", "--db", "postgresql://postgres@[::1"))
