"""What a report covers: the ``--unit`` option of ``motcua report bieu06|par766|book``, and its heading.

A report covers one unit (``--unit CODE``) or, without it, every dossier of the database: the province's
report, which is the sum of its units' reports, because a dossier is counted under one unit only — the
deciding unit that ended it, or that holds it now while it is open (the rule is written in
:mod:`motcua.workflow.reports.projection` and docs/reference/cli.md). A code the unit register does not
know (nor the desk's own home code, for a database from before units) is a usage error, never an empty
report: a mistyped code must not read as "no dossiers".

The heading names the unit ("Đơn vị: phường Thành Đông (LOCAL-HP-THANH-DONG)"); without ``--unit``, the
province of the desk's home unit — followed to the unit that carries it on today, so a desk of a merged
commune names its new province — or "Toàn hệ thống" when the home is not in the register.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

import typer

from motcua.adapters.bootstrap import Motcua
from motcua.workflow.engine.clock import to_vietnam_time
from motcua.workflow.errors import InvalidInput
from motcua.workflow.units.directory import UnitDirectory
from motcua.workflow.units.model import Unit

__all__ = ["EVERY_UNIT", "ReportScope", "UnitOption", "report_scope"]

EVERY_UNIT: Final = "Toàn hệ thống"
"""What a report of every unit is called when the desk's home unit is not in the register."""

UnitOption = Annotated[str | None, typer.Option(
    "--unit", help="One unit's report (its agency code: `motcua units list`); the province's when omitted.")]


@dataclass(frozen=True, slots=True)
class ReportScope:
    """The units a report covers (``None``: every dossier) and the heading that names them."""

    units: frozenset[str] | None
    heading: str


def report_scope(motcua: Motcua, unit: str | None) -> ReportScope:
    """The scope of ``--unit`` on the opened ``motcua``; :class:`InvalidInput` (``--unit``) for an unknown code."""
    directory = motcua.desk.units
    if unit is None:
        return ReportScope(None, f"Đơn vị: {_province_name(motcua, directory)}")
    if not directory.knows(unit) and unit != directory.home:
        raise InvalidInput("--unit", f"unknown unit {unit!r}: `motcua units list` shows the codes")
    return ReportScope(frozenset({unit}), f"Đơn vị: {directory.label(unit)}")


def _province_name(motcua: Motcua, directory: UnitDirectory) -> str:
    """The province of the home unit (as carried on today), or :data:`EVERY_UNIT`."""
    if not directory.knows(directory.home):
        return EVERY_UNIT
    province = directory.register.province(_home_today(motcua, directory).province)
    return f"{province.kind} {province.name}"


def _home_today(motcua: Motcua, directory: UnitDirectory) -> Unit:
    """The unit that carries the home unit on today; its last version if none does (split, or not yet in force)."""
    today = to_vietnam_time(motcua.service.engine.clock.now()).date()
    try:
        return directory.register.successor_at(directory.home, today)
    except InvalidInput:  # NotFound is one too
        return directory.register.versions(directory.home)[-1]
