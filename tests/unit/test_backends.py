"""The one factory: a database URL names the backend, which hands out every store on that database.

Nothing outside the factory asks which backend it holds: the last test keeps type switches on stores out of
the code base.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from motcua.adapters.backends import MEMORY_URL, open_backend
from motcua.adapters.bootstrap import Motcua
from motcua.adapters.keys import new_key
from motcua.definitions.catalogue import load_procedures
from motcua.workflow.dvcqg.portal import EntrySync
from motcua.workflow.engine.compiled import WorkflowSet
from motcua.workflow.engine.decisions import Decision
from motcua.workflow.errors import CaseAlreadyExists, CaseNotFound, InvalidInput
from tests.conftest import OFFICER

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("adapters", "definitions", "workers", "motcua", "simulation", "entrypoints", "bench")
FACTORY = ROOT / "adapters" / "backends.py"
TYPE_SWITCH = re.compile(r"isinstance\([^,]+,\s*\(?[\w.]*(Store|Reports|SyncLog|Backend)\b")


@pytest.mark.parametrize(("url", "durable"), [(MEMORY_URL, False), ("sqlite:///{tmp}/motcua.db", True)])
def test_the_url_names_the_backend_and_every_store_is_on_it(url: str, durable: bool, tmp_path: Path) -> None:
    backend = open_backend(url.format(tmp=tmp_path))
    try:
        assert backend.durable is durable
        key = new_key("Nguyễn Thị Lan", ["officer"], NOW).stored
        backend.keys.add_key(key)
        backend.sync.record(EntrySync("H-1", 1, "synced", 1, NOW, synced_at=NOW))
        reports = backend.reports(WorkflowSet().status_of, load_procedures().full_online_eligible)
        assert backend.keys.key(key.key_id) == key
        assert backend.sync.synced_counts() == {"H-1": 1}
        assert reports.catch_up() == 0 and list(backend.store.cases()) == []
    finally:
        backend.close()


def test_a_sql_backend_migrates_its_database_when_opened(tmp_path: Path) -> None:
    first = open_backend(f"sqlite:///{tmp_path / 'motcua.db'}")
    first.keys.add_key(new_key("Nguyễn Thị Lan", ["officer"], NOW).stored)
    first.close()
    again = open_backend(f"sqlite:///{tmp_path / 'motcua.db'}")
    try:
        assert len(again.keys.api_keys()) == 1
    finally:
        again.close()


@pytest.mark.parametrize("url", ["mysql://u@db/motcua", "motcua.db", "memory:"])
def test_a_url_of_no_backend_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="database url"):
        open_backend(url)


def _sources(folder: str) -> list[Path]:
    """The folder's modules (the public API's own: ``motcua/`` links the other folders in)."""
    return sorted((ROOT / folder).glob("*.py") if folder == "motcua" else (ROOT / folder).rglob("*.py"))


def test_no_module_but_the_factory_switches_on_store_types() -> None:
    offenders = {
        str(path.relative_to(ROOT)): line.strip()
        for folder in SOURCES for path in _sources(folder) if path != FACTORY
        for line in path.read_text(encoding="utf-8").splitlines() if TYPE_SWITCH.search(line)
    }
    assert offenders == {}


def test_a_refused_url_is_shown_without_its_password() -> None:
    with pytest.raises(InvalidInput, match="database url") as refused:
        open_backend("mysql://clerk:s3cret-pass@db/motcua")
    assert "s3cret-pass" not in str(refused.value)


def test_the_memory_bulk_writer_writes_all_or_nothing(motcua: Motcua) -> None:
    def plain(code: str) -> Decision:
        data = {"procedure": "1.001193", "channel": "direct", "applicant_name": "Trần Văn An"}
        opened = motcua.service.engine.open("tthc-dossier", code, OFFICER, data, rule_set="nd61-2018")
        return replace(opened, timers=(), effects=())

    first, clash = plain("X-0001"), plain("X-0002")
    motcua.store.commit(plain("X-0002"))  # someone opened X-0002 meanwhile: the import's opening of it is stale

    with pytest.raises(CaseAlreadyExists), motcua.backend.bulk() as writer:
        writer.write([first, clash])

    with pytest.raises(CaseNotFound):
        motcua.store.load("X-0001")
    assert [entry.case_code for entry in motcua.store.entries()] == ["X-0002"]
