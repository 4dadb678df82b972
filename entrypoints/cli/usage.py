"""How a command ends on bad input: one line on stderr naming what was wrong, and exit code 2."""

from __future__ import annotations

from typing import Final, NoReturn

import typer

from motcua.workflow.errors import InvalidDefinition, InvalidInput, MotcuaError

__all__ = ["USAGE_ERROR", "fail"]

USAGE_ERROR: Final = 2


def fail(error: MotcuaError, *, source: str) -> NoReturn:
    """End the command on ``error``; ``source`` names the kind of definition file an invalid one was."""
    if isinstance(error, InvalidInput):
        message = f"{error.field}: {error.message}"
    elif isinstance(error, InvalidDefinition):
        message = f"invalid {source} {error.source}: {'; '.join(error.problems)}"
    else:
        message = str(error)
    typer.echo("error: " + " ".join(message.split()), err=True)
    raise typer.Exit(code=USAGE_ERROR)
