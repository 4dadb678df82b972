"""Text from outside printed by the CLI as it is: a ``[/]`` or a ``[bold]`` in an applicant's name, a handover's note
or an assignee's name is neither console markup that fails the command (rich's MarkupError) nor a style."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from motcua.adapters.bootstrap import open_motcua
from motcua.entrypoints.cli.main import app
from motcua.entrypoints.cli.terminal import terminal
from motcua.entrypoints.cli.usage import refusal
from motcua.simulation import console as demo
from motcua.simulation import province_output
from motcua.workflow.dossiers.desk import Applicant
from motcua.workflow.engine.clock import VN_TZ, ManualClock
from motcua.workflow.engine.model import Actor

NAME = "Trần [/] Văn [bold]An"
OFFICER = Actor.of("Nguyễn [/i] Lan", "officer")


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'markup.db'}"
    motcua = open_motcua(url, clock=ManualClock(datetime(2024, 4, 22, 8, 30, tzinfo=VN_TZ)), observers=[])
    try:
        case = motcua.desk.receive("1.004873", "direct", Applicant(NAME), OFFICER)
        motcua.service.fire(case.code, "assign", OFFICER, {"assignee": "Phạm [/] Hùng"})
    finally:
        motcua.close()
    return url, case.code


def printed(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_the_book_prints_an_applicants_name_with_brackets_as_it_is(db: tuple[str, str]) -> None:
    url, _ = db
    assert NAME in printed("report", "book", "--from", "2024-04-01", "--to", "2024-04-30", "--db", url)


def test_a_dossiers_history_and_control_sheet_print_names_with_brackets_as_they_are(db: tuple[str, str]) -> None:
    url, code = db
    assert "Phạm [/] Hùng" in printed("history", code, "--db", url)
    sheet = printed("control-sheet", code, "--format", "table", "--db", url)
    assert "Nguyễn [/i] Lan" in sheet and "Phạm [/] Hùng" in sheet


def test_a_refusal_quotes_brackets_as_they_are() -> None:
    buffer = io.StringIO()
    refusal(terminal(file=buffer), "no dossier 'KHÔNG-CÓ-[/]' [bold]here")
    assert buffer.getvalue() == "error: no dossier 'KHÔNG-CÓ-[/]' [bold]here\n"


def test_the_demos_print_their_closing_line_and_the_provinces_check_without_markup_showing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`motcua demo [--province]` print through the CLI's consoles, which read no markup: a ``[bold]`` or ``[green]``
    the demo wrote would be printed as text."""
    buffer = io.StringIO()
    out = terminal(file=buffer, width=200)
    monkeypatch.setattr(demo, "_run", lambda *_: SimpleNamespace(scenario=SimpleNamespace(fresh_file=Path("x.db"))))
    monkeypatch.setattr(demo, "tables", lambda _: [])
    monkeypatch.setattr(demo, "write_outputs", lambda *_: [])
    demo.run_and_print(SimpleNamespace(out=Path("demo-output")), out, out, progress=False)  # type: ignore[arg-type]
    monkeypatch.setattr(province_output, "units_add_up", lambda _: True)
    empty = SimpleNamespace(units=[], province=SimpleNamespace(total=SimpleNamespace(counts=dict)))
    out.print(province_output._units_table(empty))  # type: ignore[arg-type]
    printed = buffer.getvalue()
    assert "Đã ghi vào demo-output/ (written):" in printed
    assert "Toàn tỉnh bằng tổng các đơn vị" in printed
    assert "[" not in printed


def test_emoji_codes_in_a_text_are_printed_as_they_are(db: tuple[str, str]) -> None:
    """rich replaces ``:name:`` emoji codes whether or not markup is read: a note's ratio or a ``:x:`` stays text."""
    buffer = io.StringIO()
    refusal(terminal(file=buffer), "ghi chú 'tỉ lệ 1:100:1000 :x: :warning:'")
    assert buffer.getvalue() == "error: ghi chú 'tỉ lệ 1:100:1000 :x: :warning:'\n"
    url, code = db
    motcua = open_motcua(url, clock=ManualClock(datetime(2024, 4, 22, 9, 0, tzinfo=VN_TZ)), observers=[])
    try:
        motcua.service.fire(code, "assign", OFFICER, {"assignee": "Lê :x: Bình 1:100:2"})
    finally:
        motcua.close()
    assert "Lê :x: Bình 1:100:2" in printed("history", code, "--db", url)
