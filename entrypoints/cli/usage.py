"""How a command ends on bad input: one line on stderr naming what was wrong, and exit code 2.

Whatever a refusal echoes is bounded here, once for every command: a run of more than :data:`ECHO_MAX` characters
without a space (an argument quoted back, a path) is cut, with an ellipsis and its length. An identifier given as
an argument is refused early, before any database is opened, when it is longer than an identifier can be
(:func:`bounded_line`, the bounds of :mod:`motcua.workflow.engine.bounds`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, NoReturn

import typer
from rich.console import Console

from motcua.entrypoints.cli.terminal import flagged
from motcua.workflow.engine.bounds import line_problem
from motcua.workflow.errors import InvalidDefinition, InvalidInput, MotcuaError

__all__ = ["ECHO_MAX", "USAGE_ERROR", "bounded_line", "bounded_lines", "fail", "refusal", "shown"]

USAGE_ERROR: Final = 2
ECHO_MAX: Final = 80  # characters of one word (an argument, a path) an error message may echo
_LONG_WORD: Final = re.compile(rf"\S{{{ECHO_MAX + 1},}}")


def shown(message: str) -> str:
    """``message`` on one line, every word of it longer than :data:`ECHO_MAX` cut: ``AAAA…… (100000 characters)``."""
    return _LONG_WORD.sub(lambda word: f"{word[0][:ECHO_MAX]}… ({len(word[0])} characters)", " ".join(message.split()))


def bounded_line(limit: int) -> Callable[[typer.CallbackParam, str | None], str | None]:
    """A typer callback refusing an argument that is not one line of at most ``limit`` characters."""
    def check(param: typer.CallbackParam, value: str | None) -> str | None:
        if value is not None and (problem := line_problem(value, limit)) is not None:
            raise InvalidInput((param.name or "argument").upper(), problem)
        return value
    return check


def bounded_lines(limit: int) -> Callable[[typer.CallbackParam, list[str] | None], list[str] | None]:
    """:func:`bounded_line` for every value of an argument that takes several."""
    one = bounded_line(limit)

    def check(param: typer.CallbackParam, values: list[str] | None) -> list[str] | None:
        for value in values or ():
            one(param, value)
        return values
    return check


def refusal(err: Console, message: str) -> typer.Exit:
    """Print ``message`` as a command's refusal on ``err`` (a :func:`~motcua.entrypoints.cli.terminal.terminal` on
    stderr: the word ``error`` in red, the message bounded by :func:`shown`, as it is) and the exit to raise: code
    :data:`USAGE_ERROR`."""
    err.print(flagged("error:", "red", f" {shown(message)}"), highlight=False, soft_wrap=True)
    return typer.Exit(code=USAGE_ERROR)


def fail(error: MotcuaError, *, source: str) -> NoReturn:
    """End the command on ``error``; ``source`` names the kind of definition file an invalid one was."""
    if isinstance(error, InvalidInput):
        message = f"{error.field}: {error.message}"
    elif isinstance(error, InvalidDefinition):
        message = f"invalid {source} {error.source}: {'; '.join(error.problems)}"
    else:
        message = str(error)
    typer.echo("error: " + shown(message), err=True)
    raise typer.Exit(code=USAGE_ERROR)
