"""Where the CLI prints: rich consoles that print every text as it is, never as console markup.

A dossier code imported from the portal, an applicant's name typed online, a handover's note, a unit's name, what an
SMTP server answered: any text motcua prints may hold ``[`` and ``]``. Read as rich markup, a ``[/]`` in it raised
``MarkupError`` and the command failed before it showed what it was asked for (``motcua control-sheet``, ``motcua
history``, ``motcua replay``, ``motcua report book``…), and a ``[bold]`` restyled the rest. Every console of the CLI
is made here, markup off — tables' cells included —; a word in colour is a :func:`flagged` text. Emoji codes are off
too: rich replaced ``:x:``, ``:100:`` or ``:warning:`` in any text, markup or not (a note's "tỉ lệ 1:100:1000" was
printed "tỉ lệ 1💯1000").
"""

from __future__ import annotations

import sys
from typing import IO, Final

from rich.console import Console
from rich.text import Text

__all__ = ["PIPE_WIDTH", "flagged", "terminal"]

PIPE_WIDTH: Final = 160
"""The width printed to a pipe or a file: rich assumes 80 columns when not on a terminal, too narrow for tables."""


def terminal(*, stderr: bool = False, file: IO[str] | None = None, width: int | None = None,
             pipe_width: int | None = PIPE_WIDTH) -> Console:
    """A console on standard output (standard error, or ``file``), markup and emoji codes off. ``width``: always that
    wide; else as wide as the terminal, or ``pipe_width`` when not one (``None``: rich's own guess)."""
    if width is None and file is None:
        stream = sys.stderr if stderr else sys.stdout
        width = None if stream.isatty() else pipe_width
    elif width is None:
        width = pipe_width
    return Console(stderr=stderr, file=file, width=width, markup=False, emoji=False)


def flagged(flag: str, style: str, rest: str = "") -> Text:
    """``flag`` in ``style`` (``"red"``, ``"green"``…), then ``rest`` as it is."""
    return Text.assemble((flag, style), rest)
