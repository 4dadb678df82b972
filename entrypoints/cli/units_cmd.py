"""``motcua units``: the commune-level administrative units of definitions/units/, at a date or all.

Every bad input ends with exit code 2 and one line on stderr naming what was wrong.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from motcua.definitions.units import load_units
from motcua.entrypoints.cli.usage import fail
from motcua.workflow.errors import InvalidInput, MotcuaError
from motcua.workflow.units.model import Unit

__all__ = ["units_app"]

units_app = typer.Typer(
    help="Đơn vị hành chính cấp xã (administrative units): codes, validity, successors.",
    no_args_is_help=True,
    add_completion=False,
)

_TABLE_WIDTH = 160


@units_app.callback()
def units_group() -> None:
    """Đơn vị hành chính cấp xã (a group, so that ``list`` keeps its name beside later commands)."""


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("--at", f"{text!r} is not a date YYYY-MM-DD") from None


def _record(unit: Unit) -> dict[str, object]:
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind.value,
        "province": unit.province,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "successors": list(unit.successors),
        "succession": (
            {"number": unit.succession.number, "signed": unit.succession.signed.isoformat()}
            if unit.succession else None
        ),
        "unconfirmed": unit.unconfirmed,
        "note": unit.note,
    }


def _validity(unit: Unit) -> str:
    start = unit.valid_from.isoformat() if unit.valid_from else "…"
    end = unit.valid_to.isoformat() if unit.valid_to else "…"
    return f"{start} → {end}"


def _table(title: str, units: tuple[Unit, ...]) -> Table:
    table = Table(title=title)
    for column in ("Mã", "Tên", "Loại", "Tỉnh/TP", "Hiệu lực", "Kế thừa bởi", "Chưa xác minh"):
        table.add_column(column, overflow="fold")
    for unit in units:
        successors = ", ".join(unit.successors)
        if unit.succession:
            successors += f" ({unit.succession.number}, {unit.succession.signed:%d/%m/%Y})"
        flag = "có" if unit.unconfirmed else ""
        table.add_row(unit.code, unit.name, unit.kind.value, unit.province, _validity(unit), successors, flag)
    return table


@units_app.command("list")
def list_command(
    *,
    at: Annotated[str | None, typer.Option("--at", help="Only the units in force on this date, YYYY-MM-DD.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table.")] = False,
) -> None:
    """List the units in force on --at (all versions without it), with their successors and unconfirmed flag."""
    try:
        day = _day(at)
        register = load_units()
    except MotcuaError as error:
        fail(error, source="units file")
    units = register.units if day is None else register.live_at(day)
    if as_json:
        typer.echo(json.dumps([_record(unit) for unit in units], ensure_ascii=False, indent=2))
        return
    title = f"Đơn vị hành chính cấp xã — {'ngày ' + day.isoformat() if day else 'tất cả'} ({len(units)})"
    Console(width=_TABLE_WIDTH).print(_table(title, units))
