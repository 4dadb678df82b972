"""The scope options an API key and a console user are created with: ``--unit CODE…``, ``--province CODE`` and
``--all-units``, each said in the words of the command that takes it, and the check that exactly one is given."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from motcua.workflow.errors import InvalidInput

__all__ = ["KeyAllUnits", "KeyProvince", "KeyUnits", "UserAllUnits", "UserProvince", "UserUnits", "one_scope"]


def _units(holder: str) -> Any:
    """``--unit``, repeatable: the units whose dossiers ``holder`` sees."""
    return typer.Option("--unit", help=f"A unit whose dossiers the {holder} sees (`motcua units list`); repeat for "
                                       "several")


UserUnits = Annotated[list[str] | None, _units("user")]
UserProvince = Annotated[str | None, typer.Option("--province", help="A province whose units' dossiers the user sees")]
UserAllUnits = Annotated[bool, typer.Option("--all-units", help="Every unit's dossiers (an operator)")]
KeyUnits = Annotated[list[str] | None, _units("key")]
KeyProvince = Annotated[str | None, typer.Option(
    "--province", help="A province whose units' dossiers the key sees (its roles decide what it moves)")]
KeyAllUnits = Annotated[bool, typer.Option("--all-units", help="An operator's key: every unit's dossiers")]


def one_scope(flags: str, units: list[str] | None, province: str | None, all_units: bool, *others: bool) -> None:
    """InvalidInput unless exactly one scope is given (``others``: a command's own scopes): a grant nobody scoped is
    a choice, never an omission."""
    if sum([bool(units), province is not None, all_units, *others]) != 1:
        raise InvalidInput("scope", f"give exactly one of {flags}")
