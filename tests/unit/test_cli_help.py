"""Every command's summary — the first paragraph of its help, which the group's ``--help`` lists — is one line:
rich prints the group's listing with the docstring's own line breaks, so a summary wrapped in the source was cut in
the middle of a sentence there."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
import typer.main
import typer.rich_utils
from typer.testing import CliRunner

from motcua.entrypoints.cli.main import app


def _commands(command: object, path: tuple[str, ...] = ("motcua",)) -> Iterator[tuple[str, str]]:
    yield " ".join(path), getattr(command, "help", None) or ""
    for name, child in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(child, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_walk_reaches_the_nested_commands() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"motcua units apply", "motcua timers retry", "motcua report plan", "motcua apikey list"} <= names


@pytest.mark.parametrize(("name", "help_text"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_a_command_summary_is_one_line(name: str, help_text: str) -> None:
    summary = help_text.strip().split("\n\n")[0]
    assert "\n" not in summary, f"{name}: its summary spans lines: {summary!r}"


@pytest.mark.parametrize("terminal", [None, True], ids=["plain", "forced-colours"])
def test_the_group_listing_shows_a_summary_whole(terminal: bool | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the environment says of the terminal: GITHUB_ACTIONS or FORCE_COLOR force colours (``terminal``),
    TERMINAL_WIDTH sets the width typer reads at import (so the width is set here, not through the environment)."""
    monkeypatch.setattr(typer.rich_utils, "FORCE_TERMINAL", terminal)
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 200)
    result = CliRunner().invoke(app, ["units", "--help"])
    assert result.exit_code == 0
    lines = click.unstyle(result.output).splitlines()
    line = next((text for text in lines if " apply " in text), "")
    assert "to their successor." in line
