"""``motcua definitions repin`` in the process: what it writes, what it logs, and a pin that changed under it
(the whole path, process by process: tests/integration/test_definitions_cli.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from motcua.adapters.backends import Backend, open_backend
from motcua.definitions.pins import loaded_digests
from motcua.entrypoints.cli import definitions_cmd
from motcua.entrypoints.cli.main import app
from motcua.workflow.engine.pins import Pin

AT = datetime(2026, 1, 5, tzinfo=UTC)
DOSSIER = Pin.workflow("tthc-dossier", 1)
EARLIER, OTHER = "a" * 64, "b" * 64


def pinned_as(url: str, digest: str) -> None:
    """A database that pinned ``tthc-dossier`` v1 as ``digest`` (another file than the one loaded now)."""
    backend = open_backend(url)
    try:
        backend.pins.pin({DOSSIER: digest}, AT)
    finally:
        backend.close()


def pins_of(url: str) -> dict[Pin, str]:
    backend = open_backend(url)
    try:
        return dict(backend.pins.pinned())
    finally:
        backend.close()


def repin(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["definitions", "repin", "tthc-dossier.v1", "--db", url, *args],
                                env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_without_apply_the_digests_are_shown_and_nothing_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    pinned_as(url, EARLIER)
    code, output = repin(url)
    assert code == 0, output
    assert f"sha256 {EARLIER}" in output and f"sha256 {loaded_digests()[DOSSIER]}" in output
    assert "Chưa ghi gì: chạy lại với --apply" in output
    assert pins_of(url) == {DOSSIER: EARLIER}


def test_apply_repins_that_one_definition_and_logs_the_act(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    pinned_as(url, EARLIER)
    with capture_logs() as logs:
        code, output = repin(url, "--apply")
    assert code == 0, output
    assert pins_of(url) == {DOSSIER: loaded_digests()[DOSSIER]}
    assert [entry for entry in logs if entry["event"] == "definition.repinned"] == [{
        "event": "definition.repinned", "log_level": "info", "kind": "workflow", "key": "tthc-dossier",
        "version": 1, "old": EARLIER, "new": loaded_digests()[DOSSIER], "by": "cli"}]


def test_a_pin_changed_while_the_command_ran_is_refused_and_left_as_it_is(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    pinned_as(url, EARLIER)

    def raced(opened_url: str) -> Backend:
        """The database as another operator's re-pin leaves it between this command's read and its write."""
        backend = open_backend(opened_url)
        repin_now = backend.pins.repin

        def after_the_other(name: Pin, old: str, new: str, at: datetime) -> bool:
            assert repin_now(name, old, OTHER, at)
            return repin_now(name, old, new, at)

        monkeypatch.setattr(backend.pins, "repin", after_the_other, raising=False)
        return backend

    monkeypatch.setattr(definitions_cmd, "open_backend", raced)
    with capture_logs() as logs:
        code, output = repin(url, "--apply")
    assert code == 2
    assert "changed while this command ran" in output and "nothing was written" in output
    assert pins_of(url) == {DOSSIER: OTHER}
    assert not [entry for entry in logs if entry["event"] == "definition.repinned"]
