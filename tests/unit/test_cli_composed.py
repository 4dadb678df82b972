"""Every text a ``motcua`` command is given is read as NFC before its checks and the command see it
(entrypoints/cli/composed.py); file names, and the database's and broker's URLs, are passed on as they came."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import typer
from typer.testing import CliRunner, Result

from motcua.entrypoints.cli.composed import VERBATIM, ComposedGroup
from motcua.entrypoints.cli.main import app
from motcua.workflow.engine.bounds import CASE_CODE_MAX
from motcua.workflow.errors import CaseNotFound, InvalidInput
from tests.unit.test_procedure_import import shipped_rows, write_csv

NAME: Final = "Phạm Văn Hùng"
NFD_NAME: Final = unicodedata.normalize("NFD", NAME)
WIDE: Final = {"COLUMNS": "220"}


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=WIDE)


def _commands(command: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``command`` and every command under it, each with its words (``feedback list``)."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}".strip())


def test_the_motcua_group_composes() -> None:
    assert isinstance(typer.main.get_command(app), ComposedGroup)


def test_every_text_parameter_of_every_command_reaches_it_composed() -> None:
    """Through each parameter's own processing (typer's conversion, then its callbacks — ``bounded_line`` among them):
    a text comes out NFC, a list of texts each NFC; the URLs and the address of :data:`VERBATIM` and every file name
    (a ``Path``) come out as they went in."""
    composed, verbatim, paths = set(), set(), set()
    for path, command in _commands(typer.main.get_command(app)):
        for parameter in command.params:
            annotation = parameter.type_descriptor.annotation
            if annotation not in (str, list[str], Path):
                continue
            many = parameter.multiple or parameter.nargs == -1
            value = parameter.process_value(typer.Context(command), [NFD_NAME] if many else NFD_NAME)
            read = value[0] if many else value
            where = f"{path} {parameter.name}"
            if annotation is Path:
                assert str(read) == NFD_NAME, where
                paths.add(where)
            elif parameter.name in VERBATIM:
                assert read == NFD_NAME, where
                verbatim.add(parameter.name)
            else:
                assert read == NAME, where
                composed.add(where)
    assert verbatim == VERBATIM
    assert {"feedback list unit", "feedback list state", "history code", "report bieu06 unit", "apikey create actor",
            "user create unit", "timers retry codes", "procedures field"} <= composed
    assert "procedures import file" in paths


def test_a_code_is_bounded_by_its_composed_length_and_looked_up_composed() -> None:
    """``history CODE`` takes at most 100 characters: 100 "ạ" decomposed (200 code points) is a code looked up — and
    not found, named as composed —, not a code refused as too long; 101 composed is too long, as before."""
    looked_up = run("history", nfd("ạ" * CASE_CODE_MAX), "--db", "memory://")
    assert isinstance(looked_up.exception, CaseNotFound)
    assert f"'{'ạ' * CASE_CODE_MAX}'" in str(looked_up.exception)
    too_long = run("history", "ạ" * (CASE_CODE_MAX + 1), "--db", "memory://")
    assert isinstance(too_long.exception, InvalidInput)
    assert str(too_long.exception) == f"CODE: longer than {CASE_CODE_MAX} characters ({CASE_CODE_MAX + 1})"


def test_a_filter_typed_decomposed_is_the_composed_filter() -> None:
    """``feedback list --unit`` names the unit it did not find as composed: the lookup was made with the NFC text."""
    result = run("feedback", "list", "--unit", nfd("Xã An Lão"), "--db", "memory://")
    assert result.exit_code == 2
    assert "--unit: no unit 'Xã An Lão'" in " ".join(result.output.split())


def test_a_file_name_is_passed_on_as_it_came(tmp_path: Path) -> None:
    """A file whose name is decomposed on the disk (Linux keeps the bytes) is read by that name."""
    listed = write_csv(tmp_path / nfd("danh-mục.csv"), shipped_rows())
    assert listed.exists() and not (tmp_path / "danh-mục.csv").exists()
    result = CliRunner().invoke(app, ["procedures", "import", str(listed)], env={**WIDE, "MOTCUA_PROCEDURES_DIR": ""})
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Thêm 0, bỏ 0, thay đổi 0" in result.output


def test_the_database_url_is_passed_on_as_it_came(tmp_path: Path) -> None:
    """``--db`` names a file by its bytes: a decomposed folder is that folder, never its composed twin."""
    folder = tmp_path / nfd("xã")
    folder.mkdir()
    result = run("history", "000.00.00.H23-240304-0001", "--db", f"sqlite:///{folder}/motcua.db")
    assert isinstance(result.exception, CaseNotFound)
    assert (folder / "motcua.db").exists() and not (tmp_path / "xã").exists()


@pytest.mark.parametrize("value", [NFD_NAME, [NFD_NAME, "LOCAL-HD"], (NFD_NAME,), Path(NFD_NAME), 3, None, True])
def test_composed_leaves_what_is_not_text_as_it_is(value: object) -> None:
    from motcua.entrypoints.cli.composed import composed  # noqa: PLC0415

    result = composed(value)
    if isinstance(value, str):
        assert result == NAME
    elif isinstance(value, list | tuple):
        assert result == type(value)(NAME if item == NFD_NAME else item for item in value)
    else:
        assert result is value
