"""Every ``--out`` file is written whole or not at all: a failure half-way (a full disk, a crash of the writer)
leaves the file that was there before unchanged and no temporary beside it (each of these failed before: the file
was truncated in place)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from motcua.adapters.files import replacing
from motcua.entrypoints.cli.main import app

CODE = "000.00.00.H23-240304-0001"  # a dossier of `motcua story`
PREVIOUS = b"the previous, good report\n"


@pytest.fixture(scope="module")
def story_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('story') / 'story.db'}"
    done = CliRunner().invoke(app, ["story", "-q", "--db", url])
    assert done.exit_code == 0, done.output
    return url


def _half_then_full_disk(original: Callable[..., Any]) -> Callable[..., Any]:
    """A writer that writes part of what it was given, then fails as a full disk does."""
    def writer(self: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        name = target if isinstance(target, str | Path) else self
        Path(name).write_bytes(b"PK\x03\x04 half a file")
        raise OSError(errno.ENOSPC, "No space left on device", str(name))
    return writer


def _left(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("args", [
    ["history", CODE, "--format", "json"],
    ["history", CODE],
    ["report", "bieu06", "--period", "2024-Q1", "--format", "csv"],
    ["report", "bieu06", "--period", "2024-Q1"],
    ["anchor"],
    ["control-sheet", CODE, "--format", "table"],
], ids=["history-json", "history-table", "bieu06-csv", "bieu06-table", "anchor", "control-sheet-table"])
def test_a_text_out_failing_half_way_leaves_the_previous_file(
    tmp_path: Path, story_db: str, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    out = tmp_path / "out.txt"
    out.write_bytes(PREVIOUS)
    real_open = Path.open

    def failing_open(self: Path, mode: str = "r", *rest: Any, **kwargs: Any) -> Any:
        if "w" not in mode or self.parent != tmp_path:
            return real_open(self, mode, *rest, **kwargs)
        file = real_open(self, mode, *rest, **kwargs)
        file.write("half a rep")
        file.close()
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "open", failing_open)
    done = CliRunner().invoke(app, [*args, "--out", str(out), "--db", story_db])
    assert done.exit_code != 0
    assert out.read_bytes() == PREVIOUS
    assert _left(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("args", [
    ["history", CODE, "--format", "xlsx"],
    ["control-sheet", CODE],
    ["report", "bieu06", "--period", "2024-Q1", "--format", "xlsx"],
], ids=["history-xlsx", "control-sheet", "bieu06-xlsx"])
def test_a_workbook_out_failing_half_way_leaves_the_previous_file(
    tmp_path: Path, story_db: str, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    out = tmp_path / "out.xlsx"
    out.write_bytes(PREVIOUS)
    monkeypatch.setattr(openpyxl.Workbook, "save", _half_then_full_disk(openpyxl.Workbook.save))
    done = CliRunner().invoke(app, [*args, "--out", str(out), "--db", story_db])
    assert done.exit_code != 0
    assert out.read_bytes() == PREVIOUS
    assert _left(tmp_path) == ["out.xlsx"]


def test_an_out_written_whole_replaces_the_previous_file(tmp_path: Path, story_db: str) -> None:
    out = tmp_path / "h.json"
    out.write_bytes(PREVIOUS)
    done = CliRunner().invoke(app, ["history", CODE, "--format", "json", "--out", str(out), "--db", story_db])
    assert done.exit_code == 0, done.output
    assert out.read_text(encoding="utf-8").startswith("{") and _left(tmp_path) == ["h.json"]


def test_a_control_sheet_table_goes_to_its_out(tmp_path: Path, story_db: str) -> None:
    """Before: ``--format table --out FILE`` printed the sheet on the screen and left no file."""
    out = tmp_path / "phieu.txt"
    done = CliRunner().invoke(app, ["control-sheet", CODE, "--format", "table", "--out", str(out), "--db", story_db])
    assert done.exit_code == 0, done.output
    assert "PHIẾU KIỂM SOÁT" in out.read_text(encoding="utf-8") and "PHIẾU KIỂM SOÁT" not in done.stdout


@pytest.mark.parametrize("args", [
    ["history", CODE, "--format", "json"],
    ["report", "bieu06", "--period", "2024-Q1", "--format", "xlsx"],
    ["anchor"],
    ["control-sheet", CODE],
], ids=["history-json", "bieu06-xlsx", "anchor", "control-sheet"])
def test_an_out_in_a_missing_folder_is_refused_naming_the_path_given(
    tmp_path: Path, story_db: str, args: list[str]
) -> None:
    """Before: the refusal named motcua's temporary file (``/missing/.a.json.5819f464.tmp``), not the ``--out``."""
    out = tmp_path / "missing" / "a.out"
    done = CliRunner().invoke(app, [*args, "--out", str(out), "--db", story_db])
    assert isinstance(done.exception, FileNotFoundError), done.output
    assert done.exception.filename == str(out) and _left(tmp_path) == []


