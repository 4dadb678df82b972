"""A process starting on a database holds it to the definitions it pinned (open_motcua, on every backend): the first
start pins every workflow version and rule set it loads; a later start whose copy of one of them was edited in place
is refused before anything is read or moved, naming it; a label corrected, a new version published, a database of an
earlier revision all start as before.

The definitions are read from a copy in a temporary folder (the loaders' folders, pointed there for the test)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic import command

import motcua.definitions.catalogue as catalogue_files
import motcua.definitions.workflows as workflow_files
from motcua.adapters import bootstrap
from motcua.adapters.backends import Backend, open_backend
from motcua.adapters.bootstrap import open_motcua
from motcua.adapters.sql.engine import WRITE, create_engine
from motcua.adapters.sql.migrate import alembic_config
from motcua.definitions.pins import loaded_digests
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import ManualClock
from motcua.workflow.engine.pins import Pin
from motcua.workflow.errors import DefinitionChanged
from tests.conftest import OFFICER, SPECIALIST, START
from tests.integration.conftest import database

Document = dict[str, Any]
DOSSIER = "tthc-dossier.v1.yaml"
RULES = "nd118-2025.yaml"
SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)]


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Copies of the shipped workflows and rule sets, which every process of the test reads."""
    workflows, rules = tmp_path / "workflows", tmp_path / "rules"
    shutil.copytree(workflow_files.WORKFLOWS_DIR, workflows)
    shutil.copytree(catalogue_files.RULES_DIR, rules)
    monkeypatch.setattr(workflow_files, "WORKFLOWS_DIR", workflows)
    monkeypatch.setattr(catalogue_files, "RULES_DIR", rules)
    return workflows, rules


@pytest.fixture(params=SQL_BACKENDS)
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, request, tmp_path) as found:
        yield found


def edit(folder: Path, name: str, change: Callable[[Document], None]) -> None:
    path = folder / name
    document: Document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def a_specialist_may_refuse(document: Document) -> None:
    document["triggers"]["refuse"]["roles"].append("specialist")


def started(url: str) -> dict[Pin, str]:
    """Start on ``url`` (as every command does), and give the database's pins."""
    opened = open_motcua(url, clock=ManualClock(START), observers=[])
    try:
        return dict(opened.backend.pins.pinned())
    finally:
        opened.close()


def test_the_first_start_pins_every_definition_it_loads(url: str, folders: tuple[Path, Path]) -> None:
    assert started(url) == loaded_digests()
    assert {name.file_name for name in loaded_digests()} == {
        "tthc-dossier.v1", "plan-task.v1", "pakn.v1", "nd61-2018", "nd118-2025"}


def test_a_workflow_version_edited_in_place_is_refused_at_start(sql_url: str, folders: tuple[Path, Path]) -> None:
    pinned = started(sql_url)
    edit(folders[0], DOSSIER, a_specialist_may_refuse)

    with pytest.raises(DefinitionChanged) as refused:
        started(sql_url)

    [changed] = refused.value.changed
    assert (changed.kind, changed.key, changed.version) == ("workflow", "tthc-dossier", 1)
    assert changed.pinned == pinned[Pin.workflow("tthc-dossier", 1)] != changed.loaded
    assert "motcua definitions repin tthc-dossier.v1" in str(refused.value)
    edit(folders[0], DOSSIER, lambda document: document["triggers"]["refuse"]["roles"].remove("specialist"))
    assert started(sql_url) == pinned  # restored as it was: it starts again


def test_a_rule_set_edited_in_place_is_refused_at_start(sql_url: str, folders: tuple[Path, Path]) -> None:
    started(sql_url)
    edit(folders[1], RULES, lambda document: document["redating"].update(allowed=document["redating"]["allowed"] + 1))

    with pytest.raises(DefinitionChanged) as refused:
        started(sql_url)

    assert [(item.kind, item.key) for item in refused.value.changed] == [("rule_set", "nd118-2025")]