def test_replacing_refuses_a_directory_before_writing(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError), replacing(tmp_path):
        pytest.fail("nothing may be written for a directory")
    assert _left(tmp_path) == []


def test_an_out_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path: Path, story_db: str) -> None:
    """As ``> latest.json`` in a shell would: a link kept pointing at the report of the day is written through,
    whole or not at all beside its target (a target in another folder, or on another file system, included)."""
    reports = tmp_path / "reports"
    reports.mkdir()
    target = reports / "2024-Q1.json"
    target.write_bytes(PREVIOUS)
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    done = CliRunner().invoke(app, ["history", CODE, "--format", "json", "--out", str(link), "--db", story_db])
    assert done.exit_code == 0, done.output
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text(encoding="utf-8").startswith("{")
    assert _left(reports) == ["2024-Q1.json"] and _left(tmp_path) == ["latest.json", "reports"]


def test_an_out_through_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    target = tmp_path / "made.txt"
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with replacing(link) as temporary:
        temporary.write_text("ok", encoding="utf-8")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "ok"


def test_an_out_through_a_symlink_to_a_device_or_a_pipe_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    """The write through a link replaced its target: a link to /dev/null, written by root, would have made /dev/null
    a regular file. A file that is not a regular one (a pipe here, a device, a socket) is refused, named."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "report.txt"
    link.symlink_to(pipe)
    for out in (link, pipe):
        with pytest.raises(OSError, match="not a regular file") as refused, replacing(out):
            pytest.fail("nothing may be written for a pipe")
        assert refused.value.filename == str(out)
    assert stat.S_ISFIFO(pipe.lstat().st_mode) and link.is_symlink()
    assert _left(tmp_path) == ["pipe", "report.txt"]


def test_an_out_through_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    with pytest.raises(OSError) as refused, replacing(loop):
        pytest.fail("nothing may be written for a loop")
    assert refused.value.errno == errno.ELOOP and loop.is_symlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="a link owned by another user is made by root only")
def test_a_symlink_someone_else_left_in_a_shared_folder_is_not_followed(tmp_path: Path) -> None:
    """/tmp's attack: another user leaves /tmp/report.xlsx pointing at a file of the operator's; `--out
    /tmp/report.xlsx` overwrote that file. Linux does not follow such a link (protected_symlinks) — the shell's > is
    refused — and the link is resolved here, not by the kernel: the same rule is applied."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # sticky, writable by all: as /tmp
    victim = tmp_path / "victim.txt"
    victim.write_bytes(PREVIOUS)
    planted = shared / "report.txt"
    planted.symlink_to(victim)
    os.lchown(planted, 12345, 12345)  # left by another user
    with pytest.raises(PermissionError) as refused, replacing(planted) as temporary:
        temporary.write_text("overwritten", encoding="utf-8")
    assert refused.value.filename == str(planted)
    assert victim.read_bytes() == PREVIOUS and _left(shared) == ["report.txt"]
    own = shared / "own.txt"
    own.symlink_to(victim)  # the operator's own link there is followed
    with replacing(own) as temporary:
        temporary.write_text("ok", encoding="utf-8")
    assert victim.read_text(encoding="utf-8") == "ok"