def test_a_label_and_a_citation_corrected_in_place_start_as_before(sql_url: str, folders: tuple[Path, Path]) -> None:
    pinned = started(sql_url)
    edit(folders[0], DOSSIER, lambda document: document["triggers"]["refuse"].update(label="Từ chối tiếp nhận hồ sơ"))
    edit(folders[1], RULES, lambda document: document["redating"].update(source="Nghị định 118/2025/NĐ-CP, Điều 19"))
    assert started(sql_url) == pinned


def test_a_new_version_is_pinned_beside_the_running_one(sql_url: str, folders: tuple[Path, Path]) -> None:
    pinned = started(sql_url)
    document: Document = yaml.safe_load((folders[0] / DOSSIER).read_text(encoding="utf-8"))
    document["version"] = 2
    a_specialist_may_refuse(document)
    (folders[0] / "tthc-dossier.v2.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    assert started(sql_url) == {**pinned, Pin.workflow("tthc-dossier", 2): loaded_digests()[
        Pin.workflow("tthc-dossier", 2)]}


def test_a_refused_start_leaves_no_database_open(sql_url: str, folders: tuple[Path, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    started(sql_url)
    edit(folders[0], DOSSIER, a_specialist_may_refuse)
    opened: list[Backend] = []
    closed: list[Backend] = []
    def watched(url: str) -> Backend:
        backend = open_backend(url)
        opened.append(backend)
        close = backend.close

        def closing() -> None:
            closed.append(backend)
            close()

        monkeypatch.setattr(backend, "close", closing)
        return backend

    monkeypatch.setattr(bootstrap, "open_backend", watched)
    with pytest.raises(DefinitionChanged):
        started(sql_url)
    assert opened == closed != []


def test_a_database_of_an_earlier_revision_pins_at_its_first_start_after_the_upgrade(
    sql_url: str, folders: tuple[Path, Path]
) -> None:
    """A database with dossiers, brought back to revision 0020 (no pins: as every database before this release), is
    migrated at the next start, pins what it loads, and its dossiers go on."""
    app = open_motcua(sql_url, clock=ManualClock(START), observers=[])
    try:
        code = app.desk.receive("1.004873", "direct", Applicant("Trần Văn An"), OFFICER).code
    finally:
        app.close()
    engine = create_engine(sql_url)
    try:
        with engine.connect() as connection, connection.execution_options(**WRITE).begin():
            command.downgrade(alembic_config(connection), "0020")
    finally:
        engine.dispose()

    app = open_motcua(sql_url, clock=ManualClock(START), observers=[])
    try:
        assert app.backend.pins.pinned() == loaded_digests()
        moved = app.service.fire(code, "assign", OFFICER, {"assignee": SPECIALIST.name})
        assert moved.state["lifecycle"] == "processing"
    finally:
        app.close()


def test_a_memory_database_is_new_at_every_start(folders: tuple[Path, Path]) -> None:
    """``memory://`` lives in its process: each start is a first one (pinned and held to within it, as the contract
    tests show)."""
    pinned = started("memory://")
    edit(folders[0], DOSSIER, a_specialist_may_refuse)
    assert started("memory://") != pinned


@pytest.mark.parametrize("dispatch", [True, False], ids=["dispatching", "no-dispatch"])
def test_serve_with_several_workers_refuses_before_any_process_starts(
    tmp_path: Path, folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, dispatch: bool,
) -> None:
    """``motcua serve --workers N`` refuses in its own process, before binding the socket: each worker it spawned
    would be refused at start, and uvicorn would spawn them again for ever (with or without the dispatcher)."""
    import uvicorn  # noqa: PLC0415 - the server and its supervisor, replaced for the test
    import uvicorn.supervisors  # noqa: PLC0415 - same

    from motcua.entrypoints.http import serve  # noqa: PLC0415 - same

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    started(url)
    edit(folders[0], DOSSIER, a_specialist_may_refuse)
    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", lambda *_, **__: pytest.fail("workers were started"))
    monkeypatch.setattr(uvicorn.Config, "bind_socket", lambda _: pytest.fail("the socket was bound"))
    with pytest.raises(DefinitionChanged):
        serve.serve(serve.ServeOptions(url, port=0, workers=2, dispatch=dispatch))
